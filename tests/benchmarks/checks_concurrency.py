"""Checks run concurrently: a step with several slow checks takes about the slowest one, not their sum.
Uses wizard.checks.engine.run_checks (what the checks panel and `check` use) with checks that sleep: some await
(asyncio.sleep, like network I/O), some block in a worker thread (asyncio.to_thread, like an SDK call).
Run: .venv/bin/python -m tests.benchmarks.checks_concurrency"""

from __future__ import annotations

import asyncio
import time

from wizard.checks.engine import CheckContext, CheckDef, CheckResult, Status
from tests.check_runs import collect

# (seconds, kind): kind "async" awaits, "thread" blocks a worker thread
SLOW_CHECKS = [(0.4, "async"), (0.8, "async"), (1.2, "async"), (0.6, "thread"), (1.0, "thread"), (1.5, "thread")]


def sleeper(seconds: float, kind: str):
    async def run(ctx: CheckContext):
        if kind == "thread":
            await asyncio.to_thread(time.sleep, seconds)
        else:
            await asyncio.sleep(seconds)
        yield CheckResult(f"sleep-{seconds}", f"sleeps {seconds} s ({kind})", Status.PASS, "done")

    return run


def measure() -> dict[str, float]:
    checks = [CheckDef(f"sleep-{s}-{k}", f"sleep {s} s ({k})", sleeper(s, k)) for s, k in SLOW_CHECKS]
    started = time.monotonic()
    results = asyncio.run(collect(checks, CheckContext(sections={}, timeout=10)))
    measured = time.monotonic() - started
    assert len(results) == len(checks) and all(r.status == Status.PASS for r in results), results
    return {"checks": len(checks), "slowest": max(s for s, _ in SLOW_CHECKS), "sum": sum(s for s, _ in SLOW_CHECKS),
            "measured": measured}


def table(figures: dict[str, float]) -> str:
    return "\n".join([
        f"one step with {figures['checks']} slow checks (3 awaiting, 3 blocking a thread)",
        f"  slowest check  {figures['slowest']:6.2f} s",
        f"  sum of checks  {figures['sum']:6.2f} s",
        f"  measured       {figures['measured']:6.2f} s  (measured/slowest {figures['measured'] / figures['slowest']:.2f})",
    ])


if __name__ == "__main__":
    print(table(measure()))
