"""The list of steps on the left: each step with its status as a symbol and a word (never colour alone)."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from screens.words import STATUS_WORDS
from wizard.steps import STEPS, StepStatus


def step_prompt(title: str, status: StepStatus, current: bool) -> Text:
    text = Text()
    text.append("▸" if current else " ", style="bold")
    text.append(f"{status.symbol} ")
    text.append(f"{title:<14}", style="bold" if current else "")
    text.append(f" {STATUS_WORDS[status]}")
    return text


class StepList(OptionList):
    """Enter (or a click) on a step opens it."""

    class Chosen(Message):
        def __init__(self, step: str) -> None:
            super().__init__()
            self.step = step

    def __init__(self, id: str | None = None, disabled: bool = False) -> None:
        super().__init__(*[Option(step_prompt(s.title, StepStatus.UNTOUCHED, False), id=s.id) for s in STEPS],
                         id=id, markup=False, disabled=disabled)
        self.border_title = "Steps (F2)"

    _shown: tuple = ()

    def show(self, statuses: dict[str, StepStatus], current: str | None) -> None:
        highlighted = self.highlighted
        shown = (tuple(statuses.get(step.id, StepStatus.UNTOUCHED) for step in STEPS), current)
        # Called on every keystroke: replacing the prompts would repaint the whole list each time.
        if shown != self._shown:
            self._shown = shown
            self._replace_prompts(statuses, current)
        if current is not None and (highlighted is None or not self.has_focus):
            self.highlighted = [s.id for s in STEPS].index(current)

    def _replace_prompts(self, statuses: dict[str, StepStatus], current: str | None) -> None:
        for step in STEPS:
            self.replace_option_prompt(step.id, step_prompt(step.title, statuses.get(step.id, StepStatus.UNTOUCHED),
                                                            step.id == current))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.Chosen(event.option.id))
