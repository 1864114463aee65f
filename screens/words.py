"""The words the screens use for statuses, times and providers (presentation lives with the UI)."""

from __future__ import annotations

from datetime import datetime, timezone

from wizard.flow.session import Clock, utc_now
from wizard.session import SessionSummary
from wizard.steps import StepStatus

# Short status words for narrow step lists (the symbol comes from StepStatus.symbol).
STATUS_WORDS = {
    StepStatus.UNTOUCHED: "todo",
    StepStatus.EDITED: "edited",
    StepStatus.CHECKED_OK: "ok",
    StepStatus.CHECKED_WARN: "warn",
    StepStatus.FAILED: "failed",
}


def status_label(status: StepStatus) -> str:
    return f"{status.symbol} {STATUS_WORDS[status]}"


def when(iso: str | None, clock: Clock = utc_now) -> str:
    """'2026-11-26 22:30 UTC (5 min ago)' for a session timestamp."""
    if not iso:
        return "never"
    try:
        moment = datetime.fromisoformat(iso).astimezone(timezone.utc)
    except ValueError:
        return iso
    seconds = max(0, int((clock() - moment).total_seconds()))
    if seconds < 60:
        ago = "just now"
    elif seconds < 3600:
        ago = f"{seconds // 60} min ago"
    elif seconds < 86400:
        ago = f"{seconds // 3600} h ago"
    else:
        ago = f"{seconds // 86400} days ago"
    return f"{moment.strftime('%Y-%m-%d %H:%M')} UTC ({ago})"


def describe_summary(summary: SessionSummary, clock: Clock = utc_now) -> str:
    """One line for the resume list: name, last edited, how far it got."""
    if summary.error:
        return f"{summary.name}: cannot be opened ({summary.error})"
    worst = f", worst: {status_label(summary.worst)}" if summary.worst else ""
    return (f"{summary.name}: last edited {when(summary.updated, clock)}, "
            f"{summary.steps_done} of {summary.steps_total} steps done{worst}")


PROVIDER_LABELS = {
    "none": "None (W&B accounts)", "cognito": "AWS Cognito", "okta": "Okta", "oidc": "Other OpenID Connect",
    "local": "Local volume", "s3": "Amazon S3 + SQS", "s3-compatible": "S3-compatible (MinIO)",
    "gcs": "Google Cloud Storage", "azure": "Azure Blob Storage", "embedded": "Embedded",
    "mysql": "External MySQL 8", "redis": "External Redis",
}
