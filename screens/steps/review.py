from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button

from screens.steps.base import StepView
from screens.widgets.text import Plain
from wizard.flow import status_label


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
            for row in section.rows:
                text.append(f"\n  {row.label}: {row.value}")
            for error in section.errors:
                text.append(f"\n  ✗ {error.label}: {error.message}")
            yield Plain(text, classes="review-section")
        yield Plain("Container environment (secrets masked)", classes="review-title")
        if review.environment:
            yield Plain("\n".join(f"{var.name}={var.value}" for var in review.environment), id="review-env",
                        classes="review-env")
        else:
            yield Plain(f"Not available yet: {len(review.errors)} problem(s) above must be corrected first.",
                        id="review-env", classes="review-env")

    @on(Button.Pressed, ".review-goto")
    def _goto(self, event: Button.Pressed) -> None:
        event.stop()
        self.wizard.go_to((event.button.id or "").removeprefix("goto-"))
