"""License step checks through the engine, with licenses made here (W&B's claims are not published) and real files."""

from __future__ import annotations

import base64
import json
import os
import pathlib
import tempfile
import time
from datetime import datetime, timedelta, timezone

import pytest

from wizard.checks import CheckContext, Status, checks_for
from tests.check_runs import collect
from wizard.checks.license import read_license_file
from wizard.draft import validate_step

CANARY_SIGNATURE = b"license-canary-signature-bytes"


def make_license(claims: dict, header: dict | None = None, signature: bytes = CANARY_SIGNATURE) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = header or {"alg": "RS256", "typ": "JWT"}
    return ".".join([part(json.dumps(header).encode()), part(json.dumps(claims).encode()), part(signature)])


def _days(n: float) -> int:
    return int((datetime.now(timezone.utc) + timedelta(days=n)).timestamp())


async def _run(token: str | None) -> dict[str, object]:
    section, errors = validate_step("license", {}, {"license.key": token} if token else {})
    assert not errors, errors
    results = await collect(checks_for("license"), CheckContext({"license": section}))
    for result in results:
        if token:
            for piece in token.split("."):
                assert piece not in result.message and piece not in result.hint, "the license leaked into a result"
    return {r.id: r for r in results}


async def test_no_license_explains_what_an_unlicensed_server_allows():
    results = await _run(None)
    (result,) = results.values()
    assert result.status is Status.PASS
    assert "manual user management" in result.message
    assert "licensed versions of W&B Local also unlock SSO and more users and teams" in result.message


async def test_valid_license_shows_expiry_limits_and_other_fields():
    token = make_license({"exp": _days(200), "iat": _days(-10), "maxUsers": 25, "seats": 30, "maxTeams": 4,
                          "customer": "Acme Corp", "flags": ["sso", "byob"]})
    results = await _run(token)
    assert results["license.valid"].status is Status.PASS
    assert "algorithm RS256" in results["license.valid"].message
    assert "signature cannot be verified offline" in results["license.valid"].message
    assert results["license.expiry"].status is Status.PASS
    assert "(199 days)" in results["license.expiry"].message or "(200 days)" in results["license.expiry"].message
    contents = results["license.contents"].message
    assert "Limits: maxUsers: 25; seats: 30; maxTeams: 4." in contents
    assert 'customer: Acme Corp; flags: ["sso", "byob"]' in contents


async def test_expired_license_fails():
    results = await _run(make_license({"exp": _days(-5)}))
    expiry = results["license.expiry"]
    assert expiry.status is Status.FAIL
    assert "expired on" in expiry.message and "5 days ago" in expiry.message
    assert "renewed license" in expiry.hint


async def test_license_expiring_within_30_days_warns():
    results = await _run(make_license({"exp": _days(12.5)}))
    assert results["license.expiry"].status is Status.WARN
    assert "in 12 days" in results["license.expiry"].message


async def test_malformed_licenses_are_rejected_by_the_step_with_a_plain_message():
    for token, words in [("abc.def", "three parts"), ("a.b.c", "not readable"), ("ab$.cd.ef", "characters")]:
        section, errors = validate_step("license", {}, {"license.key": token})
        assert section is None and words in errors[0].message, (token, errors)
        assert token not in errors[0].message


async def test_unsigned_license_and_non_date_expiry_fail():
    results = await _run(make_license({"exp": "soon"}, header={"alg": "none"}))
    assert results["license.valid"].status is Status.FAIL
    assert results["license.expiry"].status is Status.FAIL
    assert "is not a date" in results["license.expiry"].message


def test_license_file_is_read_without_whitespace(tmp_path):
    token = make_license({"exp": _days(100)})
    path = tmp_path / "license.txt"
    path.write_text("\n  " + token[:20] + "\n" + token[20:] + "  \r\n")
    assert read_license_file(str(path)) == token


@pytest.mark.parametrize("case, words", [
    ("missing", "does not exist"), ("directory", "is a directory"), ("empty", "is empty"),
    ("large", "is 100 KiB, more than the 64 KiB"), ("binary", "is not a text file"), ("unreadable", "permission denied"),
])
def test_license_file_problems_have_clear_messages(tmp_path, case, words):
    path = tmp_path / "license"
    if case == "directory":
        path.mkdir()
    elif case == "empty":
        path.write_text(" \n")
    elif case == "large":
        path.write_text("a" * 100 * 1024)
    elif case == "binary":
        path.write_bytes(b"\xff\xfe\x00\x81" * 10)
    elif case == "unreadable":
        if os.geteuid() == 0:  # root reads every file: read it as the unprivileged user 'nobody' instead
            with tempfile.TemporaryDirectory() as folder:  # /tmp/x (0700 -> 0755): 'nobody' may reach the file
                os.chmod(folder, 0o755)
                path = pathlib.Path(folder) / "license"
                path.write_text("x")
                path.chmod(0)
                assert words in _read_as_nobody(str(path))
            return
        path.write_text("x")
        path.chmod(0)
    with pytest.raises(ValueError, match=words):
        read_license_file(str(path))


def _read_as_nobody(path: str) -> str:
    """The message read_license_file gives when the user 'nobody' reads path (in a forked child)."""
    reading, writing = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        try:
            os.close(reading)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            try:
                read_license_file(path)
                message = "read without an error"
            except ValueError as exc:
                message = str(exc)
            os.write(writing, message.encode())
        finally:
            os._exit(0)
    os.close(writing)
    with os.fdopen(reading, "rb") as handle:
        message = handle.read().decode()
    os.waitpid(pid, 0)
    return message


def test_a_huge_license_file_is_not_read_whole(tmp_path):
    path = tmp_path / "huge"
    with open(path, "wb") as handle:
        handle.truncate(2 * 1024**3)  # sparse 2 GB
    started = time.monotonic()
    with pytest.raises(ValueError, match="is the right file"):
        read_license_file(str(path))
    assert time.monotonic() - started < 0.5
