"""Live checks: plain async functions of the domain, run by `wizard.checks.engine` (also used headless)."""

from wizard.checks.engine import (  # noqa: F401
    CheckContext,
    CheckDef,
    CheckResult,
    FixAction,
    Status,
    checks_for,
    run_checks,
)
