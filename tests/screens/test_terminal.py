"""The real entry point in a real pseudo-terminal (80x24): `python -m wizard` with the encrypted-file keyring,
keys sent as a terminal sends them, then a dropped connection (SIGHUP) or ctrl+q. Nothing typed may be lost."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
F8 = "\x1b[19~"


class Terminal:
    def __init__(self, home: Path, *args: str) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
            "TERM": "xterm-256color", "WANDB_LOCAL_SETUP_HOME": str(home / "state"),
            "WANDB_LOCAL_SETUP_KEYRING": "cryptfile", "WANDB_LOCAL_SETUP_PASSPHRASE": "terminal test passphrase",
        }
        self.process = subprocess.Popen([sys.executable, "-m", "wizard", *args], cwd=ROOT, env=env,
                                        stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        self.output = b""

    def read(self, seconds: float = 0.1) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:
                    return

    def wait_for(self, predicate, timeout: float = 20.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read(0.1)
            if predicate():
                return
            if self.process.poll() is not None:
                break
        tail = self.output[-2000:].decode("utf-8", "replace")
        raise AssertionError(f"timed out waiting for {what}; exit={self.process.poll()}; output tail: {tail!r}")

    def wait_exit(self, timeout: float = 15.0) -> int:
        """Wait for the wizard to end, reading what it writes meanwhile as a terminal does: unread output fills the
        pty, and a wizard blocked writing its last frame could never exit (a test that only waited failed that way
        in the full suite, when the signal came in the middle of a large frame)."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self.read(0.1)
        return self.process.wait(timeout=max(0.0, deadline - time.monotonic()) or 0.1)

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())
        self.read(0.3)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "terminal-home").mkdir()
    return tmp_path / "terminal-home"


def session_file(home: Path) -> Path:
    return home / "state" / "sessions" / "demo.json"


def _host_value(home: Path):
    try:
        return json.loads(session_file(home).read_text())["values"].get("host", {}).get("url")
    except (OSError, ValueError):
        return None


def _open_host_and_type(term: Terminal, home: Path, url: str) -> None:
    term.wait_for(lambda: session_file(home).exists() and b"Begin" in term.output, what="the Welcome step")
    term.send("\r")  # Begin
    term.wait_for(lambda: b"Paste the license" in term.output, what="the License step")
    term.send(F8)
    term.wait_for(lambda: b"The address users will open" in term.output, what="the Host step")
    term.read(0.5)
    term.send(url)  # the field has the focus, its text selected: typing replaces it


def test_sighup_keeps_what_was_typed_and_releases_the_lock(home):
    term = Terminal(home, "--session", "demo")
    try:
        _open_host_and_type(term, home, "http://10.9.8.7:8080")
        term.wait_for(lambda: _host_value(home) == "http://10.9.8.7:8080", what="the debounced save")
        os.kill(term.process.pid, signal.SIGHUP)
        term.wait_exit(15)
    finally:
        term.close()
    assert _host_value(home) == "http://10.9.8.7:8080"
    assert not (home / "state" / "sessions" / "demo.lock").exists()


def test_a_terminal_gone_without_sighup_ends_the_wizard_and_keeps_what_was_typed(home):
    # The wizard has no controlling terminal here (start_new_session, no TIOCSCTTY): closing the terminal's master
    # end sends no SIGHUP, as when the program that owned the terminal dies. Textual alone would spin on the
    # end-of-file of its input forever, holding the session lock.
    term = Terminal(home, "--session", "demo")
    try:
        _open_host_and_type(term, home, "http://10.7.7.7:8080")
        os.close(term.master)  # before the debounced save could run
        term.master = os.open(os.devnull, os.O_RDONLY)  # for close()
        assert term.wait_exit(15) == 1
    finally:
        term.close()
    assert _host_value(home) == "http://10.7.7.7:8080"
    assert not (home / "state" / "sessions" / "demo.lock").exists()


def test_editing_keys_in_a_burst_act_in_the_order_they_were_typed(home):
    # One write, as a slow SSH link or a script delivers keys: End, ctrl+u (clear), then the new URL. Textual alone
    # runs ctrl+u after the characters behind it, leaving the field empty; the left-arrows must land in order too.
    term = Terminal(home, "--session", "demo")
    try:
        _open_host_and_type(term, home, "")
        os.write(term.master, b"\x1b[F\x15http://10.2.3.4:8080" + b"\x1b[D" * 3 + b"\x7f9")
        term.wait_for(lambda: _host_value(home) == "http://10.2.3.4:9080", timeout=10, what="the value typed in order")
        term.send("\x11")
        assert term.wait_exit(15) == 0
    finally:
        term.close()
    assert _host_value(home) == "http://10.2.3.4:9080"


def test_ctrl_q_quits_with_exit_code_0_and_saves(home):
    term = Terminal(home, "--session", "demo")
    try:
        _open_host_and_type(term, home, "http://10.1.1.1:8080")
        term.send("\x11")  # ctrl+q, before the debounced save could run
        assert term.wait_exit(15) == 0
    finally:
        term.close()
    assert _host_value(home) == "http://10.1.1.1:8080"


def test_new_without_a_name_starts_a_fresh_session_and_sigterm_saves(home):
    sessions = home / "state" / "sessions"
    term = Terminal(home, "--new")
    try:
        term.wait_for(lambda: b"A new session" in term.output and list(sessions.glob("setup-*.json")),
                      what="a new session")
        os.kill(term.process.pid, signal.SIGTERM)
        term.wait_exit(15)
    finally:
        term.close()
    (saved,) = sessions.glob("setup-*.json")
    assert json.loads(saved.read_text())["steps"] == {}
    assert not list(sessions.glob("*.lock"))
