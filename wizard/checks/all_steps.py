"""Every step's checks on a complete configuration, concurrently (headless `check`, `apply`)."""

from __future__ import annotations

import asyncio
from typing import Callable

from wizard.checks.engine import DEFAULT_TIMEOUT, DOCKER, CheckContext, CheckResult, checks_for, run_checks
from wizard.config import InstallConfig
from wizard.report import StepReport
from wizard.steps import CONFIG_STEPS

Progress = Callable[[int, int, CheckResult], None]  # (done, total, result)


async def check_all(
    cfg: InstallConfig,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    ca_file: str | None = None,
    insecure: bool = False,
    progress: Progress | None = None,
    target: str = DOCKER,
) -> list[StepReport]:
    sections = {step: getattr(cfg, step) for step in CONFIG_STEPS}
    ctx = CheckContext(sections, timeout=timeout, ca_file=ca_file, insecure=insecure, target=target)
    plan = {step: checks_for(step) for step in CONFIG_STEPS}
    total = sum(len(checks) for checks in plan.values())
    done = 0
    results: dict[str, list[CheckResult]] = {step: [] for step in CONFIG_STEPS}

    async def one_step(step: str) -> None:
        nonlocal done
        async for result in run_checks(plan[step], ctx):
            results[step].append(result)
            done += 1
            if progress:
                progress(min(done, total), total, result)

    await asyncio.gather(*(one_step(step) for step in CONFIG_STEPS if plan[step]))
    # Each step's results in the order of its checks (a check's results keep the order they came in).
    order = {step: {check.id: index for index, check in enumerate(plan[step])} for step in CONFIG_STEPS}
    return [StepReport(step, sorted(results[step], key=lambda result: order[step][result.check]))
            for step in CONFIG_STEPS]
