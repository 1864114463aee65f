"""A small tmux driver for end-to-end tests: one private tmux server (its own socket) holding one 80x24 pane that
runs a command (here `ssh -tt ...`), keys sent as tmux key names or literal text, the screen read back as text."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable

WIDTH, HEIGHT = 80, 24


class TmuxError(AssertionError):
    pass


class Tmux:
    """`with Tmux(command) as tmux:` starts a detached session on a private socket (in a temp folder of its own);
    leaving kills that server and removes the folder."""

    def __init__(self, command: list[str] | str, width: int = WIDTH, height: int = HEIGHT,
                 env: dict[str, str] | None = None) -> None:
        self.binary = shutil.which("tmux")
        if self.binary is None:
            raise TmuxError("tmux is not installed (apt install tmux)")
        self.command = [command] if isinstance(command, str) else list(command)
        self.width, self.height = width, height
        self.env = env
        self.started = False
        self._folder = ""

    # ---- lifecycle

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        # Our own server (its socket in our folder, removed with it) and configuration, never the user's.
        if not self._folder:
            raise TmuxError("the tmux server is not started")
        result = subprocess.run([self.binary, "-f", os.path.join(self._folder, "tmux.conf"),
                                 "-S", os.path.join(self._folder, "socket"), *args],
                                capture_output=True, text=True, env=self._environment(), timeout=20, check=False)
        if check and result.returncode != 0:
            raise TmuxError(f"tmux {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ if self.env is None else self.env)
        env.pop("TMUX", None)  # never nest into a tmux the test runner itself may run in
        env.pop("COLORTERM", None)
        env["TERM"] = "xterm-256color"
        return env

    def start(self) -> Tmux:
        # remain-on-exit: the pane (and its last screen) stays after the command ends, so a test can still read it;
        # the server is killed in kill() anyway. tmux does not always know how a pane's command ended (when the
        # terminal closes first, #{pane_dead_status} stays empty), so a shell around the command writes its exit
        # status to a file.
        self._folder = tempfile.mkdtemp(prefix="wlst-e2e-tmux-")
        with open(os.path.join(self._folder, "tmux.conf"), "w") as config:
            config.write("set -g default-terminal xterm-256color\n"
                         "set -g remain-on-exit on\n"
                         "set -g escape-time 0\n"
                         "set -g status off\n")
        wrapped = ["sh", "-c", '"$@"; echo $? > "$0"', self.status_path, *self.command]
        self.started = True
        try:
            self._tmux("new-session", "-d", "-x", str(self.width), "-y", str(self.height), "-s", "e2e", *wrapped)
        except BaseException:
            self.kill()
            raise
        return self

    @property
    def status_path(self) -> str:
        return os.path.join(self._folder, "exit-status")

    def kill(self) -> None:
        if self.started:
            self._tmux("kill-server", check=False)
            self.started = False
        if self._folder:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = ""

    def __enter__(self) -> Tmux:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.kill()

    # ---- the pane

    def pane_pid(self) -> int:
        """The PID of the pane's process (the shell around the command)."""
        return int(self._tmux("list-panes", "-t", "e2e", "-F", "#{pane_pid}").stdout.split()[0])

    def command_pid(self) -> int:
        """The PID of the command itself (e.g. the ssh client): the pane shell's child."""
        shell = self.pane_pid()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == shell:
                return int(entry)
        raise TmuxError(f"the pane's shell ({shell}) has no child: the command has ended")

    def exit_status(self) -> int | None:
        """The command's exit status once it has ended (128+N after signal N), None while it runs."""
        try:
            with open(self.status_path) as status:
                text = status.read().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def wait_exit(self, timeout: float = 15.0) -> int:
        """Wait for the command to end; its exit status."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            status = self.exit_status()
            if status is not None:
                return status
            time.sleep(0.1)
        raise TmuxError(f"the command did not end within {timeout:.0f} s; the screen:\n{self.screen()}")

    def screen(self) -> str:
        """The visible screen as text, one line per row."""
        return self._tmux("capture-pane", "-p", "-t", "e2e").stdout

    # ---- keys

    def keys(self, *names: str, repeat: int = 1) -> None:
        """tmux key names: F8, Tab, BTab, Enter, C-q, Up, Down, End, BSpace... (each `repeat` times)."""
        for name in names:
            self._tmux("send-keys", "-t", "e2e", "-N", str(repeat), name)

    def burst(self, *names: str) -> None:
        """tmux key names in one write to the terminal, as a slow link delivers what was typed (`keys` writes each
        name on its own)."""
        self._tmux("send-keys", "-t", "e2e", *names)

    def type(self, text: str) -> None:
        """Literal text, as if typed."""
        self._tmux("send-keys", "-t", "e2e", "-l", text)

    # ---- waiting

    def wait_for(self, expected: str | re.Pattern | Callable[[str], bool], timeout: float = 15.0,
                 what: str = "") -> str:
        """Wait until the screen shows `expected` (a substring, a regex or a predicate on the text); returns the
        screen. Raises TmuxError with the last screen on timeout."""
        def test(screen: str) -> bool:
            if isinstance(expected, str):
                return expected in screen
            if isinstance(expected, re.Pattern):
                return expected.search(screen) is not None
            return expected(screen)
        end = time.monotonic() + timeout
        screen = ""
        while True:
            screen = self.screen()
            if test(screen):
                return screen
            if time.monotonic() > end:
                raise TmuxError(f"timed out after {timeout:.0f} s waiting for {what or expected!r}; the screen:\n"
                                f"{screen}")
            time.sleep(0.1)

    def wait_stable(self, quiet: float = 0.3, timeout: float = 10.0) -> str:
        """Wait until the screen has not changed for `quiet` seconds (a redraw finished)."""
        end = time.monotonic() + timeout
        last, since = self.screen(), time.monotonic()
        while time.monotonic() < end:
            time.sleep(0.05)
            screen = self.screen()
            if screen != last:
                last, since = screen, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return screen
        return last
