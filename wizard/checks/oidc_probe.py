"""Pure OIDC logic behind the SSO checks: URLs W&B uses, reading a discovery document, and telling apart what an
identity provider's authorization endpoint answered (accepted, callback not allowed, unknown client, ...).

No network here: wizard.checks.sso does the requests and turns these findings into results.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from wizard.checks.net import Reply, truncate

SCOPES = ("openid", "profile", "email")
_COGNITO_DOMAIN = re.compile(r"^[^.]+\.auth(-fips)?\.([a-z]{2}(-gov)?-[a-z]+-\d{1,2})\.amazoncognito\.com$", re.I)
_COGNITO_ISSUER = re.compile(r"^https://cognito-idp(-fips)?\.([a-z0-9-]+)\.amazonaws\.com/[^/]+/?$")


@dataclass(frozen=True)
class SSOSettings:
    provider: str  # cognito, okta, oidc
    issuer: str
    client_id: str
    auth_method: str  # implicit or pkce
    host: str | None  # the W&B server URL (HOST), None when the Host step is not valid yet
    console: str = ""  # what to add in the provider's console (the provider's own words), with the exact URLs
    requires_pkce: bool = False  # the provider offers W&B only the code flow with PKCE (Cognito)


def settings_from(section: Any, host: Any) -> SSOSettings | None:
    """The OIDC settings of an SSO provider's section (its model is an `wizard.providers.openid.OidcSection`);
    None when SSO is off or not valid yet."""
    from wizard.providers.base import provider_of

    provider = provider_of(section)
    if provider is None or provider.in_container:
        return None
    url = host.url.rstrip("/") if host is not None else None
    return SSOSettings(section.provider, section.issuer, section.client_id, section.auth_method, url,
                       section.console_steps(url or "https://YOUR-W&B-HOST"), section.REQUIRES_PKCE)


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def callback_url(host: str) -> str:
    return host.rstrip("/") + "/oidc/callback"


RECOVERY = ("If SSO ever locks you out: restart the server with LOCAL_RESTORE=true (Server options › Restore mode), "
            "read the temporary admin password in the container logs, fix SSO, then remove LOCAL_RESTORE again.")


# --- Cognito ---------------------------------------------------------------------------------------------------


def cognito_domain_region(url: str) -> str | None:
    """The region when `url` is on a Cognito hosted-UI domain (<prefix>.auth.<region>.amazoncognito.com)."""
    match = _COGNITO_DOMAIN.match(urlsplit(url).hostname or "")
    return match.group(2) if match else None


def is_cognito_issuer(url: str) -> bool:
    return bool(_COGNITO_ISSUER.match(url))


def is_cognito_document(doc: dict[str, Any]) -> bool:
    endpoint = str(doc.get("authorization_endpoint", ""))
    return is_cognito_issuer(str(doc.get("issuer", ""))) or (urlsplit(endpoint).hostname or "").endswith(
        ".amazoncognito.com")


def cognito_issuer_hint(region: str | None) -> str:
    example = f"{region or 'us-east-1'}_AbC123xyz"
    return (f"Use the user pool's issuer https://cognito-idp.{region or '<region>'}.amazonaws.com/<user-pool-id> "
            f"(the pool ID is on User pools › your pool › Overview, e.g. {example}), or choose the Amazon Cognito "
            "provider and enter the pool ID.")


def looks_like_cognito_authorize(reply: Reply) -> bool:
    """A Cognito hosted UI answers /oauth2/authorize by redirecting to its own /login or /error pages."""
    if any(name.lower().startswith("x-amz-cognito") for name in reply.headers):
        return True
    path = urlsplit(urljoin(reply.url, reply.location)).path if reply.location else ""
    return reply.status in (302, 303) and path in ("/login", "/error")


# --- Discovery -------------------------------------------------------------------------------------------------


class DiscoveryProblem(ValueError):
    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message, self.hint = message, hint


def parse_discovery(reply: Reply) -> dict[str, Any]:
    """The discovery document of an answer, or DiscoveryProblem saying precisely what came back instead."""
    url = reply.url
    if reply.status in (301, 302, 303, 307, 308):
        raise DiscoveryProblem(
            f"{url} redirects to {truncate(reply.location, 200)} instead of answering with the discovery document.",
            "The issuer URL is probably not the issuer: open the redirect target and use the 'issuer' value of "
            "the document you find there.")
    if reply.status == 404:
        raise DiscoveryProblem(f"There is no discovery document at {url} (404 Not Found).",
                               "The issuer URL is probably wrong: it is the URL the document's 'issuer' names, "
                               "without /.well-known/openid-configuration.")
    if reply.status in (401, 403):
        raise DiscoveryProblem(f"{url} refused access ({reply.status}): discovery documents are public.",
                               "The issuer URL is probably wrong, or a proxy or firewall blocks this machine.")
    if reply.status != 200:
        raise DiscoveryProblem(f"{url} answered {reply.status} instead of the discovery document: "
                               f"{truncate(_page_text(reply.text), 200)}",
                               "Check the issuer URL; if it is right, the provider has a problem: try again later.")
    if reply.truncated:
        raise DiscoveryProblem(f"{url} answered with more than {len(reply.body) // 1000} kB: that is not a discovery "
                               "document.", "Check the issuer URL.")
    text = reply.text.lstrip()
    if reply.content_type in ("text/html", "application/xhtml+xml") or text[:1] == "<":
        raise DiscoveryProblem(
            f"{url} answered with an HTML page, not the discovery JSON: the issuer URL is probably wrong "
            "(e.g. a login page).",
            "Use the issuer URL of the identity provider (its discovery document names it as 'issuer').")
    try:
        doc = json.loads(text)
    except ValueError:
        raise DiscoveryProblem(f"{url} did not answer with JSON: {truncate(text, 120)}",
                               "Check the issuer URL: the discovery document is a JSON object.") from None
    if not isinstance(doc, dict):
        raise DiscoveryProblem(f"{url} answered with JSON that is not a discovery document.", "Check the issuer URL.")
    return doc


def issuer_difference(configured: str, published: str) -> str | None:
    """None when equal; else how they differ, in words."""
    if configured == published:
        return None
    if configured.rstrip("/") == published.rstrip("/"):
        if configured.endswith("/"):
            return "the configured issuer ends with '/' and the provider's does not"
        return "the provider's issuer ends with '/' and the configured one does not"
    if configured.lower() == published.lower():
        return "they differ in upper/lower case"
    mine, theirs = urlsplit(configured), urlsplit(published)
    if mine.scheme != theirs.scheme:
        return f"the scheme differs ({mine.scheme}:// here, {theirs.scheme}:// at the provider)"
    if mine.netloc.lower() != theirs.netloc.lower():
        return f"the host differs ({mine.netloc} here, {truncate(theirs.netloc, 100)} at the provider)"
    return f"the path differs ('{mine.path}' here, '{truncate(theirs.path, 100)}' at the provider)"


def _words(values: Any) -> list[frozenset[str]]:
    return [frozenset(str(v).split()) for v in values] if isinstance(values, list) else []


def method_findings(doc: dict[str, Any], method: str) -> tuple[list[str], list[str]]:
    """(missing, unstated): what the document says the provider lacks for `method`, and what it does not state."""
    missing, unstated = [], []
    types = doc.get("response_types_supported")
    wanted = "id_token" if method == "implicit" else "code"
    if not isinstance(types, list):
        unstated.append("response_types_supported")
    elif frozenset([wanted]) not in _words(types):
        missing.append(f"response type '{wanted}' (it lists: {truncate(', '.join(map(str, types)), 120)})")
    if method == "implicit":
        modes = doc.get("response_modes_supported")
        if not isinstance(modes, list):
            unstated.append("response_modes_supported (form_post)")
        elif "form_post" not in modes:
            missing.append(f"response mode 'form_post' (it lists: {truncate(', '.join(map(str, modes)), 120)})")
    else:
        methods = doc.get("code_challenge_methods_supported")
        if not isinstance(methods, list):
            unstated.append("code_challenge_methods_supported (S256)")
        elif "S256" not in methods:
            missing.append(f"PKCE method 'S256' (it lists: {truncate(', '.join(map(str, methods)), 120) or 'none'})")
    return missing, unstated


# --- The authorization request ---------------------------------------------------------------------------------


def authorization_params(settings: SSOSettings) -> dict[str, str]:
    """The request W&B's login button makes, with fresh state, nonce and PKCE challenge."""
    params = {"client_id": settings.client_id, "redirect_uri": callback_url(settings.host or ""),
              "scope": " ".join(SCOPES), "state": secrets.token_urlsafe(16)}
    if settings.auth_method == "pkce":
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        params.update(response_type="code", code_challenge=challenge, code_challenge_method="S256")
    else:
        params.update(response_type="id_token", response_mode="form_post", nonce=secrets.token_urlsafe(16))
    return params


@dataclass(frozen=True)
class AuthOutcome:
    kind: str  # accepted, callback, client, method, scope, error, unclear
    error: str = ""
    description: str = ""
    where: str = ""  # where the browser would go next (accepted) or what the page said (unclear)


_CALLBACK_CODES = {"invalid_redirect_uri", "redirect_mismatch", "redirect_uri_mismatch"}
_METHOD_CODES = {"unsupported_response_type", "unsupported_response_mode", "unauthorized_client"}
_CALLBACK_TEXT = re.compile(
    r"redirect[_ ]?ur[il].{0,80}(mismatch|not match|must be|invalid|not registered|not allowed|not valid)|"
    r"(invalid|mismatch|unregistered).{0,40}redirect[_ ]?ur[il]|callback url mismatch|AADSTS50011", re.I | re.S)
_CLIENT_TEXT = re.compile(
    r"unknown client|client not found|client does not exist|invalid client|AADSTS700016|"
    r"client_id.{0,40}(invalid|not found|unknown|does not exist)|(invalid|unknown) value for .{0,3}client_id",
    re.I | re.S)
_METHOD_TEXT = re.compile(r"response_type|response_mode|code_challenge|pkce|grant type", re.I)


def _page_text(body: str) -> str:
    body = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", body)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _error_fields(reply: Reply) -> tuple[str, str]:
    """error and error_description wherever the provider put them: redirect, form_post page, JSON or HTML."""
    if reply.location:
        target = urlsplit(reply.location)
        for part in (target.query, target.fragment):
            fields = parse_qs(part)
            if "error" in fields:
                return fields["error"][0], fields.get("error_description", [""])[0]
    text = reply.text
    inputs = dict(re.findall(r'<input[^>]*name="(error|error_description)"[^>]*value="([^"]*)"', text, re.I))
    if "error" in inputs:
        return html.unescape(inputs["error"]), html.unescape(inputs.get("error_description", ""))
    try:
        doc = json.loads(text)
        if isinstance(doc, dict) and doc.get("error"):
            return str(doc["error"]), str(doc.get("error_description") or doc.get("message") or "")
    except ValueError:
        pass
    page = re.sub(r"\s+", " ", _page_text(text))
    code = re.search(r"\berror\s*[:=]\s*([a-z_]{3,60})\b", page)
    if code:
        desc = re.search(r"\berror_description\s*[:=]\s*(.+?)(?=\s+[a-z_]+\s*[:=]\s|$)", page)
        return code.group(1), desc.group(1) if desc else ""
    return "", ""


def classify_authorization(reply: Reply, redirect_uri: str) -> AuthOutcome:
    """What the authorization endpoint's answer means for W&B's login."""
    error, description = _error_fields(reply)
    page = truncate(_page_text(reply.text), 200)
    if error:
        code, both = error.lower(), f"{error} {description}"
        if code in _CALLBACK_CODES or (code == "invalid_request" and _CALLBACK_TEXT.search(both)):
            kind = "callback"
        elif code == "invalid_client" or _CLIENT_TEXT.search(both):
            kind = "client"
        elif code in _METHOD_CODES or (code == "invalid_request" and _METHOD_TEXT.search(description)):
            kind = "method"
        elif code == "invalid_scope":
            kind = "scope"
        elif _CALLBACK_TEXT.search(both):
            kind = "callback"
        else:
            kind = "error"
        return AuthOutcome(kind, truncate(error, 80), truncate(description, 200))
    if reply.status in (301, 302, 303, 307, 308) and reply.location:
        target = urljoin(reply.url, reply.location)
        if target.split("?")[0].split("#")[0] == redirect_uri:
            return AuthOutcome("accepted", where="the callback directly (a sign-in session already existed)")
        return AuthOutcome("accepted", where=truncate(target, 200))
    if _CALLBACK_TEXT.search(reply.text):
        return AuthOutcome("callback", description=page)
    if _CLIENT_TEXT.search(reply.text):
        return AuthOutcome("client", description=page)
    if reply.status == 200 and not re.search(r"\berror\b", page, re.I):
        return AuthOutcome("accepted", where="a page (its login page)")
    return AuthOutcome("unclear", description=f"{reply.status}: {page}" if page else str(reply.status))
