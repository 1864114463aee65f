"""The checks of the Slack step, run by `wizard.providers.slack`."""

from __future__ import annotations

from wizard.providers import slot

slot("slack", "slack.credentials", "Slack app credentials")
slot("slack", "slack.redirect", "Slack redirect URL")
slot("slack", "slack.api", "Slack API reachable")
