"""SSO step checks against a real OIDC provider (node oidc-provider) on loopback.

What a real provider cannot show here (a server that hangs, answers HTML, a TLS server with a private CA, a
provider without PKCE S256, a Cognito-shaped document or hosted UI) comes from a small hand-written HTTP stub in
this file; those tests say "stub" in their names.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.services import unavailable
from tests.services.host_address import machine_address
from tests.services.oidc_provider import (  # noqa: F401  (fixtures)
    CONFIDENTIAL_SECRET,
    IMPLICIT_HOST,
    PKCE_HOST,
    oidc_provider,
    oidc_provider_code_only,
    start,
)
from wizard.checks import CheckContext, Status, checks_for
from tests.check_runs import collect
from wizard.draft import validate_step

CANARY = "eyJhbGciOiJSUzI1NiJ9.eyJjYW5hcnkiOiJzc28tY2FuYXJ5In0.c2lnbmF0dXJlLWNhbmFyeQ"


def _ctx(provider: str, host: str, timeout: float = 5, license_key: str | None = CANARY, server=None,
         client_secret: str | None = None, **fields):
    secrets = {f"sso.{provider}.client_secret": client_secret} if client_secret else {}
    sso, errors = validate_step("sso", {"provider": provider, provider: fields}, secrets)
    assert not errors, errors
    host_section, errors = validate_step("host", {"url": host})
    assert not errors, errors
    lic, errors = validate_step("license", {}, {"license.key": license_key} if license_key else {})
    assert not errors, errors
    srv, errors = validate_step("server", server or {})
    assert not errors, errors
    return CheckContext({"sso": sso, "host": host_section, "license": lic, "server": srv}, timeout=timeout)


async def _run(ctx) -> dict[str, object]:
    results = await collect(checks_for("sso"), ctx)
    for result in results:
        assert CANARY not in result.message and CANARY not in result.hint
        assert "sso-canary" not in result.message + result.hint
    by_id = {}
    for result in results:
        assert result.id not in by_id, f"two results with id {result.id}"
        by_id[result.id] = result
    return by_id


def _statuses(results) -> dict[str, Status]:
    return {key: r.status for key, r in results.items()}


# --- A hand-written HTTP stub for what the real provider cannot show ---------------------------------------------


class Stub:
    """A tiny HTTP/1.1 server on this machine's address: routes map a path to (status, headers, body) or "hang"."""

    def __init__(self, routes: dict, tls: ssl.SSLContext | None = None):
        self.routes, self.tls, self.tasks = routes, tls, set()

    async def __aenter__(self) -> "Stub":
        self.server = await asyncio.start_server(self._handle, machine_address(), 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = f"{'https' if self.tls else 'http'}://{machine_address()}:{self.port}"
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _handle(self, reader, writer) -> None:
        task = asyncio.current_task()
        self.tasks.add(task)
        try:
            request = await reader.readline()
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            target = request.split()[1].decode() if len(request.split()) > 1 else "/"
            route = self.routes.get(target.split("?")[0], (404, {"Content-Type": "text/plain"}, "not found"))
            if callable(route):
                route = route(target)
            if route == "hang":
                await asyncio.sleep(3600)
            status, headers, body = route
            body = body.encode() if isinstance(body, str) else body
            head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            writer.write(head.encode() + b"\r\n" + body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()
            self.tasks.discard(task)


def _json(doc) -> tuple:
    return 200, {"Content-Type": "application/json"}, json.dumps(doc)


def _real_document(provider) -> dict:
    with urllib.request.urlopen(f"{provider.issuer}/.well-known/openid-configuration", timeout=5) as answer:
        return json.load(answer)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind((machine_address(), 0))
        return s.getsockname()[1]


# --- Good configurations -------------------------------------------------------------------------------------------


async def test_implicit_client_with_form_post_passes_every_check(oidc_provider):
    results = await _run(_ctx("oidc", IMPLICIT_HOST, issuer=oidc_provider.issuer, client_id="wandb-implicit"))
    for key in ("sso.discovery", "sso.issuer", "sso.scopes", "sso.method", "sso.jwks", "sso.callback", "sso.license"):
        assert results[key].status is Status.PASS, (key, results[key].message)
    assert "implicit (id_token with form_post)" in results["sso.method"].message
    assert f"{IMPLICIT_HOST}/oidc/callback" in results["sso.callback"].message
    assert "/interaction/" in results["sso.callback"].message  # the provider's login page, seen in its redirect
    assert "LOCAL_RESTORE=true" in results["sso.callback"].hint
    assert results["sso.client"].status is Status.SKIPPED and "no secret" in results["sso.client"].message


async def test_pkce_client_passes_every_check(oidc_provider):
    results = await _run(_ctx("oidc", PKCE_HOST, issuer=oidc_provider.issuer, client_id="wandb-pkce",
                              auth_method="pkce"))
    for key in ("sso.discovery", "sso.issuer", "sso.scopes", "sso.method", "sso.jwks", "sso.callback", "sso.client"):
        assert results[key].status is Status.PASS, (key, results[key].message)
    assert "pkce (code with S256)" in results["sso.method"].message
    assert "1 signing key" in results["sso.jwks"].message


async def test_okta_section_is_checked_the_same_way(oidc_provider):
    results = await _run(_ctx("okta", PKCE_HOST, issuer=oidc_provider.issuer, client_id="wandb-pkce",
                              auth_method="pkce"))
    assert results["sso.callback"].status is Status.PASS, results["sso.callback"].message


# --- Client authentication: public or confidential (a code exchange with a made-up code) -----------------------


async def test_a_public_client_needs_no_secret(oidc_provider):
    results = await _run(_ctx("oidc", PKCE_HOST, issuer=oidc_provider.issuer, client_id="wandb-pkce",
                              auth_method="pkce"))
    client = results["sso.client"]
    assert client.status is Status.PASS and "is public" in client.message and "invalid_grant" in client.message


async def test_a_confidential_client_without_its_secret_fails(oidc_provider):
    results = await _run(_ctx("oidc", PKCE_HOST, issuer=oidc_provider.issuer, client_id="wandb-confidential",
                              auth_method="pkce"))
    client = results["sso.client"]
    assert client.status is Status.FAIL and "is confidential" in client.message
    assert "GORILLA_OIDC_SECRET" in client.hint


async def test_a_confidential_client_with_its_secret_passes_and_a_wrong_one_fails(oidc_provider):
    results = await _run(_ctx("okta", PKCE_HOST, issuer=oidc_provider.issuer, client_id="wandb-confidential",
                              auth_method="pkce", client_secret=CONFIDENTIAL_SECRET))
    client = results["sso.client"]
    assert client.status is Status.PASS and "accepts the client secret" in client.message, client
    assert CONFIDENTIAL_SECRET not in client.message + client.hint
    wrong = "canary-wrong-oidc-secret-2b2b"
    results = await _run(_ctx("oidc", PKCE_HOST, issuer=oidc_provider.issuer, client_id="wandb-confidential",
                              auth_method="pkce", client_secret=wrong))
    client = results["sso.client"]
    assert client.status is Status.FAIL and "refuses the client secret" in client.message
    assert wrong not in client.message + client.hint


async def test_sso_off_skips_without_network():
    sso, _ = validate_step("sso", {"provider": "none"})
    results = await collect(checks_for("sso"), CheckContext({"sso": sso}))
    assert {r.status for r in results} == {Status.SKIPPED}
    assert any("/admin/users" in r.message for r in results)


# --- Issuer ----------------------------------------------------------------------------------------------------------


async def test_issuer_with_a_trailing_slash_fails_and_says_which_differs(oidc_provider):
    results = await _run(_ctx("oidc", PKCE_HOST, issuer=oidc_provider.issuer + "/", client_id="wandb-pkce",
                              auth_method="pkce"))
    assert results["sso.discovery"].status is Status.PASS  # joined without a double slash
    issuer = results["sso.issuer"]
    assert issuer.status is Status.FAIL
    assert "the configured issuer ends with '/' and the provider's does not" in issuer.message
    assert issuer.hint == f"Set the issuer to exactly {oidc_provider.issuer}"


async def test_issuer_with_a_different_path_fails():
    provider = start(issuer_path="/realms/wandb")  # discovery served at the root, issuer names a path
    try:
        root = f"http://{machine_address()}:{provider.port}"
        results = await _run(_ctx("oidc", PKCE_HOST, issuer=root, client_id="wandb-pkce", auth_method="pkce"))
    finally:
        provider.stop()
    assert results["sso.issuer"].status is Status.FAIL
    assert "the path differs ('' here, '/realms/wandb' at the provider)" in results["sso.issuer"].message


# --- The issuer cannot be read ---------------------------------------------------------------------------------------


async def test_unreachable_issuer_is_a_refused_connection():
    port = _closed_port()
    results = await _run(_ctx("oidc", IMPLICIT_HOST, issuer=f"http://{machine_address()}:{port}", client_id="x"))
    discovery = results["sso.discovery"]
    assert discovery.status is Status.FAIL
    assert f"{machine_address()}:{port} refused the connection" in discovery.message
    assert "service is running" in discovery.hint
    assert results["sso.callback"].status is Status.SKIPPED


async def test_unresolvable_issuer_host_fails_on_dns():
    results = await _run(_ctx("oidc", IMPLICIT_HOST, issuer="https://idp.no-such-name.invalid", client_id="x"))
    assert results["sso.discovery"].status is Status.FAIL
    assert "'idp.no-such-name.invalid' does not resolve" in results["sso.discovery"].message


async def test_hanging_issuer_stub_errors_within_the_timeout_bound():
    timeout = 1.5
    async with Stub({"/.well-known/openid-configuration": "hang"}) as stub:
        started = time.monotonic()
        results = await _run(_ctx("oidc", IMPLICIT_HOST, timeout=timeout, issuer=stub.url, client_id="x"))
        elapsed = time.monotonic() - started
    assert elapsed < timeout + 1, elapsed
    assert results["sso.discovery"].status is Status.FAIL
    assert "did not answer within" in results["sso.discovery"].message


async def test_issuer_stub_answering_html_says_the_url_is_probably_a_login_page():
    page = (200, {"Content-Type": "text/html"}, "<!DOCTYPE html><html><body><form>Sign in</form></body></html>")
    async with Stub({"/.well-known/openid-configuration": page}) as stub:
        results = await _run(_ctx("oidc", IMPLICIT_HOST, issuer=stub.url, client_id="x"))
    assert results["sso.discovery"].status is Status.FAIL
    assert "answered with an HTML page, not the discovery JSON: the issuer URL is probably wrong (e.g. a login " \
           "page)" in results["sso.discovery"].message


async def test_issuer_stub_answering_404_and_garbage():
    async with Stub({}) as stub:
        results = await _run(_ctx("oidc", IMPLICIT_HOST, issuer=stub.url + "/wrong", client_id="x"))
    assert "404 Not Found" in results["sso.discovery"].message
    big = (200, {"Content-Type": "application/json"}, b"x" * 5_000_000)
    async with Stub({"/.well-known/openid-configuration": big}) as stub:
        started = time.monotonic()
        results = await _run(_ctx("oidc", IMPLICIT_HOST, issuer=stub.url, client_id="x"))
    assert "that is not a discovery document" in results["sso.discovery"].message
    assert time.monotonic() - started < 3


# --- The login request -----------------------------------------------------------------------------------------------


async def test_callback_not_registered_names_the_url_to_add(oidc_provider):
    results = await _run(_ctx("oidc", "https://other.test", issuer=oidc_provider.issuer, client_id="wandb-implicit"))
    callback = results["sso.callback"]
    assert callback.status is Status.FAIL
    assert "does not allow the callback https://other.test/oidc/callback" in callback.message
    assert "invalid_redirect_uri" in callback.message  # the provider's own words, literally
    assert "add the allowed callback (redirect) URL https://other.test/oidc/callback" in callback.hint
    assert "LOCAL_RESTORE=true" in callback.hint


async def test_okta_callback_not_registered_also_names_the_sign_out_redirect(oidc_provider):
    results = await _run(_ctx("okta", "https://other.test", issuer=oidc_provider.issuer, client_id="wandb-pkce",
                              auth_method="pkce"))
    hint = results["sso.callback"].hint
    assert results["sso.callback"].status is Status.FAIL
    assert "Sign-in redirect URI https://other.test/oidc/callback" in hint
    assert "Sign-out redirect URI https://other.test/logout" in hint


async def test_unknown_client_id(oidc_provider):
    results = await _run(_ctx("oidc", IMPLICIT_HOST, issuer=oidc_provider.issuer, client_id="no-such-client"))
    callback = results["sso.callback"]
    assert callback.status is Status.FAIL
    assert "does not know the client ID no-such-client" in callback.message
    assert "invalid_client" in callback.message


async def test_client_registered_for_the_other_flow_is_refused(oidc_provider):
    results = await _run(_ctx("oidc", PKCE_HOST, issuer=oidc_provider.issuer, client_id="wandb-pkce",
                              auth_method="implicit"))
    assert results["sso.method"].status is Status.PASS  # the provider supports it, this client does not
    callback = results["sso.callback"]
    assert callback.status is Status.FAIL
    assert "refuses the implicit flow for client wandb-pkce" in callback.message
    assert "requested response_type is not allowed for this client" in callback.message


async def test_provider_without_implicit_fails_the_method(oidc_provider_code_only):
    results = await _run(_ctx("oidc", IMPLICIT_HOST, issuer=oidc_provider_code_only.issuer,
                              client_id="wandb-implicit"))
    method = results["sso.method"]
    assert method.status is Status.FAIL
    assert "lacks response type 'id_token'" in method.message
    assert "pkce" in method.hint
    assert results["sso.callback"].status is Status.FAIL  # the provider itself refuses response_type=id_token


async def test_stub_document_without_pkce_s256_fails_the_method(oidc_provider):
    doc = _real_document(oidc_provider)
    doc["code_challenge_methods_supported"] = ["plain"]
    async with Stub({}) as stub:
        doc["issuer"] = stub.url
        stub.routes["/.well-known/openid-configuration"] = _json(doc)
        results = await _run(_ctx("oidc", PKCE_HOST, issuer=stub.url, client_id="wandb-pkce", auth_method="pkce"))
    assert results["sso.issuer"].status is Status.PASS
    assert results["sso.method"].status is Status.FAIL
    assert "lacks PKCE method 'S256' (it lists: plain)" in results["sso.method"].message


async def test_stub_document_without_scopes_and_keys(oidc_provider):
    doc = _real_document(oidc_provider)
    doc["scopes_supported"] = ["openid"]
    async with Stub({"/jwks": _json({"keys": []})}) as stub:
        doc.update(issuer=stub.url, jwks_uri=stub.url + "/jwks")
        stub.routes["/.well-known/openid-configuration"] = _json(doc)
        results = await _run(_ctx("oidc", PKCE_HOST, issuer=stub.url, client_id="wandb-pkce", auth_method="pkce"))
    assert results["sso.scopes"].status is Status.FAIL
    assert "scope(s) profile, email" in results["sso.scopes"].message
    assert results["sso.jwks"].status is Status.FAIL and "is empty" in results["sso.jwks"].message


# --- Cognito ---------------------------------------------------------------------------------------------------------


async def test_cognito_domain_pasted_as_generic_issuer_explains_the_right_url():
    started = time.monotonic()
    results = await _run(_ctx("oidc", IMPLICIT_HOST, issuer="https://acme-wandb.auth.eu-west-1.amazoncognito.com",
                              client_id="x", auth_method="pkce"))
    assert time.monotonic() - started < 1  # recognised from the name alone, no request
    discovery = results["sso.discovery"]
    assert discovery.status is Status.FAIL
    assert "is a Cognito domain" in discovery.message
    assert "https://cognito-idp.eu-west-1.amazonaws.com/<user-pool-id>" in discovery.hint
    assert results["sso.callback"].status is Status.SKIPPED


async def test_stub_cognito_custom_domain_is_recognised_by_its_hosted_ui():
    hosted_ui = (302, {"Location": "/error?error=unauthorized_client"}, "")
    async with Stub({"/oauth2/authorize": hosted_ui}) as stub:
        results = await _run(_ctx("oidc", IMPLICIT_HOST, issuer=stub.url, client_id="x", auth_method="pkce"))
    assert results["sso.discovery"].status is Status.FAIL
    assert "Amazon Cognito hosted UI" in results["sso.discovery"].hint
    assert "https://cognito-idp.<region>.amazonaws.com/<user-pool-id>" in results["sso.discovery"].hint


async def test_stub_cognito_document_with_implicit_fails():
    # The shape of a Cognito user pool's discovery document (issuer moved to the stub so only the method differs).
    async with Stub({}) as stub:
        doc = {"issuer": stub.url, "authorization_endpoint": "https://acme.auth.us-east-1.amazoncognito.com/oauth2/authorize",
               "jwks_uri": stub.url + "/jwks", "response_types_supported": ["code", "token"],
               "scopes_supported": ["openid", "email", "phone", "profile"], "subject_types_supported": ["public"]}
        stub.routes.update({"/.well-known/openid-configuration": _json(doc), "/jwks": _json({"keys": [{"kid": "k1"}]})})
        ctx = _ctx("oidc", IMPLICIT_HOST, issuer=stub.url, client_id="x", auth_method="implicit")
        results = {r.id: r for r in await collect([c for c in checks_for("sso") if c.id == "sso.provider"], ctx)}
        assert results["sso.method"].status is Status.FAIL
        assert "Cognito requires the pkce auth method" in results["sso.method"].message
        ctx = _ctx("oidc", IMPLICIT_HOST, issuer=stub.url, client_id="x", auth_method="pkce")
        results = {r.id: r for r in await collect([c for c in checks_for("sso") if c.id == "sso.provider"], ctx)}
        assert results["sso.method"].status is Status.PASS  # Cognito does PKCE without listing S256


# --- TLS -------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A private CA and a certificate for this machine's address signed by it (openssl)."""
    if shutil.which("openssl") is None:
        unavailable("openssl", "apt install openssl (it makes the test CA)")
    d = tmp_path_factory.mktemp("tls")
    run = lambda *args: subprocess.run(args, cwd=d, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=Test CA")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text(f"subjectAltName=IP:127.0.0.1,IP:{machine_address()}\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    return d / "ca.pem", d / "server.pem", d / "server.key"


async def test_stub_tls_with_private_ca_fails_then_passes_with_the_ca_file(tls_files):
    ca, cert, key = tls_files
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    async with Stub({}, tls=server_tls) as stub:
        doc = {"issuer": stub.url, "authorization_endpoint": stub.url + "/auth", "jwks_uri": stub.url + "/jwks",
               "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"]}
        stub.routes.update({"/.well-known/openid-configuration": _json(doc), "/jwks": _json({"keys": [{"kid": "a"}]})})
        ctx = _ctx("oidc", PKCE_HOST, issuer=stub.url, client_id="x", auth_method="pkce")
        untrusted = await _run(ctx)
        ctx.ca_file = str(ca)
        trusted = await _run(ctx)
        ctx.ca_file, ctx.insecure = None, True
        insecure = await _run(ctx)
    assert untrusted["sso.discovery"].status is Status.FAIL
    assert "TLS certificate this machine does not trust" in untrusted["sso.discovery"].message
    assert "CA file" in untrusted["sso.discovery"].hint
    assert trusted["sso.discovery"].status is Status.PASS and trusted["sso.jwks"].status is Status.PASS
    assert insecure["sso.tls"].status is Status.WARN
    assert "verification is turned off" in insecure["sso.tls"].message


# --- Prerequisites ---------------------------------------------------------------------------------------------------


async def test_sso_without_a_license_and_with_restore_mode_warns(oidc_provider):
    ctx = _ctx("oidc", PKCE_HOST, license_key=None, server={"local_restore": True}, issuer=oidc_provider.issuer,
               client_id="wandb-pkce", auth_method="pkce")
    results = await collect([c for c in checks_for("sso") if c.id == "sso.license"], ctx)
    messages = " ".join(r.message for r in results)
    assert [r.status for r in results] == [Status.WARN, Status.WARN]
    assert "LOCAL_RESTORE=true" in messages and "SSO needs a licensed server" in messages


async def test_unusable_ca_file_is_reported_before_any_request(oidc_provider, tmp_path):
    ctx = _ctx("oidc", PKCE_HOST, issuer=oidc_provider.issuer, client_id="wandb-pkce", auth_method="pkce")
    ctx.ca_file = str(tmp_path / "missing-ca.pem")
    results = await _run(ctx)
    assert results["sso.discovery"].status is Status.ERROR
    assert "missing-ca.pem cannot be used" in results["sso.discovery"].message
    assert results["sso.callback"].status is Status.ERROR


@pytest.mark.parametrize("style", ["basic", "post"])
async def test_the_code_exchange_authenticates_the_client_both_ways(oidc_provider, style):
    """HTTP Basic (tried first) and client_secret_post each carry the secret: a good one passes authentication
    (the made-up code is then refused as invalid_grant), a wrong one does not (invalid_client)."""
    from wizard.checks import net
    from wizard.checks import sso as sso_checks

    ctx = _ctx("oidc", PKCE_HOST, issuer=oidc_provider.issuer, client_id="wandb-confidential", auth_method="pkce")
    settings = sso_checks._settings(ctx)
    async with net.client(ctx) as http:
        endpoint = _real_document(oidc_provider)["token_endpoint"]
        good = await sso_checks._exchange(http, endpoint, settings, net.Deadline(5), CONFIDENTIAL_SECRET, style)
        wrong = await sso_checks._exchange(http, endpoint, settings, net.Deadline(5), "canary-wrong-9c9c", style)
    assert (good, wrong) == ("invalid_grant", "invalid_client")
