from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Checkbox, Input, Select

from screens.steps.base import StepView
from screens.widgets.text import Plain
from screens.words import PROVIDER_LABELS, status_label


class ReviewStep(StepView):
    STEP = "review"
    INTRO = "Everything that will be configured, by step. Secrets are masked."
    HELP = ("Steps with problems or warnings are listed first: Tab to a 'Go to' button and press Enter to fix it. "
            "The environment below is exactly what the container will get, with secrets masked.")

    def compose_body(self) -> ComposeResult:
        review = self.flow.review()
        attention = review.attention
        if attention:
            yield Plain("Needs attention:", classes="review-title")
            for section in attention:
                detail = section.errors[0].message if section.errors else (section.message or "")
                yield Button(Text(f"Go to {section.title}: {status_label(section.status)}"),
                             id=f"goto-{section.step}", classes="review-goto", compact=True)
                if detail:
                    yield Plain(detail, classes="review-detail")
        else:
            yield Plain("✓ Every step is valid.", classes="review-title")
        for section in review.sections:
            text = Text()
            text.append(f"{section.title}  [{status_label(section.status)}]", style="bold")
            if section.provider:
                text.append(f"\n  Provider: {PROVIDER_LABELS.get(section.provider, section.provider)}")
            for row in section.rows:
                text.append(f"\n  {row.label}: {row.value}")
            for error in section.errors:
                text.append(f"\n  ✗ {error.label}: {error.message}")
            yield Plain(text, classes="review-section")
        from wizard.instructions import container_lines

        yield Plain("What the server container gets (secrets masked)", classes="review-title")
        if review.inputs is not None:
            yield Plain(container_lines(review.inputs), id="review-env", classes="review-env")
        else:
            yield Plain(f"Not available yet: {len(review.errors)} problem(s) above must be corrected first.",
                        id="review-env", classes="review-env")
            return
        yield from self.compose_export()

    def compose_export(self) -> ComposeResult:
        from wizard.exports import DEFAULT_FILES, FORMAT_LABELS

        yield Plain("Export (the same files as `wandb-local-setup export`)", classes="review-title")
        yield Select([(label, fmt) for fmt, label in FORMAT_LABELS.items()], value="env", allow_blank=False,
                     id="export-format", compact=True)
        yield Input(value=f"~/wandb-local/{DEFAULT_FILES['env']}", id="export-path", compact=True,
                    placeholder="file to write")
        yield Checkbox("Include the secrets (the file is written 0600)", id="export-secrets", compact=True)
        with Horizontal(id="export-row"):
            yield Button(Text("Export"), id="export-go", compact=True)
        yield Plain("", id="export-result")

    @on(Select.Changed, "#export-format")
    def _format_chosen(self, event: Select.Changed) -> None:
        from pathlib import PurePath

        from wizard.exports import DEFAULT_FILES

        event.stop()
        path = self.query_one("#export-path", Input)
        folder = str(PurePath(path.value).parent) if path.value.strip() else "~/wandb-local"
        path.value = f"{folder}/{DEFAULT_FILES[str(event.value)]}"

    @on(Button.Pressed, "#export-go")
    def _export(self, event: Button.Pressed) -> None:
        event.stop()
        fmt = str(self.query_one("#export-format", Select).value)
        path = self.query_one("#export-path", Input).value
        with_secrets = self.query_one("#export-secrets", Checkbox).value
        result = self.query_one("#export-result", Plain)
        try:
            written = self.flow.export(fmt, path, with_secrets)
        except (ValueError, OSError) as exc:
            result.set_text(f"✗ Not exported: {exc}")
            return
        if with_secrets:
            note = " (secrets in the mode 0600 file: keep it private)"
        else:
            note = " (no secret values: Secret references)" if fmt.startswith("operator") else \
                " (secrets as ${...} placeholders)"
        lines = ["✓ Wrote " + ", ".join(str(item.path) for item in written) + note]
        lines += [f"  {note}" for item in written for note in item.notes]
        result.set_text("\n".join(lines))

    @on(Button.Pressed, ".review-goto")
    def _goto(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.NavigateTo((event.button.id or "").removeprefix("goto-")))
