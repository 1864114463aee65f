"""The wizard's flow, without any UI, used by the interactive App and the headless commands alike:

  session.py  WizardFlow: one open session, its draft, secrets (memory, then the keyring), statuses and checks
  forms.py    the form fields of each step, from the models
  review.py   what the Review step shows

The names below are those modules'; each module loads when one of its names is first used (start-up time).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.flow.forms import FieldSpec, model_fields, providers, step_fields
    from wizard.flow.review import Review, ReviewRow, ReviewSection
    from wizard.flow.session import (
        CHECKS_NOT_RUN, Clock, WizardFlow, default_session_name, read_license_file, utc_now, valid_session_name,
    )

_HOMES = {
    "FieldSpec": "forms", "model_fields": "forms", "providers": "forms", "step_fields": "forms",
    "Review": "review", "ReviewRow": "review", "ReviewSection": "review",
    "CHECKS_NOT_RUN": "session", "Clock": "session", "WizardFlow": "session", "default_session_name": "session",
    "read_license_file": "session", "utc_now": "session", "valid_session_name": "session",
}
__all__ = [
    "CHECKS_NOT_RUN", "Clock", "FieldSpec", "Review", "ReviewRow", "ReviewSection", "WizardFlow",
    "default_session_name", "model_fields", "providers", "read_license_file", "step_fields", "utc_now",
    "valid_session_name",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'wizard.flow' has no attribute {name!r}")
    return getattr(importlib.import_module(f"wizard.flow.{_HOMES[name]}"), name)
