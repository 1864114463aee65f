"""Sessions across real processes: saves that survive SIGKILL, and the one-wizard-per-session lock. No mocks."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wizard.session import SessionLocked, SessionStore

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}

WRITER = r"""
import sys
from pathlib import Path
from wizard.session import SessionStore
store = SessionStore(Path(sys.argv[1]))
s = store.load("w")
n = s.values["host"]["counter"]
while True:
    n += 1
    s.set_values("host", {"counter": n, "pad": "x" * 50000})
    store.save(s)
    print(n, flush=True)
"""

HOLDER = r"""
import sys
from pathlib import Path
from wizard.session import SessionStore
lock = SessionStore(Path(sys.argv[1])).lock(sys.argv[2])
print("locked", flush=True)
sys.stdin.read()  # hold the lock until the test closes stdin
lock.release()
"""

# Each worker takes the lock over and over; inside, it claims a marker file that must not exist.
# The short pause inside lets a wrongly granted second holder overlap: without the inode re-check in
# SessionStore._acquire, this fails on nearly every run.
CONTENDER = r"""
import os, sys, time
from pathlib import Path
from wizard.session import SessionStore, SessionLocked
store = SessionStore(Path(sys.argv[1]))
marker = Path(sys.argv[1]) / "inside"
taken = 0
for _ in range(int(sys.argv[2])):
    try:
        lock = store.lock("c")
    except SessionLocked:
        continue
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        print("two holders at once", flush=True)
        sys.exit(1)
    time.sleep(0.0005)
    os.close(fd)
    os.unlink(marker)
    lock.release()
    taken += 1
print(taken, flush=True)
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "sessions"


@pytest.fixture
def store(root: Path) -> SessionStore:
    return SessionStore(root)


def spawn(script: str, *args: str, stdin: int | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", script, *args], stdin=stdin, stdout=subprocess.PIPE,
                            cwd=REPO, env=ENV)


def start_holder(root: Path, name: str) -> subprocess.Popen[bytes]:
    proc = spawn(HOLDER, str(root), name, stdin=subprocess.PIPE)
    assert proc.stdout.readline() == b"locked\n"
    return proc


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the PID names no process now
    return proc.pid


# ---------------------------------------------------------------- durability


def test_save_survives_sigkill_at_random_moments(store: SessionStore, root: Path) -> None:
    s = store.create("w")
    s.set_values("host", {"counter": 0})
    store.save(s)
    rng = random.Random(20240607)
    for _ in range(30):
        proc = spawn(WRITER, str(root))
        first = proc.stdout.readline()  # one save done: the writer is in its loop now
        time.sleep(rng.uniform(0, 0.04))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        out = first + proc.stdout.read()
        printed = [int(line) for line in out.decode().splitlines(keepends=True) if line.endswith("\n")]
        assert printed, "the writer never completed a save"
        loaded = store.load("w").values["host"]["counter"]
        # At most one save can have completed without being printed.
        assert printed[-1] <= loaded <= printed[-1] + 1
    assert not list(root.glob("*.corrupt-*"))
    # Temp files of killed writers are cleaned when the session is next opened.
    with store.lock("w"):
        assert sorted(p.name for p in root.iterdir()) == ["w.json", "w.lock"]


# ---------------------------------------------------------------- the lock


def test_lock_held_by_another_process_is_refused_with_its_pid(store: SessionStore, root: Path) -> None:
    store.create("s")
    holder = start_holder(root, "s")
    try:
        with pytest.raises(SessionLocked) as exc:
            store.lock("s")
        message = str(exc.value)
        assert message.startswith(f"Session 's' is open in another wizard (PID {holder.pid}, since ")
        assert message.endswith(" UTC). Close it there, or pick another session.")
        assert exc.value.holder["pid"] == holder.pid
        with pytest.raises(SessionLocked):
            store.delete("s")
        assert store.exists("s")
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    with store.lock("s") as lock:
        assert lock.held
    assert not (root / "s.lock").exists()


def test_second_lock_in_the_same_process_is_refused(store: SessionStore, root: Path) -> None:
    first = store.lock("s")
    with pytest.raises(SessionLocked, match=f"PID {os.getpid()}"):
        store.lock("s")
    with pytest.raises(SessionLocked, match=f"PID {os.getpid()}"):
        SessionStore(root).lock("s")
    with store.lock("other"):  # other sessions are independent
        pass
    first.release()
    first.release()  # idempotent
    assert not (root / "s.lock").exists()
    with store.lock("s"):
        pass


def test_lock_of_a_killed_holder_is_taken_over(store: SessionStore, root: Path) -> None:
    holder = start_holder(root, "s")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert json.loads((root / "s.lock").read_text())["pid"] == holder.pid  # left behind by the dead holder
    with store.lock("s"):
        assert json.loads((root / "s.lock").read_text())["pid"] == os.getpid()


def test_stale_lock_file_naming_a_dead_pid_is_taken_over(store: SessionStore, root: Path) -> None:
    pid = dead_pid()
    root.mkdir(parents=True)
    (root / "s.lock").write_text(json.dumps({"pid": pid, "host": socket.gethostname(),
                                             "since": "2024-01-01T00:00:00+00:00"}))
    with store.lock("s"):
        holder = json.loads((root / "s.lock").read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()


def test_release_leaves_another_holders_lock_alone(store: SessionStore, root: Path) -> None:
    first = store.lock("s")
    (root / "s.lock").unlink()  # someone removed the lock file by hand...
    second = SessionStore(root).lock("s")  # ...so a second wizard could take a new one
    first.release()
    assert json.loads((root / "s.lock").read_text())["pid"] == os.getpid()
    with pytest.raises(SessionLocked):
        store.lock("s")
    second.release()
    assert not (root / "s.lock").exists()


def test_contending_processes_never_hold_the_lock_together(root: Path) -> None:
    root.mkdir(parents=True)
    workers = [spawn(CONTENDER, str(root), "2500") for _ in range(4)]
    outputs = [w.communicate(timeout=60)[0].decode().strip() for w in workers]
    assert [w.returncode for w in workers] == [0] * 4, outputs
    assert sum(int(o) for o in outputs) > 0
