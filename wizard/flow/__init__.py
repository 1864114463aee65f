"""The wizard's flow, without any UI, used by the interactive App and the headless commands alike:

  session.py  WizardFlow: one open session, its draft, secrets (memory, then the keyring), statuses and checks
  forms.py    the form fields of each step, from the models
  review.py   what the Review step shows
"""

from wizard.flow.forms import FieldSpec, model_fields, providers, step_fields
from wizard.flow.review import Review, ReviewRow, ReviewSection
from wizard.flow.session import (
    CHECKS_NOT_RUN, Clock, WizardFlow, default_session_name, read_license_file, utc_now, valid_session_name,
)

__all__ = [
    "CHECKS_NOT_RUN", "Clock", "FieldSpec", "Review", "ReviewRow", "ReviewSection", "WizardFlow",
    "default_session_name", "model_fields", "providers", "read_license_file", "step_fields", "utc_now",
    "valid_session_name",
]
