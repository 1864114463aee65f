"""Pure OIDC logic of the SSO checks: URLs, issuer comparison, discovery reading, and what an authorization
endpoint's answer means. Answers of providers that cannot run here are written out by hand in the shapes their
documentation and bug reports show; the Cognito hosted UI ones are named `captured_cognito_*`."""

from __future__ import annotations

import socket
import ssl

import pytest

from wizard.checks import net
from wizard.checks import oidc_probe as op
from wizard.checks.net import Reply

CALLBACK = "https://wandb.example.com/oidc/callback"
SETTINGS = op.SSOSettings("oidc", "https://idp.example.com", "client-1", "implicit", "https://wandb.example.com")


def reply(status=200, body="", location="", content_type="text/html", url="https://idp.example.com/authorize",
          headers=None):
    all_headers = {"content-type": content_type, **({"location": location} if location else {}), **(headers or {})}
    return Reply(url, status, all_headers, body.encode())


def test_discovery_url_joins_without_a_double_slash():
    assert op.discovery_url("https://idp.example.com/") == "https://idp.example.com/.well-known/openid-configuration"
    assert op.discovery_url("https://idp.example.com/realms/a") == \
        "https://idp.example.com/realms/a/.well-known/openid-configuration"


@pytest.mark.parametrize("configured, published, words", [
    ("https://a.example/x", "https://a.example/x", None),
    ("https://a.example/x/", "https://a.example/x", "the configured issuer ends with '/'"),
    ("https://a.example/x", "https://a.example/x/", "the provider's issuer ends with '/'"),
    ("https://A.example/x", "https://a.example/x", "upper/lower case"),
    ("http://a.example/x", "https://a.example/x", "the scheme differs"),
    ("https://a.example/x", "https://b.example/x", "the host differs (a.example here, b.example at the provider)"),
    ("https://a.example/x", "https://a.example/y", "the path differs ('/x' here, '/y' at the provider)"),
])
def test_issuer_difference(configured, published, words):
    difference = op.issuer_difference(configured, published)
    assert difference == words if words is None else words in difference


def test_method_findings_for_both_flows():
    doc = {"response_types_supported": ["code", "id_token token"], "response_modes_supported": ["query"],
           "code_challenge_methods_supported": ["S256"]}
    missing, unstated = op.method_findings(doc, "implicit")
    assert any("response type 'id_token'" in m for m in missing)  # 'id_token token' is another response type
    assert any("response mode 'form_post'" in m for m in missing)
    assert op.method_findings(doc, "pkce") == ([], [])
    assert op.method_findings({}, "pkce")[1] == ["response_types_supported", "code_challenge_methods_supported (S256)"]


def test_authorization_params_match_what_wandb_sends():
    implicit = op.authorization_params(SETTINGS)
    assert implicit["response_type"] == "id_token" and implicit["response_mode"] == "form_post"
    assert implicit["redirect_uri"] == CALLBACK and implicit["scope"] == "openid profile email"
    assert implicit["nonce"] and implicit["state"]
    pkce = op.authorization_params(op.SSOSettings("oidc", "https://i", "c", "pkce", "https://wandb.example.com"))
    assert pkce["response_type"] == "code" and pkce["code_challenge_method"] == "S256"
    assert len(pkce["code_challenge"]) == 43 and "=" not in pkce["code_challenge"]
    assert "response_mode" not in pkce and "nonce" not in pkce


def test_cognito_domain_and_issuer_recognition():
    assert op.cognito_domain_region("https://acme.auth.us-east-1.amazoncognito.com") == "us-east-1"
    assert op.cognito_domain_region("https://acme.auth-fips.us-gov-west-1.amazoncognito.com/x") == "us-gov-west-1"
    assert op.cognito_domain_region("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc") is None
    assert op.is_cognito_issuer("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc")
    assert op.is_cognito_document({"authorization_endpoint": "https://login.example.com.amazoncognito.com/oauth2/authorize"})
    assert not op.is_cognito_document({"issuer": "https://idp.example.com"})


# --- Cognito hosted UI answers (captured shapes: 302 to its own /login or /error page) ----------------------------

COGNITO = "https://acme.auth.us-east-1.amazoncognito.com"


def test_captured_cognito_redirect_mismatch_is_a_callback_problem():
    answer = reply(302, location=f"{COGNITO}/error?error=redirect_mismatch&client_id=client-1",
                   url=f"{COGNITO}/oauth2/authorize")
    outcome = op.classify_authorization(answer, CALLBACK)
    assert outcome.kind == "callback" and outcome.error == "redirect_mismatch"
    assert op.looks_like_cognito_authorize(answer)


def test_captured_cognito_accepted_request_goes_to_its_login_page():
    answer = reply(302, location=f"{COGNITO}/login?client_id=client-1&response_type=code&redirect_uri=x",
                   url=f"{COGNITO}/oauth2/authorize")
    outcome = op.classify_authorization(answer, CALLBACK)
    assert outcome.kind == "accepted" and outcome.where.startswith(f"{COGNITO}/login")


def test_captured_cognito_unsupported_response_type_to_the_callback():
    answer = reply(302, location=f"{CALLBACK}?error=unsupported_response_type&state=s", url=f"{COGNITO}/oauth2/authorize")
    assert op.classify_authorization(answer, CALLBACK).kind == "method"


# --- Other providers' answer shapes ------------------------------------------------------------------------------


@pytest.mark.parametrize("answer, kind", [
    (reply(400, '{"error":"invalid_client","error_description":"Unknown client"}', content_type="application/json"),
     "client"),
    (reply(400, "<html><body><p>Invalid parameter: redirect_uri</p></body></html>"), "callback"),  # Keycloak
    (reply(400, "<html><h1>Callback URL mismatch.</h1></html>"), "callback"),  # Auth0
    (reply(400, "<div>AADSTS50011: The redirect URI specified in the request does not match</div>"), "callback"),
    (reply(400, "<p>Client not found.</p>"), "client"),
    # Okta's error page
    (reply(400, "<p>The 'redirect_uri' parameter must be a Login redirect URI in the client app settings</p>"),
     "callback"),
    (reply(400, "<p>Invalid value for 'client_id' parameter.</p>"), "client"),
    (reply(400, '<input type="hidden" name="error" value="invalid_scope"/>'), "scope"),
    (reply(200, "<html><form action='/login'><input name='username'></form></html>"), "accepted"),
    (reply(500, "<html>Internal Server Error</html>"), "unclear"),
    (reply(302, location=f"{CALLBACK}?code=abc&state=s"), "accepted"),
    (reply(302, location=f"{CALLBACK}#error=access_denied&error_description=nope"), "error"),
])
def test_authorization_answers_are_told_apart(answer, kind):
    assert op.classify_authorization(answer, CALLBACK).kind == kind


def test_html_error_page_fields_are_read_literally_and_truncated():
    long = "x" * 1000
    page = f"<pre><strong>error</strong>: invalid_request</pre><pre><strong>error_description</strong>: {long}</pre>"
    outcome = op.classify_authorization(reply(400, page), CALLBACK)
    assert outcome.error == "invalid_request" and len(outcome.description) <= 200


def test_discovery_answers_are_told_apart():
    with pytest.raises(op.DiscoveryProblem, match="answered with an HTML page"):
        op.parse_discovery(reply(200, "<html>login</html>"))
    with pytest.raises(op.DiscoveryProblem, match="redirects to https://login"):
        op.parse_discovery(reply(302, location="https://login.example.com/"))
    with pytest.raises(op.DiscoveryProblem, match="answered 503"):
        op.parse_discovery(reply(503, "busy"))
    with pytest.raises(op.DiscoveryProblem, match="did not answer with JSON"):
        op.parse_discovery(reply(200, "{nope", content_type="application/json"))
    assert op.parse_discovery(reply(200, '{"issuer": "x"}', content_type="application/json")) == {"issuer": "x"}


# --- Network errors in words -------------------------------------------------------------------------------------


def _chained(outer: Exception, cause: BaseException) -> Exception:
    outer.__cause__ = cause
    return outer


@pytest.mark.parametrize("cause, kind", [
    (socket.gaierror(-2, "Name or service not known"), "dns"),
    (ConnectionRefusedError(111, "Connection refused"), "refused"),
    (ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), "tls"),
    (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "tls"),
])
def test_network_errors_are_described(cause, kind):
    import httpx

    error = net.describe_http_error(_chained(httpx.ConnectError("x"), cause), "https://idp.example.com:8443/a")
    assert error.kind == kind and error.hint
    assert "idp.example.com" in error.message


def test_truncate_shows_control_characters_as_escapes_on_one_line_and_cuts():
    # ESC and the C1 CSI (\x9b) would start a terminal sequence: shown as escapes, the same as wizard.text.printable.
    assert net.truncate("a\x1b[31mb\n\nc\x9b2J\x00") == "a\\x1b[31mb c\\x9b2J\\x00"
    assert len(net.truncate("y" * 500, 50)) == 50


def test_importing_the_checks_loads_no_http_client():
    import subprocess
    import sys

    code = ("import sys, wizard.checks.sso, wizard.checks.license, wizard.checks.net; "
            "assert 'httpx' not in sys.modules, 'httpx imported at module level'")
    subprocess.run([sys.executable, "-c", code], check=True)
