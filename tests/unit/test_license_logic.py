"""License findings as pure logic, at a fixed 'now' (the integration tests run them through the engine)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

from wizard.checks.engine import Status
from wizard.checks.license import describe_claims, license_results

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def token(claims, header=None) -> str:
    part = lambda data: base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part(header or {'alg': 'RS256'})}.{part(claims)}.c2ln"


def by_id(results):
    return {r.id: r for r in results}


def test_expiry_boundaries():
    day = 86400
    base = int(NOW.timestamp())
    assert by_id(license_results(token({"exp": base - 1}), NOW))["license.expiry"].status is Status.FAIL
    assert by_id(license_results(token({"exp": base + 30 * day}), NOW))["license.expiry"].status is Status.WARN
    assert by_id(license_results(token({"exp": base + 31 * day}), NOW))["license.expiry"].status is Status.PASS


def test_no_expiry_and_future_start():
    assert "states no expiry" in by_id(license_results(token({"sub": "a"}), NOW))["license.expiry"].message
    result = by_id(license_results(token({"exp": 2_000_000_000, "nbf": 1_900_000_000}), NOW))["license.expiry"]
    assert result.status is Status.WARN and "only becomes valid" in result.message


def test_expiry_in_milliseconds_is_not_taken_for_a_date():
    result = by_id(license_results(token({"exp": 1_900_000_000_000}), NOW))["license.expiry"]
    assert result.status is Status.FAIL and "is not a date" in result.message


def test_limits_are_numbers_with_limit_words_and_everything_else_is_shown_as_is():
    limits, others = describe_claims({"maxUsers": 10, "seats": 5, "userLimitEnabled": True, "teams": "many",
                                      "iat": 1_700_000_000, "sub": "acme", "weird<b>": "x" * 300})
    assert limits == ["maxUsers: 10", "seats: 5"]
    assert "userLimitEnabled: true" in others and "teams: many" in others
    assert "issued: 2023-11-14" in others and "subject: acme" in others
    assert max(len(line) for line in others) < 140  # outside text is truncated


def test_unsigned_license_fails():
    assert license_results(token({}, {"alg": "none"}), NOW)[0].status is Status.FAIL
