"""Check reports for headless runs: readable text and JSON (schema in assets/check-report.schema.json)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from wizard.checks.engine import CheckResult, Status
from wizard.steps import CONFIG_STEPS, step_title
from wizard.text import printable

SCHEMA_VERSION = 3  # 2: "errors" (a refused answers file or incomplete configuration), overall "invalid"
#                    3: the "preflight" step (this machine: Docker access, the published port, the bind path)
PREFLIGHT = "preflight"
TITLES = {PREFLIGHT: "Preflight (this machine)"}


@dataclass(frozen=True)
class StepReport:
    step: str
    results: list[CheckResult]
    title: str = ""  # the heading in text reports; default: the step's title

    @property
    def heading(self) -> str:
        return self.title or TITLES.get(self.step) or step_title(self.step)


def overall(reports: list[StepReport]) -> Status:
    statuses = [result.status for report in reports for result in report.results]
    if any(status in (Status.FAIL, Status.ERROR) for status in statuses):
        return Status.FAIL
    if Status.WARN in statuses:
        return Status.WARN
    return Status.PASS


def as_text(reports: list[StepReport]) -> str:
    lines = []
    for report in reports:
        if not report.results:
            continue
        lines.append(report.heading)
        for result in report.results:
            lines.append(f"  [{result.status.symbol}] {printable(result.title)}: {printable(result.message)}")
            if result.hint and result.status is not Status.PASS:
                lines.append(f"      how to fix: {printable(result.hint)}")
            if result.fix is not None:
                lines.append(f"      the wizard can fix this: {printable(result.fix.description)}")
        lines.append("")
    counts = {status: 0 for status in Status}
    for report in reports:
        for result in report.results:
            counts[result.status] += 1
    summary = ", ".join(f"{n} {status.value}" for status, n in counts.items() if n)
    lines.append(f"Overall: {overall(reports).value} ({summary or 'no checks'})")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class SettingError:
    """Why the configuration could not be checked at all: where (file and line, when there is a file) and which
    setting."""

    file: str | None
    line: int | None
    setting: str
    message: str


def invalid_json(errors: list[SettingError]) -> str:
    """The report of a configuration that was refused before any check ran."""
    return _dumps({"schema_version": SCHEMA_VERSION, "overall": "invalid", "steps": [],
                   "errors": [{"file": e.file, "line": e.line, "setting": e.setting, "message": e.message}
                              for e in errors]})


def as_json(reports: list[StepReport]) -> str:
    data = {
        "schema_version": SCHEMA_VERSION,
        "overall": overall(reports).value,
        "errors": [],
        "steps": [
            {
                "step": report.step,
                "title": report.heading,
                "results": [
                    {
                        "id": r.id,
                        "title": r.title,
                        "status": r.status.value,
                        "message": r.message,
                        "hint": r.hint,
                        "fix": r.fix.description if r.fix else None,
                        "elapsed_seconds": round(r.elapsed, 3),
                    }
                    for r in report.results
                ],
            }
            for report in reports
            if report.step in CONFIG_STEPS or report.step == PREFLIGHT
        ],
    }
    return _dumps(data)


def _dumps(data: dict) -> str:
    text = json.dumps(data, indent=2, ensure_ascii=False)
    # JSON escapes C0 controls (ESC becomes \u001b) but not DEL and C1 (CSI U+009B): escape them too, so no
    # outside text can drive the terminal the report is printed on (they only occur inside strings: same data).
    return re.sub(r"[\x7f-\x9f]", lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"
