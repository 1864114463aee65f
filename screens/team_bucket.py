"""Check a team's bucket (command palette): the File storage checks on it, with the server's credentials
(wizard.team_bucket), then the exact values for W&B's team creation form. Nothing here decides anything."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select

from screens.widgets.checks_panel import ChecksPanel
from screens.widgets.text import Plain

PROVIDER_CHOICES = [("Amazon S3", "s3"), ("Google Cloud Storage", "gcs")]


class TeamBucketScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "close", "Close"), Binding("ctrl+r", "check", "Check")]

    DEFAULT_CSS = """
    TeamBucketScreen .team-body { height: auto; max-height: 100%; }
    TeamBucketScreen Input, TeamBucketScreen Select { margin-bottom: 1; }
    TeamBucketScreen .team-label { text-style: bold; }
    TeamBucketScreen #team-buttons { height: auto; }
    TeamBucketScreen #team-buttons Button { margin-right: 1; width: auto; min-width: 0; }
    """

    def __init__(self, flow) -> None:
        super().__init__(classes="modal")
        self.flow = flow
        self._checked = None  # the team bucket of the last run (its form values are shown when it passes)

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog team-body"):
            yield Plain("Check a team's bucket", classes="dialog-title")
            yield Plain("A team can keep its files in its own bucket, set once in the team creation form: it cannot "
                        "be changed later. Checked here with the server's credentials and HOST.")
            yield Plain("Cloud storage", classes="team-label")
            yield Select(PROVIDER_CHOICES, value="s3", allow_blank=False, id="team-provider", compact=True)
            yield Plain("Bucket name", classes="team-label")
            yield Input(placeholder="e.g. acme-team-files", id="team-bucket", compact=True)
            yield Plain("Region (S3)", classes="team-label")
            yield Input(placeholder="e.g. us-east-1", id="team-region", compact=True)
            yield Plain("KMS key ARN (S3, optional)", classes="team-label")
            yield Input(placeholder="arn:aws:kms:REGION:ACCOUNT:key/ID", id="team-kms", compact=True)
            with Horizontal(id="team-buttons"):
                yield Button(Text("Check (ctrl+r)"), id="team-check", variant="primary", compact=True)
                yield Button(Text("Close (esc)"), id="team-close", compact=True)
            yield Plain("", id="team-said")
            yield ChecksPanel("storage", id="team-checks")
            yield Plain("", id="team-form")

    def on_mount(self) -> None:
        self.query_one("#team-bucket", Input).focus()

    def _team(self):
        from wizard.team_bucket import TeamBucket

        def text(selector: str) -> str | None:
            return self.query_one(selector, Input).value.strip() or None

        return TeamBucket(str(self.query_one("#team-provider", Select).value), text("#team-bucket") or "",
                          text("#team-region"), text("#team-kms"))

    @on(Button.Pressed, "#team-check")
    @on(Input.Submitted)
    def _check_pressed(self, event: Button.Pressed | Input.Submitted) -> None:
        event.stop()
        self.action_check()

    def action_check(self) -> None:
        from wizard import team_bucket as tb
        from wizard.draft import ConfigErrors

        said, form = self.query_one("#team-said", Plain), self.query_one("#team-form", Plain)
        form.set_text("")
        team = self._team()
        try:
            cfg = self.flow.build_config()
            ctx = tb.context(team, cfg, extra=self.flow.check_extra)  # (tests: the emulators)
        except ConfigErrors as exc:
            said.set_text(f"✗ The session's settings have {len(exc.errors)} problem(s): correct them first (Review "
                          "lists them); the check uses the server's credentials and HOST.")
            return
        except tb.TeamBucketInvalid as exc:
            said.set_text(f"✗ {exc}")
            return
        said.set_text(tb.title(team, cfg))
        panel = self.query_one("#team-checks", ChecksPanel)
        panel.checks = tb.plan()
        panel.run(ctx)
        self._checked = team

    @on(ChecksPanel.RerunRequested)
    def _rerun(self, event: ChecksPanel.RerunRequested) -> None:
        event.stop()
        self.action_check()

    @on(ChecksPanel.Finished)
    def _finished(self, event: ChecksPanel.Finished) -> None:
        from wizard.team_bucket import outcome

        event.stop()
        if self._checked is not None:
            self.query_one("#team-form", Plain).set_text(outcome(self._checked, event.results))

    @on(Button.Pressed, "#team-close")
    def _close_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_close()

    def action_close(self) -> None:
        self.dismiss(None)
