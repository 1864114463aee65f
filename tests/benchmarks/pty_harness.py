"""Run a terminal program in a pseudo-terminal (80x24, TERM=xterm-256color, no COLORTERM) and watch its output."""

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
import tempfile
import termios
import time
from pathlib import Path


class PtyProgram:
    def __init__(self, argv: list[str], env: dict[str, str] | None = None, size: tuple[int, int] = (80, 24)):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.ready_file = Path(tempfile.mkstemp(prefix="ready-")[1])
        self.ready_file.write_text("")
        base = {k: v for k, v in os.environ.items() if k not in ("COLORTERM", "NO_COLOR")}
        base.update(TERM="xterm-256color", WANDB_LOCAL_SETUP_READY_FILE=str(self.ready_file), **(env or {}))
        self.started = time.monotonic()
        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=base, close_fds=True,
                                        start_new_session=True)
        os.close(slave)
        self.output = bytearray()
        self.events: list[tuple[float, int]] = []  # (time, bytes) of each read

    def pump(self, seconds: float) -> int:
        """Read output for `seconds`; returns the bytes read."""
        end, count = time.monotonic() + seconds, 0
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return count
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    return count
                if not chunk:
                    return count
                self.output += chunk
                self.events.append((time.monotonic(), len(chunk)))
                count += len(chunk)

    def wait_ready(self, timeout: float = 30) -> float:
        """Seconds from start until the app reported its first screen painted and taking keys."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump(0.01)
            text = self.ready_file.read_text()
            if text:
                return self.ready_report(text)["time"] - self.started
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.process.args} exited: {bytes(self.output[-2000:])!r}")
        raise TimeoutError("the app did not report ready")

    @staticmethod
    def ready_report(text: str) -> dict:
        """The ready file: a monotonic time (the baseline), or JSON with "time" and "modules" (the wizard)."""
        return json.loads(text) if text.startswith("{") else {"time": float(text), "modules": []}

    def ready_modules(self) -> list[str]:
        """Top-level modules the app had loaded when it reported ready (after wait_ready)."""
        return self.ready_report(self.ready_file.read_text())["modules"]

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        os.close(self.master)
        self.ready_file.unlink(missing_ok=True)


def python_argv(*args: str) -> list[str]:
    return [sys.executable, *args]
