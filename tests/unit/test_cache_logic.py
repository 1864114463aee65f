"""The cache verdicts as pure functions (INFO fields as Redis 5, 6, 7, 8 and Valkey print them), the masked
REDIS value, and the certificate-error wording shared with the database checks."""

from __future__ import annotations

import ssl

import pytest

from wizard.checks import Status
from wizard.providers import redis as c
from wizard.checks.tcp import certificate_error
from wizard.draft import validate_step

GIB = 1024 ** 3


def test_parse_info_skips_headers_and_keeps_colons_in_values():
    info = c.parse_info("# Server\r\nredis_version:7.0.15\r\nexecutable:/usr/bin/redis-server\r\n\r\n"
                        "config_file:C:\\redis.conf\r\n")
    assert info == {"redis_version": "7.0.15", "executable": "/usr/bin/redis-server", "config_file": "C:\\redis.conf"}


@pytest.mark.parametrize("version, status, words", [
    ("5.0.14", Status.FAIL, "needs Redis 6 or newer"),
    ("6.2.14", Status.PASS, "Redis 6.2.14"),
    ("7.2.4", Status.PASS, "Redis 7.2.4"),
    ("8.0.2", Status.PASS, "not listed by W&B"),
])
def test_version_verdicts(version, status, words):
    result = c.version_result({"redis_version": version})
    assert result.status is status and words in result.message


def test_valkey_is_named():
    result = c.version_result({"redis_version": "7.2.4", "valkey_version": "8.0.1"})
    assert result.status is Status.PASS and "Valkey 8.0.1" in result.message


def test_missing_version_warns():
    assert c.version_result({}).status is Status.WARN


@pytest.mark.parametrize("maxmemory, status, words", [
    (0, Status.WARN, "No memory limit is set"),
    (GIB, Status.WARN, "1 GiB; W&B recommends at least 4 GB"),
    (4 * GIB, Status.PASS, "at least the 4 GB"),
    (8 * GIB, Status.PASS, "8 GiB"),
])
def test_memory_verdicts(maxmemory, status, words):
    result = c.memory_result({"maxmemory": str(maxmemory), "total_system_memory": str(16 * GIB)})
    assert result.status is status and words in result.message
    if maxmemory == 0:
        assert "the host has 16 GiB" in result.message


def test_redis_url_masks_the_password():
    draft = {"provider": "redis", "redis": {"host": "cache.example.com", "user": "wb"}}
    section, errors = validate_step("cache", draft, {"cache.redis.password": "canary-pw"})
    assert not errors
    assert c.redis_url(section) == "redis://wb:********@cache.example.com:6379?tls=true&ttlInSeconds=604800"


def test_self_signed_certificate_error_names_the_ca_file():
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_code, exc.verify_message = 19, "self-signed certificate in certificate chain"
    error = certificate_error(exc, "127.0.0.1", 6380)
    assert error.kind == "untrusted"
    assert "self-signed certificate" in error.message and "CA file" in error.hint
    exc.verify_code, exc.verify_message = 62, "Hostname mismatch"
    assert "not valid for the name '127.0.0.1'" in certificate_error(exc, "127.0.0.1", 6380).message
