from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input

from screens.steps.base import StepView
from screens.widgets.form import widget_id
from screens.widgets.text import Plain
from wizard.flow import read_license_file, step_fields


class LicenseStep(StepView):
    STEP = "license"
    INTRO = "Paste the license from W&B, or read it from a file. Empty: an unlicensed server (limited)."
    HELP = ("Paste the license into the hidden field (ctrl+v or your terminal's paste), or type the path of a "
            "file holding it and press Enter on that field.\n\nA license has three parts separated by dots; line "
            "breaks from copying are removed. It is stored in the keyring, never shown.")

    def compose_body(self) -> ComposeResult:
        yield from self.field_rows(step_fields(self.STEP))
        with Horizontal(classes="field-line", id="license-file-line"):
            yield Plain("Read from file", classes="field-title")
            yield Input(placeholder="/path/to/license.txt, then Enter", id="license-file", compact=True,
                        classes="field-control")
            yield Button("Read", id="license-read", compact=True)
        yield Plain("", id="license-file-result", classes="field-help")

    @on(Input.Submitted, "#license-file")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._read(event.value)

    @on(Button.Pressed, "#license-read")
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self._read(self.query_one("#license-file", Input).value)

    def _read(self, path: str) -> None:
        result = self.query_one("#license-file-result", Plain)
        try:
            token = read_license_file(path)
        except ValueError as exc:
            result.set_text(Text(f"✗ {exc}"))
            return
        key_input = self.query_one(f"#{widget_id(self.STEP, ('key',))}", Input)
        key_input.value = token  # posts Changed: recorded like a typed value
        self.touched.add(("key",))
        result.set_text(Text(f"✓ Read {len(token)} characters from the file."))
        self._after_edit(immediate=True)
