"""Find the temporary credentials wandb/local prints when started with LOCAL_RESTORE=true.

W&B documents that restore mode "prints temporary credentials to the container logs" but not the exact wording
(the image is closed source). The parser is therefore tolerant: it takes the last line that names a password
with a separator (`password: X`, `password=X`, `password is X`, `"password":"X"`) and reads the user from `user(name)/login/email`
with a separator, or from an e-mail address on the same line (the restore account seen in the field is
restore@wandb.com, wandb/server issue 66). Re-check against a real wandb/local when one is available.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

_PASSWORD = re.compile(r"pass(?:word)?[\"']?\s*(?:is\b|[:=])\s*[\"'`]?(?P<value>[^\s\"'`,;]+)", re.IGNORECASE)
_USER = re.compile(r"\b(?:user(?:name)?|login|e-?mail)[\"']?\s*(?:is\b|[:=])\s*[\"'`]?(?P<value>[^\s\"'`,;]+)",
                   re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass(frozen=True)
class TemporaryCredentials:
    user: str | None
    password: str = field(repr=False)  # a secret: shown to the administrator once, never logged
    line: str = field(repr=False)  # the log line it came from, literal


def find_credentials(lines: Iterable[str]) -> TemporaryCredentials | None:
    found = None
    for line in lines:
        password = _PASSWORD.search(line)
        if password is None:
            continue
        user = _USER.search(line)
        email = _EMAIL.search(line)
        name = user.group("value") if user else (email.group(0) if email else None)
        found = TemporaryCredentials(user=name, password=password.group("value"), line=line)
    return found
