"""The terminal watch: a hang-up without SIGHUP is noticed, the app is asked to leave, and a stuck one is ended."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = textwrap.dedent("""
    import signal, sys, time
    from pathlib import Path
    from screens.terminal_watch import watch_terminal

    marks = Path(sys.argv[1])
    mode = sys.argv[2]
    if mode == "leaves":  # an app whose SIGHUP handler saves and exits
        signal.signal(signal.SIGHUP, lambda *_: (marks.write_text("sighup"), sys.exit(0)))
    else:  # an app whose loop is stuck: the signal is never acted on
        signal.signal(signal.SIGHUP, lambda *_: None)
    watch_terminal([0, 1], lambda: marks.write_text("last resort"), 7)
    print("watching", flush=True)
    while True:
        time.sleep(0.05)
""")


def _run(tmp_path: Path, mode: str) -> tuple[int, str, float]:
    master, slave = pty.openpty()
    marks = tmp_path / "marks"
    process = subprocess.Popen([sys.executable, "-c", PROGRAM, str(marks), mode], cwd=ROOT, stdin=slave,
                               stdout=slave, stderr=slave, start_new_session=True)  # no controlling terminal
    os.close(slave)
    try:
        assert b"watching" in os.read(master, 1024)
        time.sleep(0.3)
        assert process.poll() is None and not marks.exists()  # a live terminal: nothing happens
        os.close(master)
        started = time.monotonic()
        code = process.wait(timeout=15)
        return code, marks.read_text() if marks.exists() else "", time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_hang_up_without_sighup_is_turned_into_one(tmp_path):
    code, marks, seconds = _run(tmp_path, "leaves")
    assert (code, marks) == (0, "sighup")
    assert seconds < 2


def test_a_stuck_app_gets_the_last_resort_then_ends(tmp_path):
    from screens.terminal_watch import GRACE_SECONDS

    code, marks, seconds = _run(tmp_path, "stuck")
    assert (code, marks) == (7, "last resort")
    assert GRACE_SECONDS - 0.5 < seconds < GRACE_SECONDS + 3
