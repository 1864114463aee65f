"""The wizard's steps, in order, and the status a step can have. Shared by the session store, the CLI and the UI."""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple


class Step(NamedTuple):
    id: str
    title: str


STEPS: tuple[Step, ...] = (
    Step("welcome", "Welcome"),
    Step("license", "License"),
    Step("host", "Host"),
    Step("sso", "SSO"),
    Step("storage", "File storage"),
    Step("database", "Database"),
    Step("cache", "Cache"),
    Step("slack", "Slack"),
    Step("server", "Server options"),
    Step("review", "Review"),
    Step("launch", "Launch"),
)

STEP_IDS: tuple[str, ...] = tuple(step.id for step in STEPS)

# The steps that hold configuration values (a section of the install configuration each).
CONFIG_STEPS: tuple[str, ...] = ("license", "host", "sso", "storage", "database", "cache", "slack", "server")


class StepStatus(str, Enum):
    UNTOUCHED = "untouched"
    EDITED = "edited"
    CHECKED_OK = "checked-ok"
    CHECKED_WARN = "checked-warn"
    FAILED = "failed"

    @property
    def complete(self) -> bool:
        """A step counts as done once checked (warnings included); edited-but-unchecked is not done."""
        return self in (StepStatus.CHECKED_OK, StepStatus.CHECKED_WARN)

    @property
    def symbol(self) -> str:
        # Text symbols so the status never rests on colour alone.
        return {
            StepStatus.UNTOUCHED: "·",
            StepStatus.EDITED: "✎",
            StepStatus.CHECKED_OK: "✓",
            StepStatus.CHECKED_WARN: "!",
            StepStatus.FAILED: "✗",
        }[self]


def step_title(step_id: str) -> str:
    for step in STEPS:
        if step.id == step_id:
            return step.title
    raise KeyError(step_id)


def provider_key(provider: str) -> str:
    """A provider's name as a key of its step's draft and in secret ids (s3-compatible -> s3_compatible)."""
    return provider.replace("-", "_")
