"""Peak memory (VmHWM, the peak resident set) of a full headless check run, `python -m wizard check --answers FILE`,
against the baseline app run until it is ready. The answers file uses S3, MySQL and Redis on closed loopback ports,
so the SDK-backed checks load their libraries and fail fast. Run: .venv/bin/python -m tests.benchmarks.memory"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from tests.benchmarks.pty_harness import PtyProgram, python_argv

ANSWERS = """
    [license]
    key = "env:BENCH_LICENSE"
    [host]
    url = "http://localhost:18080"
    [storage]
    provider = "s3"
    bucket = "bench-bucket"
    region = "us-east-1"
    access_key_id = "AKIAIOSFODNN7EXAMPLE"
    secret_access_key = "env:BENCH_AWS_SECRET"
    [database]
    provider = "mysql"
    host = "127.0.0.1"
    port = 1
    password = "env:BENCH_DB_PASSWORD"
    [cache]
    provider = "redis"
    host = "127.0.0.1"
    port = 1
    tls = false
    [server]
    port = 18080
    """


def peak_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def check_run(home: str) -> tuple[int, float, int]:
    """(peak KiB, seconds, exit code) of one `check --answers` run (VmHWM sampled until exit; wait4 for the last)."""
    from tests.jws import make_license

    answers = Path(home) / "answers.toml"
    answers.write_text(textwrap.dedent(ANSWERS).lstrip())
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_LOCAL_SETUP")}
    env.update(WANDB_LOCAL_SETUP_HOME=home, BENCH_LICENSE=make_license(), BENCH_AWS_SECRET="x" * 40,
               BENCH_DB_PASSWORD="bench", AWS_EC2_METADATA_DISABLED="true")
    started = time.monotonic()
    process = subprocess.Popen(python_argv("-m", "wizard", "check", "--answers", str(answers), "--timeout", "3"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(process.pid, 0)  # ru_maxrss: the child's peak RSS in KiB
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss, time.monotonic() - started, process.returncode


def _peak_at_ready(argv: list[str], env: dict[str, str]) -> int:
    """Peak KiB of a terminal app at the moment it reports ready."""
    program = PtyProgram(argv, env=env)
    try:
        program.wait_ready()
        program.pump(0.2)
        return peak_kib(program.process.pid)
    finally:
        program.stop()


def baseline_run(home: str) -> int:
    """Peak KiB of the baseline app at the moment it reports ready."""
    return _peak_at_ready(python_argv("-m", "tests.benchmarks.baseline_app"), {"WANDB_LOCAL_SETUP_HOME": home})


def wizard_ready_run(home: str) -> int:
    """Peak KiB of the interactive wizard at its first screen (for comparison)."""
    return _peak_at_ready(python_argv("-m", "wizard"),
                          {"WANDB_LOCAL_SETUP_HOME": home, "WANDB_LOCAL_SETUP_KEYRING": "cryptfile"})


def measure(runs: int = 3) -> dict[str, float]:
    checks, seconds, codes, base, ready = [], [], set(), [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="wls-mem-") as home:
            peak, elapsed, code = check_run(home)
            checks.append(peak), seconds.append(elapsed), codes.add(code)
        with tempfile.TemporaryDirectory(prefix="wls-mem-") as home:
            base.append(baseline_run(home))
        with tempfile.TemporaryDirectory(prefix="wls-mem-") as home:
            ready.append(wizard_ready_run(home))
    median = statistics.median
    return {"runs": runs, "check_mib": median(checks) / 1024, "check_seconds": median(seconds),
            "check_exit": ",".join(map(str, sorted(codes))), "baseline_mib": median(base) / 1024,
            "wizard_ready_mib": median(ready) / 1024, "ratio": median(checks) / median(base)}


def table(f: dict) -> str:
    return "\n".join([
        f"peak RSS, median of {f['runs']} runs",
        f"  baseline app at ready             {f['baseline_mib']:7.1f} MiB",
        f"  wizard at its first screen        {f['wizard_ready_mib']:7.1f} MiB",
        f"  `wizard check --answers` (full)   {f['check_mib']:7.1f} MiB  ({f['check_seconds']:.1f} s, exit {f['check_exit']})",
        f"  ratio check run / baseline: {f['ratio']:.2f}",
    ])


if __name__ == "__main__":
    print(table(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 3)))
