"""Cache step checks against real Redis servers: TLS + ACL, password-only, and the ways a connection goes wrong."""

from __future__ import annotations

import socket
import time

import pytest

from tests.services.host_address import machine_address
from tests.services.local_process import closed_port
from tests.services.redis_tls import (  # noqa: F401 (fixtures)
    GIB, RedisServer, _redis_plain_server, _redis_tls_server, redis_plain, redis_tls,
)
from wizard.checks import CheckContext, Status
from wizard.checks.engine import checks_for
from tests.check_runs import collect
from wizard.draft import validate_step

CANARY = "canary-redis-secret-7d1f"
TIMEOUT = 3.0


def _section(server: RedisServer | None = None, **fields):
    values = {}
    if server is not None:
        values = {"host": server.host, "port": server.port, "tls": server.tls, "password": server.password}
        if server.user:
            values["user"] = server.user
        if server.certs:
            values["ca_file"] = str(server.certs.ca)
    values.update(fields)
    secrets = {"cache.redis.password": values.pop("password")} if values.get("password") else {}
    section, errors = validate_step("cache", {"provider": "redis", "redis": values}, secrets)
    assert not errors, errors
    return section


async def _run(section, timeout: float = TIMEOUT, **options) -> dict[str, object]:
    results = await collect(checks_for("cache"), CheckContext({"cache": section}, timeout=timeout, **options))
    secret = section.password.get_secret_value() if getattr(section, "password", None) else None
    for result in results:
        if secret:
            assert secret not in result.message and secret not in result.hint, result
        assert CANARY not in result.message and CANARY not in result.hint
    return {result.id: result for result in results}


def _statuses(results) -> dict[str, Status]:
    return {key: result.status for key, result in results.items()}


async def test_tls_with_acl_user_passes_every_step(redis_tls):
    results = await _run(_section(redis_tls))
    assert _statuses(results) == {
        "cache.reachable": Status.PASS, "cache.tls": Status.PASS, "cache.auth": Status.PASS,
        "cache.ping": Status.PASS, "cache.version": Status.PASS, "cache.memory": Status.PASS, "cache.url": Status.PASS,
    }
    assert f"ACL user '{redis_tls.user}'" in results["cache.auth"].message
    assert "Redis 7." in results["cache.version"].message or "Redis 6." in results["cache.version"].message
    url = results["cache.url"].message
    assert (f"redis://{redis_tls.user}:********@{redis_tls.host}:{redis_tls.port}?tls=true&caCertPath="
            "/etc/wandb-local-setup/redis-ca.pem&ttlInSeconds=604800") in url
    assert redis_tls.password not in url


async def test_wrong_password_is_refused_in_plain_words(redis_tls):
    results = await _run(_section(redis_tls, password=CANARY))
    auth = results["cache.auth"]
    assert auth.status is Status.FAIL
    assert "wrong user name or password" in auth.message
    assert "cache.url" not in results


async def test_missing_password_on_a_server_that_requires_one(redis_tls):
    section = _section(redis_tls, user=None, password=None)
    results = await _run(section)
    assert results["cache.auth"].status is Status.FAIL
    assert "requires authentication" in results["cache.auth"].message


async def test_without_the_ca_file_the_self_signed_certificate_is_named(redis_tls):
    results = await _run(_section(redis_tls, ca_file=None))
    tls = results["cache.tls"]
    assert tls.status is Status.FAIL
    assert "self-signed certificate" in tls.message
    assert "CA file" in tls.hint
    assert "cache.auth" not in results  # the password is never sent over an unverified connection


async def test_insecure_mode_warns_and_continues(redis_tls):
    results = await _run(_section(redis_tls, ca_file=None), insecure=True)
    assert results["cache.tls-verify"].status is Status.WARN
    assert "verification is turned off" in results["cache.tls-verify"].message
    assert results["cache.auth"].status is Status.PASS


@pytest.mark.parametrize("with_password", [True, False])
async def test_plain_connection_to_the_tls_port_says_turn_tls_on(redis_tls, with_password):
    # With a password the connection breaks at AUTH; without one, at PING.
    fields = {} if with_password else {"user": None, "password": None}
    results = await _run(_section(redis_tls, tls=False, ca_file=None, **fields))
    tls = results["cache.tls"]
    assert tls.status is Status.FAIL
    assert "expects TLS" in tls.message and "Turn TLS on" in tls.hint


async def test_tls_to_a_plain_port_says_it_speaks_plain_redis(redis_plain):
    started = time.monotonic()
    results = await _run(_section(redis_plain, tls=True))
    tls = results["cache.tls"]
    assert tls.status is Status.FAIL
    assert "speaks plain Redis, without TLS" in tls.message and "Turn TLS off" in tls.hint
    assert time.monotonic() - started < TIMEOUT


async def test_password_only_server(redis_plain):
    results = await _run(_section(redis_plain))
    assert results["cache.auth"].status is Status.PASS
    assert "with the password" in results["cache.auth"].message
    assert results["cache.tls"].status is Status.WARN  # not encrypted
    assert results["cache.url"].message.endswith(
        f"REDIS=redis://:********@{redis_plain.host}:{redis_plain.port}?ttlInSeconds=604800.")


async def test_server_without_any_password(redis_plain):
    with redis_plain.client() as admin:
        admin.config_set("requirepass", "")
    try:
        open_server = await _run(_section(redis_plain, password=None))
        assert open_server["cache.auth"].status is Status.WARN
        assert "without authentication" in open_server["cache.auth"].message
        assert open_server["cache.url"].message.endswith(
            f"REDIS=redis://{redis_plain.host}:{redis_plain.port}?ttlInSeconds=604800.")
        needless = await _run(_section(redis_plain, password=CANARY))
        assert needless["cache.auth"].status is Status.FAIL
        assert "the server has none set" in needless["cache.auth"].message
    finally:
        import redis

        with redis.Redis(host=redis_plain.host, port=redis_plain.port, socket_timeout=5) as admin:
            admin.config_set("requirepass", redis_plain.password)


async def test_acl_user_against_a_password_only_server_is_refused(redis_plain):
    results = await _run(_section(redis_plain, user="wandb"))
    assert results["cache.auth"].status is Status.FAIL
    assert "user 'wandb'" in results["cache.auth"].message


@pytest.mark.parametrize("maxmemory, status, words", [
    (GIB, Status.WARN, "at least 4 GB"),
    (0, Status.WARN, "No memory limit is set"),
    (6 * GIB, Status.PASS, "6 GiB"),
])
async def test_maxmemory(redis_plain, maxmemory, status, words):
    redis_plain.set_maxmemory(maxmemory)
    memory = (await _run(_section(redis_plain)))["cache.memory"]
    assert memory.status is status
    assert words in memory.message
    if status is Status.WARN:
        assert "maxmemory 8gb" in memory.hint


async def test_closed_port_fails_fast():
    started = time.monotonic()
    results = await _run(_section(host=machine_address(), port=closed_port(machine_address()), tls=False))
    assert results["cache.reachable"].status is Status.FAIL
    assert "refused the connection" in results["cache.reachable"].message
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("tls", [True, False])
async def test_hanging_server_is_reported_within_the_timeout(tls):
    with socket.socket() as silent:  # accepts TCP connections (kernel backlog) and never says a word
        silent.bind((machine_address(), 0))
        silent.listen(8)
        started = time.monotonic()
        results = await _run(_section(host=machine_address(), port=silent.getsockname()[1], tls=tls, password=CANARY),
                             timeout=2.0)
        elapsed = time.monotonic() - started
    assert elapsed < 2.3, elapsed
    assert results["cache.reachable"].status is Status.PASS
    failed = results["cache.tls" if tls else "cache.auth"]
    assert failed.status is Status.FAIL
    assert ("completed no TLS handshake" if tls else "sent no Redis answer") in failed.message


async def test_embedded_cache_is_skipped():
    section, _ = validate_step("cache", {"provider": "embedded"})
    results = await collect(checks_for("cache"), CheckContext({"cache": section}))
    assert [(r.status, r.message) for r in results] == [
        (Status.SKIPPED, "The cache inside the container is used: nothing to check.")]
