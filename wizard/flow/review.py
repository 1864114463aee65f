"""What the Review step shows: each step's values (secrets masked), its status and problems, and what the server
container gets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wizard.flow.forms import step_fields
from wizard.lazy import lazy_module
from wizard.steps import CONFIG_STEPS, StepStatus, step_title
from wizard.text import MASK

if TYPE_CHECKING:
    from wizard import draft
    from wizard.flow.session import WizardFlow
else:
    draft = lazy_module("wizard.draft")


@dataclass(frozen=True)
class ReviewRow:
    label: str
    value: str


@dataclass(frozen=True)
class ReviewSection:
    step: str
    title: str
    provider: str | None  # the chosen provider's key (the screen names it), None for a step without providers
    status: StepStatus
    message: str | None
    rows: list[ReviewRow]
    errors: list[draft.FieldError]

    @property
    def needs_attention(self) -> bool:
        return bool(self.errors) or self.status in (StepStatus.FAILED, StepStatus.CHECKED_WARN)


@dataclass
class Review:
    sections: list[ReviewSection]
    errors: list[draft.FieldError] = field(default_factory=list)
    inputs: Any = None  # the container's inputs, masked (wizard.container.ContainerInputs); None with errors

    @property
    def attention(self) -> list[ReviewSection]:
        return [s for s in self.sections if s.needs_attention]


def review_of(flow: WizardFlow) -> Review:
    """The Review of an open session (`WizardFlow.review`)."""
    sections = []
    for step in CONFIG_STEPS:
        _, step_errors = flow.validate(step)
        sections.append(ReviewSection(step, step_title(step), flow.provider(step), flow.status(step),
                                      flow.status_message(step), _rows(flow, step), step_errors))
    errors: list[draft.FieldError] = []
    try:
        inputs = flow.masked_inputs()
    except draft.ConfigErrors as exc:
        inputs, errors = None, exc.errors
    return Review(sections, errors, inputs)


def _rows(flow: WizardFlow, step: str) -> list[ReviewRow]:
    rows = []
    for spec in step_fields(step, flow.provider(step)):
        value = flow.value(step, spec.path)
        if spec.kind == "secret":
            shown = MASK if value else "(not set)"
        elif spec.kind == "list":
            items = value if isinstance(value, list) else spec.default or []
            shown = ", ".join(_row_text(item) for item in items if isinstance(item, dict)) or "(none)"
        elif spec.kind == "bool":
            flag = spec.default if value is None else value
            shown = "yes" if flag else "no"
        else:
            given = value if value not in (None, "") else spec.default
            shown = "(not set)" if given in (None, "") else str(given)
        rows.append(ReviewRow(spec.title, shown))
    return rows


def _row_text(row: dict[str, Any]) -> str:
    """An extra option as NAME=value, its value masked when it is a secret (it comes from the keyring)."""
    value = str(row.get("value", ""))
    return f"{row.get('name', '')}={MASK if value and draft.row_is_secret(row) else value}"
