"""Checks of the SSO step, against the identity provider itself.

sso.provider: the discovery document answers at $OIDC_ISSUER/.well-known/openid-configuration, names exactly the
configured issuer, offers the scopes and the auth method W&B uses, and its JWKS has keys.
sso.callback: the provider accepts W&B's own login request for the configured client and HOST/oidc/callback
(sent without following the redirect: nobody logs in).
sso.license: what else SSO depends on (a license; LOCAL_RESTORE off).
"""

from __future__ import annotations

import dataclasses
import json
import time

from wizard.checks import net
from wizard.checks import oidc_probe as op
from wizard.checks.container_view import Unreachable, route
from wizard.checks.engine import CheckContext, CheckResult, Status, register
from wizard.checks.net import NetError, truncate

P_ID, P_TITLE = "sso.provider", "Identity provider"
C_ID, C_TITLE = "sso.callback", "Login request accepted"
L_ID, L_TITLE = "sso.license", "SSO prerequisites"
A_ID, A_TITLE = "sso.client", "Client authentication"
PROBE_CODE = "wandb-local-setup-probe-not-a-real-code"  # refused by every provider: nobody logs in


def _settings(ctx: CheckContext) -> op.SSOSettings | None:
    return op.settings_from(ctx.section("sso"), ctx.section("host"))


def _result(check_id: str, status: Status, message: str, hint: str = "") -> CheckResult:
    titles = {"sso.discovery": "Discovery document", "sso.issuer": "Issuer matches", "sso.scopes": "Scopes",
              "sso.method": "Auth method supported", "sso.jwks": "Signing keys", P_ID: P_TITLE, C_ID: C_TITLE,
              L_ID: L_TITLE, A_ID: A_TITLE, "sso.tls": "TLS verification"}
    return CheckResult(check_id, titles[check_id], status, message, hint)


async def _discovery(http, settings: op.SSOSettings, deadline: net.Deadline) -> tuple[dict | None, CheckResult]:
    """The document, or None and a result saying precisely why it could not be read."""
    region = op.cognito_domain_region(settings.issuer)
    if region:
        return None, _result(
            "sso.discovery", Status.FAIL,
            f"{settings.issuer} is a Cognito domain (the hosted sign-in pages), not the OIDC issuer: W&B cannot "
            "use it.", op.cognito_issuer_hint(region))
    url = op.discovery_url(settings.issuer)
    started = time.monotonic()
    try:
        reply = await net.fetch(http, url, timeout=deadline.left())
        doc = op.parse_discovery(reply)
    except NetError as exc:
        return None, _result("sso.discovery", Status.FAIL, f"Cannot read {url}: {exc.message}", exc.hint)
    except op.DiscoveryProblem as problem:
        hint = problem.hint
        if await _cognito_behind(http, settings.issuer, deadline):
            hint = ("This address answers like an Amazon Cognito hosted UI (custom domain), which is not the issuer. "
                    + op.cognito_issuer_hint(None))
        return None, _result("sso.discovery", Status.FAIL, problem.message, hint)
    elapsed = (time.monotonic() - started) * 1000
    return doc, _result("sso.discovery", Status.PASS, f"The discovery document answers at {url} ({elapsed:.0f} ms).")


async def _cognito_behind(http, issuer: str, deadline: net.Deadline) -> bool:
    """A custom domain of a Cognito hosted UI has no discovery document but an /oauth2/authorize page."""
    try:
        reply = await net.fetch(http, issuer.rstrip("/") + "/oauth2/authorize", timeout=deadline.left(), limit=20_000)
    except NetError:
        return False
    return op.looks_like_cognito_authorize(reply)


def _document_results(doc: dict, settings: op.SSOSettings) -> list[CheckResult]:
    results = []
    published = doc.get("issuer")
    difference = op.issuer_difference(settings.issuer, str(published)) if isinstance(published, str) else "missing"
    if difference is None:
        results.append(_result("sso.issuer", Status.PASS, f"The provider names exactly this issuer: {settings.issuer}"))
    elif difference == "missing":
        results.append(_result("sso.issuer", Status.FAIL, "The discovery document has no 'issuer' field.",
                               "This is not a standard OIDC provider document: check the issuer URL."))
    else:
        results.append(_result(
            "sso.issuer", Status.FAIL,
            f"The provider's issuer is '{truncate(str(published), 200)}' but the configured one is "
            f"'{settings.issuer}': {difference}. W&B compares them exactly and login would fail.",
            f"Set the issuer to exactly {truncate(str(published), 200)}"))
    scopes = doc.get("scopes_supported")
    if isinstance(scopes, list):
        missing = [scope for scope in op.SCOPES if scope not in scopes]
        if missing:
            results.append(_result("sso.scopes", Status.FAIL,
                                   f"The provider does not offer the scope(s) {', '.join(missing)}; W&B asks for "
                                   "openid, profile and email.",
                                   "Allow these scopes for the W&B client in the provider's console."))
        else:
            results.append(_result("sso.scopes", Status.PASS, "The provider offers the scopes openid, profile and email."))
    else:
        results.append(_result("sso.scopes", Status.SKIPPED,
                               "The provider does not publish scopes_supported; the login request below asks for "
                               "openid, profile and email."))
    results.append(_method_result(doc, settings))
    return results


def _method_result(doc: dict, settings: op.SSOSettings) -> CheckResult:
    method = settings.auth_method
    label = "implicit (id_token with form_post)" if method == "implicit" else "pkce (code with S256)"
    cognito = op.is_cognito_document(doc) or settings.requires_pkce
    if cognito and method != "pkce":
        return _result("sso.method", Status.FAIL, "This is an Amazon Cognito user pool and Cognito requires the "
                       "pkce auth method; implicit (id_token with form_post) does not work with it.",
                       "Choose the auth method pkce, and enable the authorization code grant for the app client.")
    missing, unstated = op.method_findings(doc, method)
    if missing:
        other = "pkce" if method == "implicit" else "implicit"
        return _result("sso.method", Status.FAIL,
                       f"The provider does not support the {label} flow: it lacks {'; '.join(missing)}.",
                       f"Choose the auth method {other} if the provider supports it, or enable this flow at the "
                       "provider.")
    if unstated and not cognito:
        return _result("sso.method", Status.WARN,
                       f"The provider does not state {', '.join(unstated)}, so support for {label} cannot be "
                       "confirmed from its document.", "The login request check below tests it directly.")
    return _result("sso.method", Status.PASS, f"The provider supports the {label} flow W&B uses.")


async def _jwks_result(http, doc: dict, deadline: net.Deadline) -> CheckResult:
    url = doc.get("jwks_uri")
    if not isinstance(url, str) or not url:
        return _result("sso.jwks", Status.FAIL, "The discovery document names no jwks_uri: W&B cannot verify "
                       "sign-ins without the provider's signing keys.", "Check the issuer URL and the provider.")
    try:
        reply = await net.fetch(http, url, timeout=deadline.left())
    except NetError as exc:
        return _result("sso.jwks", Status.FAIL, f"Cannot read the signing keys at {truncate(url, 200)}: {exc.message}",
                       exc.hint)
    keys = None
    if reply.status == 200 and not reply.truncated:
        try:
            keys = json.loads(reply.text).get("keys")
        except (ValueError, AttributeError):
            keys = None
    if reply.status != 200 or not isinstance(keys, list):
        return _result("sso.jwks", Status.FAIL, f"{truncate(url, 200)} answered {reply.status} without a key set "
                       "(a JSON object with 'keys').", "Check the provider: its jwks_uri must serve its public keys.")
    if not keys:
        return _result("sso.jwks", Status.FAIL, f"The key set at {truncate(url, 200)} is empty: sign-ins cannot be "
                       "verified.", "Create or activate a signing key at the provider.")
    kids = ", ".join(truncate(str(k.get("kid", "?")), 40) for k in keys[:5] if isinstance(k, dict))
    return _result("sso.jwks", Status.PASS, f"The provider publishes {len(keys)} signing key(s) ({kids}).")


@register("sso", P_ID, P_TITLE)
async def check_provider(ctx: CheckContext):
    settings = _settings(ctx)
    if settings is None:
        yield _result(P_ID, Status.SKIPPED, "SSO is off: users sign in with W&B accounts managed in /admin/users.")
        return
    try:  # the server fetches the issuer's documents and the users' browsers sign in there
        await route(ctx, "sso", "OIDC_ISSUER", "sso.discovery", "Discovery document")
    except Unreachable as problem:
        yield problem.result
        return
    if ctx.insecure:
        yield net.insecure_warning("sso.tls", "TLS verification")
    deadline = net.Deadline(ctx.timeout)
    try:
        http = net.client(ctx)
    except NetError as exc:
        yield _result("sso.discovery", Status.ERROR, exc.message, exc.hint)
        return
    async with http:
        doc, result = await _discovery(http, settings, deadline)
        yield result
        if doc is None:
            return
        for result in _document_results(doc, settings):
            yield result
        yield await _jwks_result(http, doc, deadline)


def _callback_result(outcome: op.AuthOutcome, settings: op.SSOSettings, endpoint: str) -> CheckResult:
    callback = op.callback_url(settings.host or "")
    said = f" The provider said: {outcome.error}" + (f" ({outcome.description})" if outcome.description else "") + "." \
        if outcome.error else (f" The provider said: {outcome.description}." if outcome.description else "")
    todo = settings.console
    if outcome.kind == "accepted":
        return _result(C_ID, Status.PASS,
                       f"The provider accepts W&B's login request for client {settings.client_id} with the callback "
                       f"{callback} (it continues to {outcome.where}).", op.RECOVERY)
    if outcome.kind == "callback":
        return _result(C_ID, Status.FAIL, f"The provider does not allow the callback {callback} for client "
                       f"{settings.client_id}.{said}", todo + " " + op.RECOVERY)
    if outcome.kind == "client":
        return _result(C_ID, Status.FAIL, f"The provider does not know the client ID {settings.client_id}.{said}",
                       "Copy the client ID again from the provider's console (the application's client ID, not its "
                       "name or secret). " + todo)
    if outcome.kind == "method":
        grant = ("the implicit grant with ID tokens (Okta: Implicit (hybrid), 'Allow ID Token')"
                 if settings.auth_method == "implicit" else "the authorization code grant with PKCE, as a public client")
        return _result(C_ID, Status.FAIL, f"The provider refuses the {settings.auth_method} flow for client "
                       f"{settings.client_id}.{said}", f"Enable {grant} for this client, or choose the other auth method.")
    if outcome.kind == "scope":
        return _result(C_ID, Status.FAIL, f"The provider refuses the scopes openid, profile, email.{said}",
                       "Allow these scopes for the W&B client in the provider's console.")
    if outcome.kind == "error":
        return _result(C_ID, Status.FAIL, f"The provider rejects W&B's login request.{said}",
                       f"Check the client's settings in the provider's console. {todo}")
    return _result(C_ID, Status.WARN, f"The answer of {truncate(endpoint, 120)} could not be read as accepted or "
                   f"rejected.{said}", f"Try signing in once the server runs. {todo} {op.RECOVERY}")


class _NotChecked(Exception):
    def __init__(self, result: CheckResult):
        self.result = result


def _flow_settings(ctx: CheckContext, check_id: str) -> op.SSOSettings:
    """The settings of a check that plays part of W&B's sign-in (it needs SSO on and the callback URL)."""
    settings = _settings(ctx)
    if settings is None:
        raise _NotChecked(_result(check_id, Status.SKIPPED, "SSO is off."))
    if settings.host is None:
        raise _NotChecked(_result(check_id, Status.SKIPPED, "The server URL is needed for the callback: complete "
                                  "the Host step first."))
    if op.cognito_domain_region(settings.issuer):
        raise _NotChecked(_result(check_id, Status.SKIPPED, "Needs the issuer's discovery document (see "
                                  "'Discovery document')."))
    return settings


def _open(ctx: CheckContext, check_id: str):
    try:
        return net.client(ctx)
    except NetError as exc:
        raise _NotChecked(_result(check_id, Status.ERROR, exc.message, exc.hint)) from None


async def _document(http, settings: op.SSOSettings, deadline: net.Deadline, check_id: str) -> dict:
    try:
        return op.parse_discovery(await net.fetch(http, op.discovery_url(settings.issuer), timeout=deadline.left()))
    except (NetError, op.DiscoveryProblem):
        raise _NotChecked(_result(check_id, Status.SKIPPED, "Needs the issuer's discovery document, which could "
                                  "not be read (see 'Discovery document').")) from None


def _skips_reported(body):
    """A check whose body may stop with _NotChecked: that result is its last."""
    async def check(ctx: CheckContext):
        try:
            async for result in body(ctx):
                yield result
        except _NotChecked as skipped:
            yield skipped.result

    check.__name__ = check.__qualname__ = body.__name__.lstrip("_")
    return check


async def _callback(ctx: CheckContext):
    settings = _flow_settings(ctx, C_ID)
    deadline = net.Deadline(ctx.timeout)
    async with _open(ctx, C_ID) as http:
        doc = await _document(http, settings, deadline, C_ID)
        endpoint = doc.get("authorization_endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            yield _result(C_ID, Status.FAIL, "The discovery document names no authorization_endpoint: browsers "
                          "would have nowhere to sign in.", "Check the issuer URL and the provider.")
            return
        params = op.authorization_params(settings)
        try:
            reply = await net.fetch(http, endpoint, params=params, timeout=deadline.left(), limit=200_000)
        except NetError as exc:
            yield _result(C_ID, Status.FAIL, f"Cannot reach the sign-in page {truncate(endpoint, 200)}: {exc.message}",
                          exc.hint)
            return
        yield _callback_result(op.classify_authorization(reply, params["redirect_uri"]), settings, endpoint)


def _token_error(reply: net.Reply) -> str:
    """The OAuth error code of a token endpoint's answer ('' when it is not one)."""
    try:
        data = json.loads(reply.text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return data["error"]
    return "invalid_client" if reply.status == 401 else ""


async def _exchange(http, endpoint: str, settings: op.SSOSettings, deadline: net.Deadline,
                    secret: str | None, style: str = "basic") -> str:
    """What the token endpoint says to W&B's code exchange with a made-up code (the error code)."""
    form = {"grant_type": "authorization_code", "code": PROBE_CODE,
            "redirect_uri": op.callback_url(settings.host or ""), "client_id": settings.client_id}
    if settings.auth_method == "pkce":
        form["code_verifier"] = "wandb-local-setup-probe-verifier-0123456789abcdef"
    auth = None
    if secret is not None and style == "basic":
        auth = (settings.client_id, secret)
    elif secret is not None:
        form["client_secret"] = secret
    reply = await net.fetch(http, endpoint, form=form, auth=auth, timeout=deadline.left(), limit=20_000)
    return _token_error(reply)


def _client_result(settings: op.SSOSettings, secret: str | None, error: str) -> CheckResult:
    client = settings.client_id
    said = f" (the provider answered {truncate(error, 60)})" if error else ""
    if error in ("invalid_grant", "invalid_request") and secret is None:
        return _result(A_ID, Status.PASS, f"Client {client} is public: the provider takes W&B's code exchange "
                       f"without a secret{said}, so none is needed.")
    if error in ("invalid_grant", "invalid_request"):
        return _result(A_ID, Status.PASS, f"The provider accepts the client secret of {client}: it authenticated "
                       f"the client, then refused the made-up code{said}. The server gets it as GORILLA_OIDC_SECRET.")
    if error in ("invalid_client", "unauthorized_client") and secret is None:
        return _result(A_ID, Status.FAIL, f"Client {client} is confidential: the provider refuses W&B's code "
                       f"exchange without a client secret{said}, so nobody could sign in.",
                       "Enter the client secret (SSO › Client secret; the server gets it as GORILLA_OIDC_SECRET), "
                       "or make the client public (Okta: a Single-Page App; Azure AD: the SPA platform).")
    if error in ("invalid_client", "unauthorized_client"):
        return _result(A_ID, Status.FAIL, f"The provider refuses the client secret of {client}{said}.",
                       "Copy the secret's value again (not its ID); for a public client, clear the secret.")
    return _result(A_ID, Status.WARN, f"The token endpoint's answer to a test exchange could not be read{said}.",
                   "Sign in once the server runs to be sure the client's authentication is right.")


async def _client_auth(ctx: CheckContext):
    """Public or confidential client: W&B's code exchange, tried with a made-up code (no one logs in)."""
    settings = _flow_settings(ctx, A_ID)
    configured = getattr(ctx.section("sso"), "client_secret", None)
    secret = configured.get_secret_value() if configured is not None else None
    if settings.auth_method == "implicit" and secret is None:
        yield _result(A_ID, Status.SKIPPED, "The implicit flow returns the ID token to the browser: W&B exchanges "
                      "no code, so the client needs no secret.")
        return
    deadline = net.Deadline(ctx.timeout)
    async with _open(ctx, A_ID) as http:
        doc = await _document(http, settings, deadline, A_ID)
        endpoint = doc.get("token_endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            yield _result(A_ID, Status.SKIPPED if settings.auth_method == "implicit" else Status.FAIL,
                          "The discovery document names no token_endpoint.",
                          "" if settings.auth_method == "implicit" else "The pkce method needs one: check the issuer.")
            return
        try:
            error = await _exchange(http, endpoint, settings, deadline, secret)
            if secret is not None and error in ("invalid_client", "unauthorized_client"):
                error = await _exchange(http, endpoint, settings, deadline, secret, "post")  # client_secret_post
        except NetError as exc:
            yield _result(A_ID, Status.FAIL, f"Cannot reach the token endpoint {truncate(endpoint, 200)}: "
                          f"{exc.message}", exc.hint)
            return
    result = _client_result(settings, secret, error)
    yield result if secret is None else dataclasses.replace(result, message=result.message.replace(secret, "****"),
                                                            hint=result.hint.replace(secret, "****"))


check_callback = register("sso", C_ID, C_TITLE)(_skips_reported(_callback))
check_client_auth = register("sso", A_ID, A_TITLE)(_skips_reported(_client_auth))


@register("sso", L_ID, L_TITLE)
async def check_prerequisites(ctx: CheckContext):
    settings, server, license_cfg = _settings(ctx), ctx.section("server"), ctx.section("license")
    if settings is None:
        yield _result(L_ID, Status.SKIPPED, "SSO is off.")
        return
    if server is not None and server.local_restore:
        yield _result(L_ID, Status.WARN, "Restore mode (LOCAL_RESTORE=true) is on: it disables SSO and prints a "
                      "temporary admin password in the logs.",
                      "Turn Restore mode off in Server options once you can sign in again, to enable SSO.")
    if license_cfg is not None and license_cfg.key is None:
        yield _result(L_ID, Status.WARN, "No license is set, and SSO needs a licensed server: without one, users "
                      "cannot sign in with SSO.", "Add the license W&B sent you in the License step.")
    elif license_cfg is None:
        yield _result(L_ID, Status.SKIPPED, "SSO needs a licensed server: the License step is not complete yet.")
    elif server is None or not server.local_restore:
        yield _result(L_ID, Status.PASS, "A license is set (SSO needs one) and Restore mode is off.", op.RECOVERY)
