"""Terminal traffic over a pty (80x24): bytes the wizard writes while idle for 10 s on each screen, and bytes per
typed character. Two wizards run side by side (same 10 s windows, so the run stays under 2 minutes): one as a user
leaves each step (focus on its first field, so an Input's cursor blinks as the app has it), one with the focus moved
to the step list (F2: nothing blinks). Navigation is by keys (F8 next step); the passphrase dialog comes first.
Run: .venv/bin/python -m tests.benchmarks.traffic [seconds]"""

from __future__ import annotations

import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from tests.benchmarks.pty_harness import PtyProgram, python_argv
from wizard.steps import STEP_IDS

F2, F8, ENTER = b"\x1bOQ", b"\x1b[19~", b"\r"
PASSPHRASE = b"bench passphrase"
TYPED = b"https://wandb.example.com"


def settle(program: PtyProgram, quiet: float = 0.7, limit: float = 4.0) -> None:
    """Read until nothing arrives for `quiet` seconds (or `limit` passed)."""
    end = time.monotonic() + limit
    while time.monotonic() < end and program.pump(quiet):
        pass


def wait_for(program: PtyProgram, text: bytes, since: int, limit: float = 15.0) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if text in program.output[since:]:
            return True
        program.pump(0.05)
    return False


def walk(focus_steps: bool, seconds: float) -> dict[str, object]:
    idle: dict[str, int] = {}
    typed = (0, 0)
    with tempfile.TemporaryDirectory(prefix="wls-traffic-") as home:
        program = PtyProgram(python_argv("-m", "wizard"),
                             env={"WANDB_LOCAL_SETUP_HOME": home, "WANDB_LOCAL_SETUP_KEYRING": "cryptfile"})
        try:
            program.wait_ready()
            settle(program)
            idle["passphrase"] = program.pump(seconds)  # its Input has the focus in both runs
            for _ in range(2):
                program.send(PASSPHRASE + ENTER)
                settle(program, 0.3)
            for number, step in enumerate(STEP_IDS, 1):
                since = len(program.output)
                if number > 1:
                    program.send(F8)
                arrived = wait_for(program, f"step {number}/{len(STEP_IDS)}".encode(), since - (number == 1) * since)
                settle(program)
                if not arrived:
                    idle[step] = -1  # did not arrive there: shown as "n/a"
                    continue
                if focus_steps:
                    program.send(F2)
                    settle(program)
                idle[step] = program.pump(seconds)
                if step == "host" and not focus_steps:
                    count = 0
                    for char in TYPED:
                        program.send(bytes([char]))
                        count += program.pump(0.25)
                    typed = (count, len(TYPED))
                    settle(program)
        finally:
            program.stop()
    return {"idle": idle, "typed": typed}


def measure(seconds: float = 10.0) -> dict[str, object]:
    with ThreadPoolExecutor(2) as pool:
        as_is, steps = pool.map(lambda f: walk(f, seconds), (False, True))
    return {"seconds": seconds, "as_is": as_is, "steps": steps}


def table(f: dict) -> str:
    def show(n: int) -> str:
        return "n/a" if n < 0 else str(n)

    lines = [f"bytes written while idle for {f['seconds']:g} s, 80x24 (passphrase: its Input has the focus in both)",
             f"  {'screen':12} {'first field focused':>20} {'step list focused':>18}"]
    for screen, count in f["as_is"]["idle"].items():
        lines.append(f"  {screen:12} {show(count):>20} {show(f['steps']['idle'].get(screen, -1)):>18}")
    count, chars = f["as_is"]["typed"]
    if chars:
        lines.append(f"  typing {chars} characters into the Host step's URL: {count} bytes, "
                     f"{count / chars:.0f} bytes per character")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(measure(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0)))
