from screens.steps.base import StepView


class SlackStep(StepView):
    STEP = "slack"
    INTRO = "Optional: Slack alerts. Leave both fields empty to skip."
    HELP = ("Create a Slack app at https://api.slack.com/apps in the workspace for alerts, give it the "
            "incoming-webhook scope, and add the redirect URL below (Tab to it, Enter or c copies it). Then copy "
            "the app's client ID and client secret here.")

    def has_instructions(self) -> bool:
        return True
