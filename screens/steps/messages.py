"""What a step view tells the App (nested in StepView as StepView.Edited, ...). Apart from the step views, so the
App can handle them without importing a step (the step views load with the models, after the first screen)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class Edited(Message):
    """A value or the step's status changed: the step list and the title say so; the draft is saved soon
    (`immediate`: now, e.g. a field was left)."""

    step: str
    immediate: bool = False


@dataclass
class SaveRequested(Message):
    """A field was left: the draft is saved now."""


@dataclass
class NavigateTo(Message):
    step: str


@dataclass
class NextRequested(Message):
    """The next step, as F8 would (with the confirmation when this one has problems)."""
