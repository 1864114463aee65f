"""A relaunch's journal. Before each Docker change of a replacement, the step it reaches is written to the state
dir (atomically, 0600) and the entry is removed once one server runs again. A wizard killed at any moment (SIGKILL,
a reboot, a dropped SSH session) leaves the entry behind; the next start (`apply`, or the TUI when it opens) reads it
and finishes or undoes the replacement (wizard.launcher.operations.finish_interrupted). Docker's own
`<name>-previous-<time>` name is the fallback when there is no entry (another state dir, a deleted one)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from wizard.atomic import atomic_write
from wizard.paths import ensure_private_dir, state_root

STEPS = ("rename", "stop", "create", "wait", "cleanup", "restore")  # the order a replacement goes through


@dataclass(frozen=True)
class Entry:
    container: str  # the server's name
    old_id: str  # the server being replaced
    previous_name: str  # the name it is set aside under
    restart_policy: str  # its restart policy, given back when it is put back
    was_running: bool  # put back running only if it ran before
    ready_url: str  # where the new server answers /ready
    step: str  # the last step begun (STEPS)

    def at(self, step: str) -> Entry:
        """This entry at `step`, recorded before the step's Docker change is made."""
        entry = replace(self, step=step)
        record(entry)
        return entry


def journal_dir() -> Path:
    return state_root() / "relaunches"


def _path(container: str) -> Path:
    return journal_dir() / f"{container}.json"  # Docker names are [a-zA-Z0-9][a-zA-Z0-9_.-]*: safe as a file name


def record(entry: Entry) -> None:
    ensure_private_dir(journal_dir())
    atomic_write(_path(entry.container), json.dumps(asdict(entry), indent=2).encode())


def read(container: str) -> Entry | None:
    """The unfinished replacement of `container`, or None (none recorded, or an entry no wizard wrote)."""
    path = _path(container)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entry = Entry(**data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):
        return None  # unreadable: the `-previous-` name still tells what was set aside
    return entry if entry.step in STEPS and entry.container == container else None


def pending() -> list[Entry]:
    """Every unfinished replacement (cheap: no Docker call, no directory created)."""
    try:
        names = sorted(p.stem for p in journal_dir().glob("*.json"))
    except OSError:
        return []
    return [entry for name in names if (entry := read(name)) is not None]


def clear(container: str) -> None:
    _path(container).unlink(missing_ok=True)
