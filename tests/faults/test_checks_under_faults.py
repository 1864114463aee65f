"""Every network check against a misbehaving server: each ends within its timeout plus a small margin, with a
clear message, and never reports a pass it could not have earned."""

from __future__ import annotations

import time

import pytest

from tests.services.fault_server import KINDS, fault_server  # noqa: F401  (fixture)
from wizard.checks import CheckContext, Status, checks_for
from tests.check_runs import collect
from wizard.draft import validate_step

TIMEOUT = 1.5
MARGIN = 1.0


def _sections(**steps) -> dict:
    sections = {}
    for step, draft in {"host": {"url": "https://wandb.test:8443"}, **steps}.items():
        section, errors = validate_step(step, draft, draft.pop("_secrets", {}) if isinstance(draft, dict) else {})
        assert not errors, errors
        sections[step] = section
    return sections


async def _run(step: str, sections: dict):
    started = time.monotonic()
    results = await collect(checks_for(step), CheckContext(sections, timeout=TIMEOUT))
    return results, time.monotonic() - started


def _assert_clear_failure(results, elapsed, *, kind):
    assert elapsed < TIMEOUT + MARGIN, f"{kind}: took {elapsed:.2f} s"
    assert results, f"{kind}: no results"
    for result in results:
        assert result.message.strip(), f"{kind}: empty message"
        assert "Traceback" not in result.message
        assert "could not run" not in result.message, f"{kind}: a check crashed: {result.message}"
        assert "\x1b" not in result.message + result.hint, f"{kind}: raw escape sequence in a message"


@pytest.mark.parametrize("kind", KINDS)
async def test_sso_discovery_against_faults(fault_server, kind):  # noqa: F811
    sections = _sections(sso={"provider": "oidc", "oidc": {"issuer": fault_server.url(kind), "client_id": "c"}})
    results, elapsed = await _run("sso", sections)
    _assert_clear_failure(results, elapsed, kind=kind)
    discovery = [r for r in results if r.id.startswith("sso.discovery") or r.id == "sso.provider"]
    assert discovery and all(r.status in (Status.FAIL, Status.ERROR) for r in discovery), \
        [(r.id, r.status, r.message) for r in results]
    assert not any(r.status is Status.PASS and r.id.startswith("sso.callback") for r in results)


async def test_sso_unresolvable_issuer():
    sections = _sections(sso={"provider": "oidc", "oidc": {"issuer": "https://idp.does-not-exist.invalid", "client_id": "c"}})
    results, elapsed = await _run("sso", sections)
    _assert_clear_failure(results, elapsed, kind="dns")
    assert any("resolve" in r.message.lower() or "dns" in r.message.lower() for r in results), \
        [r.message for r in results]


TCP_KINDS = ("hang", "close", "reset", "garbage", "html", "tls")


@pytest.mark.parametrize("kind", TCP_KINDS)
async def test_mysql_checks_against_faults(fault_server, kind):  # noqa: F811
    draft = {"provider": "mysql", "mysql": {"host": fault_server.host, "port": fault_server.ports[kind],
                                            "tls": "preferred"}}
    section, errors = validate_step("database", draft, {"database.mysql.password": "CANARY-db-password"})
    assert not errors
    results, elapsed = await _run("database", {"database": section})
    _assert_clear_failure(results, elapsed, kind=kind)
    assert next(r for r in results if r.id == "database.reachable").status is Status.PASS  # the fault came after
    assert not any(r.status is Status.PASS and r.id == "database.login" for r in results)
    assert any(r.status in (Status.FAIL, Status.ERROR, Status.WARN) for r in results)
    assert all("CANARY-db-password" not in r.message + r.hint for r in results)


@pytest.mark.parametrize("kind", TCP_KINDS)
@pytest.mark.parametrize("tls", [True, False])
async def test_redis_checks_against_faults(fault_server, kind, tls):  # noqa: F811
    draft = {"provider": "redis", "redis": {"host": fault_server.host, "port": fault_server.ports[kind], "tls": tls}}
    section, errors = validate_step("cache", draft, {"cache.redis.password": "CANARY-redis-password"})
    assert not errors
    results, elapsed = await _run("cache", {"cache": section})
    _assert_clear_failure(results, elapsed, kind=kind)
    assert next(r for r in results if r.id == "cache.reachable").status is Status.PASS  # the fault came after
    assert not any(r.status is Status.PASS and r.id in ("cache.ping", "cache.auth") for r in results)
    assert all("CANARY-redis-password" not in r.message + r.hint for r in results)


@pytest.mark.parametrize("kind", KINDS)
async def test_slack_api_probe_against_faults(fault_server, kind):  # noqa: F811
    section, errors = validate_step("slack", {"client_id": "1234567890.9876543210"},
                                    {"slack.secret": "0123456789abcdef0123456789abcdef"})
    assert not errors
    host, _ = validate_step("host", {"url": "https://wandb.example.com"})
    ctx = CheckContext({"slack": section, "host": host}, timeout=TIMEOUT,
                       extra={"slack_api_url": fault_server.url(kind) + "/api/api.test"})
    started = time.monotonic()
    results = await collect(checks_for("slack"), ctx)
    _assert_clear_failure(results, time.monotonic() - started, kind=kind)
    api = [r for r in results if r.id == "slack.api"]
    assert api and api[0].status is Status.WARN, [(r.id, r.status, r.message) for r in results]


@pytest.mark.parametrize("kind", KINDS)
async def test_s3_compatible_storage_against_faults(fault_server, kind):  # noqa: F811
    draft = {"provider": "s3-compatible", "s3_compatible": {
        "endpoint": f"{fault_server.host}:{fault_server.ports[kind]}", "bucket": "wandb", "access_key": "minio",
        "tls": kind == "tls"}}
    section, errors = validate_step("storage", draft, {"storage.s3_compatible.secret_key": "CANARY-s3-secret"})
    assert not errors
    host, _ = validate_step("host", {"url": "https://wandb.example.com"})
    results, elapsed = await _run("storage", {"storage": section, "host": host})
    _assert_clear_failure(results, elapsed, kind=kind)
    assert not any(r.status is Status.PASS for r in results if r.id.startswith(("storage.access", "storage.cors"))), \
        [(r.id, r.status, r.message) for r in results]
    assert all("CANARY-s3-secret" not in r.message + r.hint for r in results)


def _cloud_case(provider: str, fault_server, kind):  # noqa: F811
    url = fault_server.url(kind)
    if provider == "s3":
        draft = {"provider": "s3", "s3": {"bucket": "wandb-files", "region": "us-east-1", "queue": "wandb-events",
                                          "access_key_id": "AKIAFAULT"}}
        return draft, {"storage.s3.secret_access_key": "CANARY-aws-secret"}, {"aws_endpoint_url": url}
    if provider == "gcs":
        draft = {"provider": "gcs", "gcs": {"bucket": "wandb-files", "instance_account": True}}
        return draft, {}, {"gcs_endpoint": url}
    draft = {"provider": "azure", "azure": {"account": "devstoreaccount1", "container": "files", "queue": "events"}}
    return (draft, {"storage.azure.account_key": "Q0FOQVJZLWF6dXJlLWtleQ=="},
            {"azure_blob_endpoint": url + "/devstoreaccount1", "azure_queue_endpoint": url + "/devstoreaccount1"})


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("provider", ["s3", "gcs", "azure"])
async def test_cloud_storage_against_faults(fault_server, kind, provider):  # noqa: F811
    draft, secrets, extra = _cloud_case(provider, fault_server, kind)
    section, errors = validate_step("storage", draft, secrets)
    assert not errors, errors
    host, _ = validate_step("host", {"url": "https://wandb.example.com"})
    ctx = CheckContext({"storage": section, "host": host}, timeout=TIMEOUT, extra={**extra, "storage_event_wait": 1})
    started = time.monotonic()
    results = await collect(checks_for("storage"), ctx)
    _assert_clear_failure(results, time.monotonic() - started, kind=kind)
    # Nothing that talks to the misbehaving endpoint may pass (only "not configured" skips may appear).
    assert not any(r.status is Status.PASS for r in results), [(r.id, r.status, r.message) for r in results]
    for secret in secrets.values():
        assert all(secret not in r.message + r.hint for r in results)
