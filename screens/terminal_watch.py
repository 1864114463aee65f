"""Notice a terminal that went away without a SIGHUP.

A process without a controlling terminal (started with setsid, or by a program that died with the terminal's
master end) gets no SIGHUP when the terminal closes. Textual then spins on the end-of-file of its input and blocks
on output nobody reads, and the session stays locked. A thread polls the terminal for hang-up only (it never reads
input, and sleeps in poll(2) until something happens: no idle wake-ups), and asks the app to leave as on SIGHUP.
"""

from __future__ import annotations

import os
import select
import signal
import threading
from collections.abc import Callable

GRACE_SECONDS = 5.0  # for the app to save and leave by itself before the process is ended


def watch_terminal(fds: list[int], last_resort: Callable[[], None], exit_code: int) -> threading.Thread | None:
    """Start the watch over the terminal fds. On hang-up: SIGHUP to this process (the app's own handler saves and
    quits); if the process is still there after GRACE_SECONDS (its loop blocked on a dead terminal), call
    `last_resort` from the watch thread, then end the process with exit_code."""
    ttys = [fd for fd in fds if os.isatty(fd)]
    if not ttys:
        return None
    poller = select.poll()
    for fd in ttys:
        poller.register(fd, 0)  # no events asked: poll() returns only on hang-up or error

    def watch() -> None:
        while not poller.poll():
            pass
        os.kill(os.getpid(), signal.SIGHUP)
        threading.Event().wait(GRACE_SECONDS)
        try:
            last_resort()
        finally:
            os._exit(exit_code)

    thread = threading.Thread(target=watch, name="terminal-watch", daemon=True)
    thread.start()
    return thread
