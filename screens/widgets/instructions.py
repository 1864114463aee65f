"""Texts to paste elsewhere (callback URLs, CORS rules, policies, SQL), each focusable and copied with a key
(App.copy_to_clipboard: OSC 52, which works over SSH)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from screens.widgets.text import Plain
from wizard.instructions import Instruction


def _text(instruction: Instruction) -> Text:
    text = Text(instruction.text)
    if instruction.note:
        text.append("\n" + instruction.note, style="italic")
    return text


class InstructionBlock(Static, can_focus=True):
    """One text to paste elsewhere. Enter, c or ctrl+y copies it."""

    BINDINGS = [Binding("enter,c,ctrl+y", "copy", "Copy text", show=False)]  # the border says it: the footer is full

    DEFAULT_CSS = """
    InstructionBlock { height: auto; border: round $secondary; padding: 0 1; margin-bottom: 0; }
    InstructionBlock:focus { border: double $accent; }
    """

    def __init__(self, instruction: Instruction) -> None:
        super().__init__(_text(instruction), markup=False, id=f"copy-{instruction.id.replace('.', '-')}")
        self.instruction = instruction
        self.border_title = instruction.title

    def show(self, instruction: Instruction) -> None:
        """The same text to paste, with the values typed since."""
        self.instruction = instruction
        self.update(_text(instruction))

    def on_focus(self) -> None:
        self.border_subtitle = "enter/c: copy"

    def on_blur(self) -> None:
        self.border_subtitle = ""

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.instruction.clipboard)
        self.app.notify(f"Copied: {self.instruction.title}", timeout=3, markup=False)


class InstructionsPanel(Vertical):
    """The step's texts to paste elsewhere, rebuilt from the current values."""

    DEFAULT_CSS = """
    InstructionsPanel { height: auto; margin-top: 1; }
    InstructionsPanel .instructions-title { text-style: bold; }
    """

    def __init__(self, instructions: list[Instruction], id: str | None = None) -> None:
        super().__init__(id=id)
        self.instructions = instructions

    def compose(self) -> ComposeResult:
        if self.instructions:
            yield Plain("To paste elsewhere (Tab to a box, then enter or c copies it):", classes="instructions-title")
        for instruction in self.instructions:
            yield InstructionBlock(instruction)

    def show(self, instructions: list[Instruction]) -> None:
        if [(i.id, i.text, i.copy_text) for i in instructions] == [
            (i.id, i.text, i.copy_text) for i in self.instructions
        ]:
            return
        same_ids = [i.id for i in instructions] == [i.id for i in self.instructions]
        self.instructions = instructions
        if same_ids:
            for block, instruction in zip(self.query(InstructionBlock), instructions, strict=True):
                block.show(instruction)
        else:
            self.refresh(recompose=True)
