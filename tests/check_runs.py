"""Running checks in tests: every result of a list of checks, as the screens and `check` receive them."""

from __future__ import annotations

from wizard.checks.engine import CheckContext, CheckDef, CheckResult, run_checks


async def collect(checks: list[CheckDef], ctx: CheckContext) -> list[CheckResult]:
    return [result async for result in run_checks(checks, ctx)]
