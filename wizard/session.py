"""Named, resumable drafts of an install ("sessions"): one JSON file each, written atomically, locked while open.

A session holds only non-secret values, exactly as the user typed them (validation happens elsewhere);
secrets live in the OS keyring. POSIX only (fcntl).
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
import re
import socket
import sys
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wizard import __version__
from wizard.atomic import atomic_write, fsync_dir
from wizard.paths import check_private, ensure_private_dir, sessions_dir
from wizard.steps import CONFIG_STEPS, STEP_IDS, StepStatus

SCHEMA_VERSION = 1

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NAME_RULE = "1 to 64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit"

# Upgrades a session dict from format N to N+1, keyed by N. None yet: format 1 is the first.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

# "Worst" for a summary: problems first, then unfinished work, then done.
_SEVERITY = {
    StepStatus.CHECKED_OK: 0,
    StepStatus.UNTOUCHED: 1,
    StepStatus.EDITED: 2,
    StepStatus.CHECKED_WARN: 3,
    StepStatus.FAILED: 4,
}


# ---------------------------------------------------------------- errors


class SessionError(Exception):
    """Any session problem; str() is a message fit for the user."""


class InvalidSessionName(SessionError):
    pass


class SessionNotFound(SessionError):
    pass


class SessionExists(SessionError):
    pass


class SecretInSession(SessionError):
    pass


class SessionCorrupt(SessionError):
    def __init__(self, message: str, kept_path: Path | None) -> None:
        super().__init__(message)
        self.kept_path = kept_path


class SessionTooNew(SessionError):
    def __init__(self, message: str, schema_version: int, written_by: str | None) -> None:
        super().__init__(message)
        self.schema_version = schema_version
        self.written_by = written_by


class SessionLocked(SessionError):
    def __init__(self, message: str, holder: dict[str, Any]) -> None:
        super().__init__(message)
        self.holder = holder


def validate_name(name: object) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InvalidSessionName(f"Session name {name!r} is not valid: use {NAME_RULE}.")
    return name


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------- the session


@dataclass
class Session:
    name: str
    schema_version: int = SCHEMA_VERSION
    created: str = field(default_factory=_now)
    updated: str = field(default_factory=_now)
    # {step_id: {field: raw value}}, nested dicts allowed, possibly invalid.
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    # {step_id: {"status": StepStatus, "updated": iso str, "message": str | None}}; missing = untouched.
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    current_step: str = STEP_IDS[0]
    flags: dict[str, Any] = field(default_factory=dict)

    def set_values(self, step: str, values: dict[str, Any]) -> None:
        _check_step(step)
        if not isinstance(values, dict):
            raise TypeError(f"values for step {step!r} must be a dict, not {type(values).__name__}")
        # A copy, so later edits in the UI cannot change what was recorded.
        self.values[step] = copy.deepcopy(values)

    def set_status(self, step: str, status: StepStatus | str, message: str | None = None) -> None:
        _check_step(step)
        self.steps[step] = {"status": StepStatus(status), "updated": _now(), "message": message}

    def status(self, step: str) -> StepStatus:
        entry = self.steps.get(step)
        return StepStatus(entry["status"]) if entry else StepStatus.UNTOUCHED

    def step_message(self, step: str) -> str | None:
        entry = self.steps.get(step)
        return entry.get("message") if entry else None

    def first_incomplete_step(self) -> str:
        return next((s for s in CONFIG_STEPS if not self.status(s).complete), "review")

    def steps_done(self) -> int:
        return sum(self.status(s).complete for s in CONFIG_STEPS)

    def worst_status(self) -> StepStatus:
        return max((self.status(s) for s in CONFIG_STEPS), key=_SEVERITY.__getitem__)


def _check_step(step: str) -> None:
    if step not in STEP_IDS:
        raise ValueError(f"unknown step {step!r}")


@dataclass(frozen=True)
class SessionSummary:
    name: str
    path: Path
    updated: str | None = None
    steps_done: int = 0
    steps_total: int = len(CONFIG_STEPS)
    worst: StepStatus | None = None
    error: str | None = None  # set when the file could not be read; the other fields are then defaults


# ---------------------------------------------------------------- (de)serialisation


def _to_json(session: Session) -> bytes:
    data = {
        "schema_version": SCHEMA_VERSION,
        "app_version": __version__,
        "name": session.name,
        "created": session.created,
        "updated": session.updated,
        "current_step": session.current_step,
        "values": session.values,
        "steps": {
            step: {"status": StepStatus(e["status"]).value, "updated": e.get("updated"), "message": e.get("message")}
            for step, e in session.steps.items()
        },
        "flags": session.flags,
    }

    def refuse(obj: object) -> Any:
        raise TypeError(type(obj).__name__)

    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=refuse)
    except (TypeError, ValueError) as exc:
        # Name the type only: the value itself could be anything, a secret included.
        raise SessionError(
            f"Session '{session.name}' was not saved: it holds a value that cannot be stored ({exc})."
        ) from None
    return (text + "\n").encode("utf-8")


class _BadShape(ValueError):
    pass


def _expect(cond: bool, what: str) -> None:
    if not cond:
        raise _BadShape(what)


def _from_dict(name: str, data: dict[str, Any]) -> Session:
    values = data.get("values")
    if not (isinstance(values, dict) and all(isinstance(v, dict) for v in values.values())):
        raise _BadShape("'values' must map each step to an object")
    steps_in = data.get("steps")
    if not isinstance(steps_in, dict):
        raise _BadShape("'steps' must be an object")
    steps: dict[str, dict[str, Any]] = {}
    for step, entry in steps_in.items():
        _expect(isinstance(entry, dict), f"step '{step}' must be an object")
        try:
            status = StepStatus(entry.get("status"))
        except ValueError:
            raise _BadShape(f"step '{step}' has an unknown status {entry.get('status')!r}") from None
        for key in ("updated", "message"):
            _expect(entry.get(key) is None or isinstance(entry[key], str), f"step '{step}' {key} must be text")
        steps[step] = {"status": status, "updated": entry.get("updated"), "message": entry.get("message")}
    for key in ("created", "updated", "current_step"):
        _expect(isinstance(data.get(key, ""), str), f"'{key}' must be text")
    flags = data.get("flags", {})
    _expect(isinstance(flags, dict), "'flags' must be an object")
    current = data.get("current_step", STEP_IDS[0])
    return Session(
        name=name,  # the file name wins: a renamed file is that session
        created=data.get("created") or _now(),
        updated=data.get("updated") or _now(),
        values=values,
        steps=steps,
        current_step=current if current in STEP_IDS else STEP_IDS[0],  # navigation only; nothing typed is lost
        flags=flags,
    )


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    version = data["schema_version"]
    while version < SCHEMA_VERSION:
        upgrade = MIGRATIONS.get(version)
        if upgrade is None:
            raise _BadShape(f"session format {version} is not one this version knows")
        data = upgrade(data)
        version += 1
        data["schema_version"] = version
    return data


def _find_secrets(session: Session, secret_keys: Collection[str]) -> Iterator[str]:
    """Yield the dotted path of every secret in the session; never the value."""
    pydantic = sys.modules.get("pydantic")  # no SecretStr can exist unless pydantic was imported
    secret_types = (pydantic.SecretStr, pydantic.SecretBytes) if pydantic else ()

    def walk(obj: Any, path: str) -> Iterator[str]:
        if secret_types and isinstance(obj, secret_types):
            yield path
        elif isinstance(obj, dict):
            for key, value in obj.items():
                yield from walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(obj, (list, tuple)):
            for i, value in enumerate(obj):
                yield from walk(value, f"{path}[{i}]")

    yield from walk(session.values, "")
    yield from (f"flags.{p}" for p in walk(session.flags, ""))
    for dotted in secret_keys:
        node: Any = session.values
        for part in dotted.split("."):
            if isinstance(node, list):  # a list of named rows (extra options) is addressed by the row's name
                node = next((row.get("value") for row in node if isinstance(row, dict) and row.get("name") == part),
                            None)
            else:
                node = node.get(part) if isinstance(node, dict) else None
        if node not in (None, ""):
            yield dotted


# ---------------------------------------------------------------- files


@contextmanager
def _os_errors(action: str, path: Path) -> Iterator[None]:
    """Turn an OSError into a SessionError that says what failed and where."""
    try:
        yield
    except OSError as exc:
        raise SessionError(f"Could not {action} ({path}): {exc.strerror or exc}.") from exc


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _utc_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _since(iso: object) -> str:
    try:
        return datetime.fromisoformat(str(iso)).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return str(iso)


# ---------------------------------------------------------------- the lock


class SessionLock:
    """Holds `<name>.lock` with flock while a wizard edits the session. Use as a context manager or call release()."""

    def __init__(self, store: SessionStore, name: str, path: Path, fd: int) -> None:
        self._store, self.name, self.path = store, name, path
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            # Unlink only while still holding the lock, and only if the path is still our file:
            # acquirers re-check the inode, so nobody can be left holding an unlinked file.
            st = os.stat(self.path)
            if (st.st_dev, st.st_ino) == (os.fstat(fd).st_dev, os.fstat(fd).st_ino):
                os.unlink(self.path)
        except OSError:
            pass  # leaving the file behind is harmless: the next acquirer takes it over
        finally:
            os.close(fd)  # drops the flock
            if self._store._held.get(self.name) is self:
                del self._store._held[self.name]

    def __enter__(self) -> SessionLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        holder = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
    except (OSError, ValueError):
        return {}  # the holder may not have written it yet
    return holder if isinstance(holder, dict) else {}


def _locked_message(name: str, holder: dict[str, Any]) -> str:
    details = []
    if isinstance(holder.get("pid"), int):
        details.append(f"PID {holder['pid']}")
    if holder.get("host") and holder["host"] != socket.gethostname():
        details.append(f"on {holder['host']}")
    if holder.get("since"):
        details.append(f"since {_since(holder['since'])}")
    where = f" ({', '.join(details)})" if details else ""
    return f"Session '{name}' is open in another wizard{where}. Close it there, or pick another session."


# ---------------------------------------------------------------- the store


class SessionStore:
    """Session files under `root` (default sessions_dir()): `<name>.json` (0600) and `<name>.lock`, in a 0700 dir."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else sessions_dir()
        self._held: dict[str, SessionLock] = {}  # locks this store holds, so delete() can use them

    def path(self, name: str) -> Path:
        return self.root / f"{validate_name(name)}.json"

    def _lock_path(self, name: str) -> Path:
        return self.root / f"{validate_name(name)}.lock"

    def _ensure_root(self) -> None:
        with _os_errors("create the sessions folder", self.root):
            ensure_private_dir(self.root)

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def list(self) -> list[SessionSummary]:
        """Every session file, most recently updated first; files that cannot be read come last, with their error."""
        if not self.root.is_dir():
            return []
        self._check_root()
        good: list[SessionSummary] = []
        bad: list[SessionSummary] = []
        for path in sorted(self.root.glob("*.json")):
            name = path.name[: -len(".json")]
            try:
                session = self._read(validate_name(name), path)
            except SessionNotFound:
                continue  # deleted while we listed
            except SessionError as exc:
                bad.append(SessionSummary(name=name, path=path, error=str(exc)))
                continue
            good.append(SessionSummary(name=name, path=path, updated=session.updated,
                                       steps_done=session.steps_done(), worst=session.worst_status()))
        good.sort(key=lambda s: s.updated or "", reverse=True)
        return good + bad

    def create(self, name: str) -> Session:
        session = Session(name=validate_name(name))
        self._write_new(session)
        return session

    def read(self, name: str) -> Session:
        """Read a session and change nothing, even when it is corrupt (for commands that only show or check)."""
        try:
            return self._read(name, self.path(name))
        except SessionCorrupt as exc:
            raise SessionCorrupt(f"Session '{name}' could not be read: {exc}. The file is left as it is ("
                                 f"{self.path(name)}): fix it, or open the session in the wizard, which keeps it "
                                 "aside and starts again.", None) from None

    def load(self, name: str) -> Session:
        """Read a session. A corrupt file is moved aside (never overwritten) and SessionCorrupt names where."""
        path = self.path(name)
        try:
            return self._read(name, path)
        except SessionCorrupt as exc:
            with _os_errors(f"move the unreadable session '{name}' aside", path):
                kept = self._keep_aside(path)
            raise SessionCorrupt(
                f"Session '{name}' could not be read: {exc}. The file was kept as {kept}; "
                "start a new session or fix the file and rename it back.",
                kept,
            ) from None

    def save(self, session: Session, secret_keys: Collection[str] = ()) -> None:
        """Write the session atomically. Refuses (SecretInSession) if it holds a secret; `secret_keys` are dotted
        paths into `values` ("database.password") that must stay empty."""
        validate_name(session.name)
        found = sorted(set(_find_secrets(session, secret_keys)))
        if found:
            raise SecretInSession(
                f"Session '{session.name}' was not saved: {', '.join(repr(k) for k in found)} "
                f"{'is a secret' if len(found) == 1 else 'are secrets'} and must stay in the keyring, not in the file."
            )
        previous = session.updated
        session.updated = _now()
        session.schema_version = SCHEMA_VERSION
        try:
            data = _to_json(session)
            self._ensure_root()
            path = self.path(session.name)
            with _os_errors(f"save session '{session.name}'", path):
                atomic_write(path, data, overwrite=True)
        except BaseException:
            session.updated = previous
            raise

    def delete(self, name: str) -> None:
        """Delete a session. Refused (SessionLocked) while another wizard has it open."""
        path = self.path(name)
        if not path.exists():
            raise SessionNotFound(f"There is no session named '{name}'.")
        held = self._held.get(name)
        lock = held if held is not None else self.lock(name)
        try:
            with _os_errors(f"delete session '{name}'", path):
                path.unlink(missing_ok=True)
                fsync_dir(self.root)
        finally:
            lock.release()

    def copy(self, src: str, dst: str) -> Session:
        validate_name(dst)
        original = self.load(src)
        clone = Session(
            name=dst,
            values=copy.deepcopy(original.values),
            steps=copy.deepcopy(original.steps),
            current_step=original.current_step,
            flags=copy.deepcopy(original.flags),
        )
        self._write_new(clone)
        return clone

    def lock(self, name: str) -> SessionLock:
        """Take the session's lock, or raise SessionLocked naming the holder. Also refused within one process."""
        path = self._lock_path(name)
        self._ensure_root()
        with _os_errors(f"lock session '{name}'", path):
            fd = self._acquire(name, path)
            try:
                holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": _now()}
                os.fchmod(fd, 0o600)
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(holder).encode("utf-8"), 0)
            except BaseException:
                os.close(fd)
                raise
        lock = SessionLock(self, name, path, fd)
        self._held[name] = lock
        self._remove_dead_temps(name)
        return lock

    # -------------------------------------------------------------- internals

    def _acquire(self, name: str, path: Path) -> int:
        for _ in range(100):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                # flock belongs to the open file description: a second open() in this process conflicts too,
                # and the kernel drops it when the holder dies, whatever PID its file still names.
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise SessionLocked(_locked_message(name, holder), holder) from None
            except BaseException:
                os.close(fd)
                raise
            # The previous holder may have unlinked the file between our open() and flock(): retry on the new one.
            try:
                st = os.stat(path)
                if (st.st_dev, st.st_ino) == (os.fstat(fd).st_dev, os.fstat(fd).st_ino):
                    return fd
            except FileNotFoundError:
                pass
            os.close(fd)
        raise SessionError(f"Could not lock session '{name}': its lock file keeps changing. Try again.")

    def _remove_dead_temps(self, name: str) -> None:
        """Remove temp files left by writers of this session that were killed mid-save."""
        for tmp in self.root.glob(f".{name}.json.*.tmp-*"):
            pid = tmp.name[len(f".{name}.json."):].split(".tmp-")[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                try:
                    tmp.unlink()
                except OSError:
                    pass

    def _write_new(self, session: Session) -> None:
        if self.exists(session.name):
            raise self._exists_error(session.name)
        session.created = session.updated = _now()
        data = _to_json(session)
        self._ensure_root()
        path = self.path(session.name)
        try:
            with _os_errors(f"create session '{session.name}'", path):
                atomic_write(path, data, overwrite=False)
        except SessionError as exc:
            if isinstance(exc.__cause__, FileExistsError):
                raise self._exists_error(session.name) from None
            raise

    @staticmethod
    def _exists_error(name: str) -> SessionExists:
        return SessionExists(f"A session named '{name}' already exists. Resume it, or pick another name.")

    def _check_root(self) -> None:
        """Sessions are read only from a folder no other user can change (a planted session could point a password
        at their listener)."""
        with _os_errors("use the sessions folder", self.root):
            check_private(self.root)

    def _read(self, name: str, path: Path) -> Session:
        """Parse a session file. Raises SessionCorrupt without moving anything (load() does that)."""
        if self.root.is_dir():
            self._check_root()
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise SessionNotFound(f"There is no session named '{name}'.") from None
        except OSError as exc:
            # Unreadable is not corrupt: the content may be fine, so it is left where it is.
            raise SessionError(f"Session '{name}' could not be read ({path}): {exc.strerror or exc}.") from None
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise SessionCorrupt(f"the file is not valid JSON ({exc})", None) from None
        except RecursionError:
            raise SessionCorrupt("the file is not valid JSON (nested too deeply)", None) from None
        if not isinstance(data, dict) or type(data.get("schema_version")) is not int:
            raise SessionCorrupt("the file is not a session (no schema_version)", None)
        version = data["schema_version"]
        if version > SCHEMA_VERSION:
            written_by = data.get("app_version") if isinstance(data.get("app_version"), str) else None
            by = f"wandb-local-setup {written_by}" if written_by else "a newer wandb-local-setup"
            raise SessionTooNew(
                f"Session '{name}' was saved by {by} (session format {version}); this version ({__version__}) "
                f"reads format {SCHEMA_VERSION} and older. Update wandb-local-setup to open it.",
                version,
                written_by,
            )
        try:
            return _from_dict(name, _migrate(data))
        except _BadShape as exc:
            raise SessionCorrupt(f"the file does not have the shape of a session ({exc})", None) from None

    def _keep_aside(self, path: Path) -> Path:
        stamp = _utc_stamp()
        for n in range(1, 1000):
            kept = path.with_name(f"{path.name}.corrupt-{stamp}" + (f"-{n}" if n > 1 else ""))
            try:
                os.link(path, kept)  # never overwrites an earlier kept file
            except FileExistsError:
                continue
            except OSError:
                if kept.exists():
                    continue
                os.rename(path, kept)
                return kept
            os.unlink(path)
            fsync_dir(path.parent)
            return kept
        raise SessionError(f"Could not move the unreadable session file {path} aside.")
