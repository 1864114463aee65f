"""One module per wizard step, named as the step (wizard.steps.STEPS). A step's module is imported when the step
is first shown: the step views need the models, which load after the first screen (start-up time)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from screens.steps.base import StepView


def step_view(step: str) -> type[StepView]:
    """The view class of a step (the StepView subclass of screens/steps/<step>.py)."""
    from screens.steps.base import StepView

    module = importlib.import_module(f"screens.steps.{step}")
    return next(value for value in vars(module).values()
                if isinstance(value, type) and issubclass(value, StepView) and value.STEP == step)
