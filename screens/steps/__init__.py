"""One module per wizard step, in the order of wizard.steps.STEPS."""

from __future__ import annotations

from screens.steps.base import StepView
from screens.steps.cache import CacheStep
from screens.steps.database import DatabaseStep
from screens.steps.host import HostStep
from screens.steps.launch import LaunchStep
from screens.steps.license import LicenseStep
from screens.steps.review import ReviewStep
from screens.steps.server import ServerStep
from screens.steps.slack import SlackStep
from screens.steps.sso import SSOStep
from screens.steps.storage import StorageStep
from screens.steps.welcome import WelcomeStep

STEP_VIEWS: dict[str, type[StepView]] = {
    view.STEP: view
    for view in (WelcomeStep, LicenseStep, HostStep, SSOStep, StorageStep, DatabaseStep, CacheStep, SlackStep,
                 ServerStep, ReviewStep, LaunchStep)
}
