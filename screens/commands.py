"""Command palette (ctrl+p): jump to any step and run the wizard's actions."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from wizard.steps import STEPS


class WizardCommands(Provider):
    def _commands(self) -> list[tuple[str, object, str]]:
        app = self.app
        commands: list[tuple[str, object, str]] = [
            (f"Go to step: {step.title}", partial(app.jump_to, step.id), f"Open the {step.title} step")
            for step in STEPS
        ]
        commands += [
            ("Run live checks", app.action_run_checks, "Run the current step's checks (ctrl+r)"),
            ("Save now", app.action_save, "Write the session file now (it is also saved as you type)"),
            ("Help for this step", app.action_help, "F1 or ?"),
            ("Check a team's bucket", app.action_team_bucket,
             "A team's own S3 or GCS bucket, set once at team creation: checked with the server's credentials"),
            ("Show or hide the step list", app.action_toggle_steps, "ctrl+t: more room on small terminals"),
            ("Next step", partial(app.call_later, app.action_next), "F8, ctrl+n or alt+right"),
            ("Previous step", partial(app.call_later, app.action_back), "F7 or alt+left"),
        ]
        return commands

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, text=name, help=help_text)
