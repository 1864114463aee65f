"""Start-up: seconds from process start to the first screen painted and taking keys, the wizard vs the baseline
app (Input + Footer), alternating runs in one process; also the CPU time each had used by then (user + system,
from /proc: less sensitive to other load on the machine). Then the seconds from the passphrase's Enter (an
encrypted keyring file that exists) to the first step on screen: unlocking the file, reading the session's secrets,
loading the models and drawing the step. Run: .venv/bin/python -m tests.benchmarks.startup [N]"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.pty_harness import PtyProgram, python_argv

BASELINE = python_argv("-m", "tests.benchmarks.baseline_app")
WIZARD = python_argv("-m", "wizard")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (less sensitive to other load than wall time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(argv: list[str]) -> tuple[float, float]:
    """(wall seconds to ready, CPU seconds at ready) of one start."""
    with tempfile.TemporaryDirectory(prefix="wls-bench-") as home:
        program = PtyProgram(argv, env={"WANDB_LOCAL_SETUP_HOME": home, "WANDB_LOCAL_SETUP_KEYRING": "cryptfile"})
        try:
            wall = program.wait_ready()
            return wall, cpu_seconds(program.process.pid)
        finally:
            program.stop()


def passphrase_to_step(runs: int) -> list[float]:
    """Seconds from the passphrase's Enter to the title bar naming the step shown, for an existing keyring file."""
    from tests.benchmarks.traffic import ENTER, PASSPHRASE, settle, wait_for
    from wizard.steps import STEP_IDS

    shown = f"/{len(STEP_IDS)}: ".encode()  # the title bar: "step 2/11: License" (a resumed session)
    seconds = []
    with tempfile.TemporaryDirectory(prefix="wls-bench-") as home:
        env = {"WANDB_LOCAL_SETUP_HOME": home, "WANDB_LOCAL_SETUP_KEYRING": "cryptfile"}
        for run in range(runs + 1):  # the first run creates the file (passphrase typed twice): not counted
            program = PtyProgram(WIZARD + ["--session", "bench"], env=env)
            try:
                program.wait_ready()
                settle(program, 0.3)
                for _ in range(2 if run == 0 else 1):
                    since = len(program.output)
                    entered = time.monotonic()
                    program.send(PASSPHRASE + ENTER)
                    settle(program, 0.3) if run == 0 else None
                if not wait_for(program, shown, since, limit=30):
                    raise RuntimeError("the first step did not appear after the passphrase")
                if run:
                    seconds.append(time.monotonic() - entered)
            finally:
                program.stop()
    return seconds


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def measure(runs: int = 15) -> dict[str, float]:
    one_run(BASELINE), one_run(WIZARD)  # warm the file cache and .pyc files
    times: dict[str, list[float]] = {"baseline": [], "wizard": []}
    cpu: dict[str, list[float]] = {"baseline": [], "wizard": []}
    for _ in range(runs):
        for name, argv in (("baseline", BASELINE), ("wizard", WIZARD)):
            wall, used = one_run(argv)
            times[name].append(wall)
            cpu[name].append(used)
    base, wiz = statistics.median(times["baseline"]), statistics.median(times["wizard"])
    base_cpu, wiz_cpu = statistics.median(cpu["baseline"]), statistics.median(cpu["wizard"])
    return {"runs": runs, "baseline_median": base, "baseline_p90": p90(times["baseline"]),
            "wizard_median": wiz, "wizard_p90": p90(times["wizard"]), "ratio": wiz / base,
            "baseline_cpu": base_cpu, "wizard_cpu": wiz_cpu, "cpu_ratio": wiz_cpu / base_cpu}


def table(figures: dict[str, float]) -> str:
    return "\n".join([
        f"start-up to first interactive screen ({figures['runs']} alternating runs each)",
        f"  {'':10} {'median s':>9} {'p90 s':>7} {'CPU s (median)':>15}",
        (f"  {'baseline':10} {figures['baseline_median']:9.3f} {figures['baseline_p90']:7.3f} "
         f"{figures['baseline_cpu']:15.2f}"),
        f"  {'wizard':10} {figures['wizard_median']:9.3f} {figures['wizard_p90']:7.3f} {figures['wizard_cpu']:15.2f}",
        (f"  ratio wizard/baseline (medians): {figures['ratio']:.2f} wall (target <= 1.25), "
         f"{figures['cpu_ratio']:.2f} CPU"),
    ])


if __name__ == "__main__":
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    print(table(measure(runs)))
    unlock = passphrase_to_step(max(3, runs // 2))
    print(f"passphrase Enter to the first step ({len(unlock)} runs, existing encrypted file): median "
          f"{statistics.median(unlock):.3f} s, p90 {p90(unlock):.3f} s")
