"""Checks of the License step: the license's shape, its expiry and what it grants; reading a license from a file.

W&B's licenses are compact JWS tokens signed with a key that is not public, so the wizard can read the claims but
never verify the signature: every result says so instead of pretending. The claims are not documented; the
checks show what is there (limits under their own names) without guessing what unknown fields mean.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import Any

from wizard.small_files import read_small
from wizard.checks.engine import CheckContext, CheckResult, Status, register
from wizard.checks.net import truncate
from wizard.config import decode_license

EXPIRY_WARNING_DAYS = 30
MAX_LICENSE_FILE = 64 * 1024  # a license is a few kB; anything much larger is the wrong file
UNLICENSED = (
    "Without a license the server runs with manual user management and a limited number of users and teams; "
    "licensed versions of W&B Local also unlock SSO and more users and teams."
)
NOT_VERIFIED = "The signature cannot be verified offline (W&B's signing key is not public): the server checks it."
_STANDARD = {"iss": "issuer", "sub": "subject", "aud": "audience", "iat": "issued", "nbf": "valid from",
             "exp": "expires", "jti": "id"}
_LIMIT_WORDS = ("max", "seat", "limit", "quota", "user", "team")

ID, TITLE = "license.valid", "License"


def read_license_file(path: str) -> str:
    """The license stored in a file, whitespace and line breaks removed. Raises ValueError with a plain message."""
    path = os.path.expanduser(path.strip())
    if not path:
        raise ValueError("enter the path of the file holding the license")
    raw = read_small(path, MAX_LICENSE_FILE)  # a regular file of a few kB: not a device, a FIFO or /proc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a text file: a license is a line of text (three parts separated by dots)") from None
    token = "".join(text.split())
    if not token:
        raise ValueError(f"{path} is empty")
    return token


def _date(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(value, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return truncate(text, 80)


def describe_claims(claims: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(limits, other fields) as 'name: value' lines, in the license's own words."""
    limits, others = [], []
    for key, value in claims.items():
        if key == "iat" and _date(value) is not None:
            others.append(f"issued: {_date(value):%Y-%m-%d}")
            continue
        if key in ("exp", "nbf"):
            continue  # shown by the expiry result
        line = f"{truncate(key, 40)}: {_show(value)}"
        is_limit = isinstance(value, (int, float)) and not isinstance(value, bool)
        if is_limit and any(word in key.lower() for word in _LIMIT_WORDS):
            limits.append(line)
        else:
            others.append(f"{_STANDARD.get(key, truncate(key, 40))}: {_show(value)}" if key in _STANDARD else line)
    return limits, others


def license_results(token: str | None, now: datetime | None = None) -> list[CheckResult]:
    """Everything the wizard can tell about a license without W&B's key."""
    if not token:
        return [CheckResult(ID, TITLE, Status.PASS, "No license: the server will run unlicensed. " + UNLICENSED,
                            "Ask W&B (contact@wandb.com) for a license, or a trial license, to add one later.")]
    now = now or datetime.now(timezone.utc)
    try:
        header, claims = decode_license(token)
    except ValueError as exc:
        return [CheckResult(ID, TITLE, Status.FAIL, f"The license {exc}.",
                            "Copy the license again in one piece from W&B's e-mail or portal, or read it from a file.")]
    alg = truncate(str(header.get("alg", "none")), 20)
    results = [CheckResult(
        ID, TITLE, Status.PASS,
        f"The license is a well-formed signed token (algorithm {alg}) with {len(claims)} "
        f"claim{'' if len(claims) == 1 else 's'}. {NOT_VERIFIED}",
    )]
    if str(header.get("alg", "")).lower() == "none":
        results[0] = CheckResult(ID, TITLE, Status.FAIL, "The license is not signed (algorithm 'none'): the server "
                                 "will reject it.", "Copy the license again from W&B; do not edit it.")
    results.append(_expiry_result(claims, now))
    limits, others = describe_claims(claims)
    lines = []
    if limits:
        lines.append("Limits: " + "; ".join(limits) + ".")
    if others:
        lines.append("Other fields: " + "; ".join(others[:12]) + (" …" if len(others) > 12 else "") + ".")
    if not lines:
        lines.append("The license names no limits or other fields.")
    results.append(CheckResult("license.contents", "License contents", Status.PASS, " ".join(lines),
                               "Field names are W&B's own; /system-admin on the running server shows how it reads them."))
    return results


def _expiry_result(claims: dict[str, Any], now: datetime) -> CheckResult:
    check_id, title = "license.expiry", "License expiry"
    if "exp" not in claims:
        return CheckResult(check_id, title, Status.PASS, "The license states no expiry date (no 'exp' field).")
    expires = _date(claims["exp"])
    if expires is None:
        return CheckResult(check_id, title, Status.FAIL,
                           f"The license's expiry ('exp': {_show(claims['exp'])}) is not a date.",
                           "Copy the license again from W&B; if it still fails, ask W&B for a new one.")
    when = expires.strftime("%Y-%m-%d %H:%M UTC")
    days = (expires - now).total_seconds() / 86400
    if days <= 0:
        return CheckResult(check_id, title, Status.FAIL,
                           f"The license expired on {when} ({int(-days)} days ago). W&B locks the UI a few days "
                           "after a license expires.",
                           "Ask W&B (contact@wandb.com or your account team) for a renewed license.")
    starts = _date(claims.get("nbf"))
    if starts is not None and starts > now:
        return CheckResult(check_id, title, Status.WARN,
                           f"The license only becomes valid on {starts.strftime('%Y-%m-%d %H:%M UTC')}.",
                           "Wait until then, or check this machine's clock.")
    if days <= EXPIRY_WARNING_DAYS:
        return CheckResult(check_id, title, Status.WARN, f"The license expires on {when}, in {int(days)} days.",
                           "Ask W&B for a renewal now, so the server does not lock when it expires.")
    return CheckResult(check_id, title, Status.PASS, f"The license is valid until {when} ({int(days)} days).")


@register("license", ID, TITLE)
async def check_license(ctx: CheckContext):
    section = ctx.section("license")
    token = section.key.get_secret_value() if section is not None and section.key is not None else None
    for result in license_results(token):
        yield result
