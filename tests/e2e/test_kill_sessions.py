"""SIGKILL at random points of 50 scripted sessions: the session file stays readable and holds every step that was
completed (saved) before the kill.

Each session is a subprocess that opens a WizardFlow (lock, create), then completes steps one after the other in
rounds (set a value, leave the step, save) and prints one line after each save returned. The parent kills it with
SIGKILL at a random moment (seeded, the seed is in the failure message), reloads the session with a fresh
SessionStore and compares it with the last line printed for each step. A save may have finished without its line
being printed yet, so a step may also hold the value that came right after the last one printed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from wizard.flow import WizardFlow
from wizard.session import SessionStore
from wizard.steps import StepStatus

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = 50
ROUNDS = 10**9  # never finishes: every kill lands while steps are being saved

# (step, field path, value for round r): real, valid fields of steps without a keyring.
SCRIPT = r'''
import json, sys
from wizard.flow import WizardFlow
from wizard.session import SessionStore

FIELDS = [
    ("host", ("url",), lambda r: f"https://wandb{r}.example.com"),
    ("sso", ("provider",), lambda r: "none"),
    ("storage", ("provider",), lambda r: "local"),
    ("database", ("provider",), lambda r: "embedded"),
    ("cache", ("provider",), lambda r: "embedded"),
    ("slack", ("client_id",), lambda r: f"{r}.{r}"),
    ("server", ("port",), lambda r: 1024 + r),
]
flow = WizardFlow.open(sys.argv[2], store=SessionStore(sys.argv[1]))
print("ready", flush=True)
for r in range(int(sys.argv[3])):
    for step, path, value in FIELDS:
        flow.go_to(step)
        flow.set_value(step, path, value(r))
        flow.leave_step(step)
        flow.save()
        print(json.dumps([r, step, list(path), value(r)]), flush=True)
print("finished", flush=True)
'''

VALUES = {  # the same table, for the parent's comparison
    "host": (("url",), lambda r: f"https://wandb{r}.example.com"),
    "sso": (("provider",), lambda r: "none"),
    "storage": (("provider",), lambda r: "local"),
    "database": (("provider",), lambda r: "embedded"),
    "cache": (("provider",), lambda r: "embedded"),
    "slack": (("client_id",), lambda r: f"{r}.{r}"),
    "server": (("port",), lambda r: 1024 + r),
}
ORDER = list(VALUES)


def _get(values: dict, step: str, path: tuple[str, ...]):
    node = values.get(step, {})
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _run_one(root: Path, name: str, delay: float, after: str) -> tuple[list[list], str]:
    """Kill after `delay` seconds counted from: "spawn", "ready" (session open) or "save" (the first step saved)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, str(root), name, str(ROUNDS)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, cwd=ROOT)
    lines: list[str] = []
    events = {"ready": threading.Event(), "save": threading.Event()}

    def reader() -> None:
        for raw in process.stdout:
            line = raw.decode().strip()
            if line == "ready":
                events["ready"].set()
            else:
                lines.append(line)
                events["save"].set()
        for event in events.values():
            event.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    if after != "spawn":
        assert events[after].wait(60), f"the scripted session never reached {after!r}"
    time.sleep(delay)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    thread.join(timeout=10)
    stderr = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    done = [json.loads(line) for line in lines if line.startswith("[")]
    status = "finished" if "finished" in lines else ("killed" if process.returncode == -signal.SIGKILL else
                                                     f"exit {process.returncode}: {stderr[-500:]}")
    return done, status


def test_sigkill_at_random_points_keeps_every_completed_step(tmp_path):
    seed = int(os.environ.get("KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    root = tmp_path / "sessions"
    killed_mid_run = 0
    started = time.monotonic()
    for index in range(SESSIONS):
        name = f"kill-{index}"
        # A few kills land during start-up (import, lock, first save); most while steps are being saved.
        after = {0: "spawn", 1: "ready"}.get(index % 10, "save")
        delay = rng.uniform(0, 0.8) if after == "spawn" else rng.uniform(0, 0.1) if after == "ready" else \
            rng.uniform(0, 0.5)
        done, status = _run_one(root, name, delay, after)
        where = (f"(seed {seed}, session {name}, killed {delay:.3f} s after {after}, {len(done)} saves printed, "
                 f"{status})")
        assert status == "killed", where  # the script never finishes: anything else is a crash
        store = SessionStore(root)
        if not done:
            # Nothing completed: a file may or may not exist, but if it does it must be readable.
            if store.exists(name):
                store.load(name)
        else:
            killed_mid_run += status == "killed"
            session = store.load(name)  # raises SessionCorrupt (and moves the file aside) if it is unreadable
            last_round: dict[str, int] = {}
            for r, step, _, _ in done:
                last_round[step] = r
            # The save after the last printed one may have finished before the kill: it is the next step in order.
            r, step, _, _ = done[-1]
            position = ORDER.index(step) + 1
            next_step, next_round = (ORDER[position], r) if position < len(ORDER) else (ORDER[0], r + 1)
            for step, (path, value) in VALUES.items():
                held = _get(session.values, step, path)
                if step not in last_round:
                    allowed = [None] + ([value(next_round)] if step == next_step else [])
                else:
                    allowed = [value(last_round[step])] + ([value(next_round)] if step == next_step else [])
                assert held in allowed, f"{step}.{'.'.join(path)} holds {held!r}, expected one of {allowed} {where}"
                if step in last_round:
                    assert session.status(step) != StepStatus.UNTOUCHED, f"{step} lost its status {where}"
        assert not list(root.glob(f"{name}.json.corrupt-*")), where
        # The lock the dead process held is taken over: the wizard can open the session again at once (and makes it
        # when no save completed), removing the temp file a killed writer left.
        flow = WizardFlow.open(name, store=store)
        flow.lock.release()
    # Not a vacuous run: most kills must have hit sessions in the middle of saving steps.
    assert killed_mid_run >= SESSIONS * 8 // 10, f"only {killed_mid_run} kills landed mid-run (seed {seed})"
    # No temp file of a killed writer is left once the session was opened again.
    assert not [p.name for p in root.glob(".*.tmp-*")], f"temp files left (seed {seed})"
    print(f"{SESSIONS} sessions, {killed_mid_run} killed mid-run, {time.monotonic() - started:.1f} s, seed {seed}")
