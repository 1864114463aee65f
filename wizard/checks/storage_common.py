"""What the storage checks share across providers: results, bounded SDK calls, CORS rules, the signed-URL preflight.

Emulator endpoints (tests, or an admin's private endpoint) come through ONE mechanism, `ctx.extra`:
  aws_endpoint_url      S3, SQS, STS, KMS and IAM endpoint (e.g. a moto server)
  aws_metadata_endpoint the EC2 instance metadata service (the instance's role), http://169.254.169.254 otherwise
  gcs_endpoint          Cloud Storage JSON API endpoint; anonymous credentials are used with it
  pubsub_endpoint       host:port of a Pub/Sub emulator (plain gRPC, anonymous)
  azure_blob_endpoint   blob service account URL (Azurite: http://127.0.0.1:P/devstoreaccount1)
  azure_queue_endpoint  queue service account URL
  storage_event_wait    seconds to wait for the end-to-end object-created event (default 15)
The SDKs' own environment variables are not used, so one wizard process never points two clients at two places
(google-auth's GCE_METADATA_HOST excepted: it is read once, when google-auth loads).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable, Sequence
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from wizard.checks.engine import CheckContext, CheckResult, FixAction, Status
from wizard.checks.net import Deadline, truncate
from wizard.text import redact

PROBE_PREFIX = "wandb-local-setup-probe/"
EVENT_WAIT = 15.0  # seconds an object-created event may take (S3 and Event Grid deliver within seconds)
EVENTS_TIMEOUT = 30.0  # the end-to-end event may take up to storage_event_wait seconds after the setup calls
W_AND_B_METHODS = ("GET", "HEAD", "PUT")

TITLES = {
    "storage.local": "Data stays in the volume",
    "storage.endpoint": "Storage endpoint reachable",
    "storage.credentials": "Credentials valid",
    "storage.bucket": "Bucket exists",
    "storage.region": "Bucket region",
    "storage.probe": "Write, read and delete a test object",
    "storage.private": "Container is private",
    "storage.cors": "CORS allows the server's origin",
    "storage.preflight": "Browser upload preflight",
    "storage.queue": "Event queue exists",
    "storage.queue-policy": "Queue accepts the bucket's events",
    "storage.notification": "Bucket notifies the queue",
    "storage.events": "Object-created event arrives",
    "storage.subscription": "Pull subscription on the topic",
    "storage.signing": "Signed URLs (signBlob)",
    "storage.kms": "KMS key usable",
    "storage.notifications-queue": "Notifications queue",
    "storage.tls": "TLS verification",
    "storage.instance-role": "Credentials from the instance's role",
    "storage.instance-account": "Credentials from the instance's account",
}


def result(check_id: str, status: Status, message: str, hint: str = "", fix: FixAction | None = None) -> CheckResult:
    return CheckResult(check_id, TITLES[check_id], status, message, hint, fix)


def insecure_result() -> CheckResult:
    return result("storage.tls", Status.WARN, "TLS certificate verification is turned off for these checks: a "
                  "passing result does not prove the storage endpoint's certificate is valid.",
                  "Give the CA file that signed the endpoint's certificate instead of turning verification off.")


def probe_key() -> str:
    return f"{PROBE_PREFIX}{uuid.uuid4()}"


PROBE_BODY = b"wandb-local-setup probe: safe to delete\n"


async def probe_round_trip(key: str, noun: str, write: Callable[[bytes], Awaitable[Any]],
                           read: Callable[[], Awaitable[bytes]], delete: Callable[[], Awaitable[Any]],
                           failed: Callable[[BaseException, str], Verdict], denied_hint: str = "") -> CheckResult:
    """Write a test object, read it back and delete it, as W&B does with every file. `failed` describes an error
    (with what was being done); `denied_hint` replaces its hint when the store refuses (FAIL)."""
    doing = "writing"
    try:
        await write(PROBE_BODY)
        doing = "reading"
        data = await read()
        doing = "deleting"
        await delete()
    except Exception as exc:
        verdict = failed(exc, f"{doing} the test {noun} {key}")
        hint = denied_hint if denied_hint and verdict.status is Status.FAIL else verdict.hint
        return result("storage.probe", verdict.status, verdict.message, hint)
    if data != PROBE_BODY:
        return result("storage.probe", Status.FAIL, f"The test {noun} {key} came back different from what was written.",
                      "Check for a proxy or a store feature rewriting objects.")
    return result("storage.probe", Status.PASS, f"Wrote, read back and deleted the test {noun} {key}.")


def proxy_verdict(ctx: CheckContext, exc: BaseException, doing: str) -> Verdict | None:
    """An SDK call that failed at the server's proxy (down, wrong address, refusing), said as such; None otherwise."""
    from wizard.checks.container_view import proxy_hint, server_proxies

    proxy = server_proxies(ctx).failure(exc)
    if proxy is None:
        return None
    return Verdict(Status.ERROR, f"The proxy the server gets ({proxy}) did not carry the request while {doing}.",
                   proxy_hint("this store's host"))


def event_wait(ctx: CheckContext) -> float:
    return float(ctx.extra.get("storage_event_wait", EVENT_WAIT))


def arrival_deadline(ctx: CheckContext) -> Deadline:
    """The budget of an event check's second phase: write a probe object, wait for its event, delete it. The first
    phase (the queue, its policy, the notification) has the ordinary timeout, so a store that hangs is reported as
    soon as by every other check."""
    return Deadline(min(EVENTS_TIMEOUT, ctx.timeout * 4 + event_wait(ctx)) - ctx.timeout, margin=0.85)


class NoAnswer(Exception):
    """An SDK call that did not finish within its time budget."""


async def call(fn: Callable[..., Any], *args: Any, within: float, **kwargs: Any) -> Any:
    """Run a blocking SDK call in a thread, bounded by `within` seconds (the SDKs also get their own socket
    timeouts, so the thread ends soon after)."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(fn, *args, **kwargs), within)
    except asyncio.TimeoutError:
        raise NoAnswer(f"no answer within {within:.1f} s") from None


def outside(text: Any, limit: int = 240) -> str:
    """A service's own error text, for a message: one line, cut short."""
    return truncate(str(text or ""), limit)


def hide(text: str, secrets: Iterable[str | None]) -> str:
    """Belt and braces: an SDK error text must never carry a key into a message."""
    return redact(text, [secret for secret in secrets if secret and len(secret) >= 4])


def host_origin(ctx: CheckContext) -> str | None:
    host = ctx.section("host")
    return host.url.rstrip("/") if host is not None else None


# --- CORS rules ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorsRule:
    """A provider-neutral CORS rule (S3 CORSRule, GCS cors entry, Azure CorsRule)."""

    origins: tuple[str, ...]
    methods: tuple[str, ...]
    headers: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()
    max_age: int | None = None


def wandb_rule(origin: str, max_age: int = 3000) -> CorsRule:
    """The rule W&B's own Terraform modules set (max age 3000 s; 3600 s in the Azure module)."""
    return CorsRule((origin,), W_AND_B_METHODS, ("*",), ("ETag",), max_age)


def origin_matches(origin: str, pattern: str) -> bool:
    """S3/Azure/GCS origin matching: '*', exact (case-insensitive), or one '*' wildcard as in https://*.example.com."""
    pattern, origin = pattern.strip().rstrip("/").lower(), origin.rstrip("/").lower()
    if pattern == "*" or pattern == origin:
        return True
    if "*" in pattern:
        regex = ".*".join(re.escape(part) for part in pattern.split("*"))
        return re.fullmatch(regex, origin) is not None
    return False


def _first_rule(rules: Sequence[CorsRule], origin: str, method: str) -> CorsRule | None:
    # Stores use the first rule that matches the origin and the method.
    for rule in rules:
        if method in {m.upper() for m in rule.methods} and any(origin_matches(origin, o) for o in rule.origins):
            return rule
    return None


@dataclass(frozen=True)
class Verdict:
    status: Status
    message: str
    hint: str = ""


def evaluate_cors(rules: Sequence[CorsRule], origin: str, where: str = "The bucket") -> Verdict:
    """Whether browsers on `origin` may GET, PUT (any header) and HEAD, as the W&B UI does."""
    fix_hint = f"Add a rule for {origin} with the methods GET, HEAD and PUT and the headers * (the fix below)."
    if not rules:
        return Verdict(Status.FAIL, f"{where} has no CORS rules, so browsers on {origin} cannot upload or download "
                                    "W&B files.", fix_hint)
    if not any(origin_matches(origin, o) for rule in rules for o in rule.origins):
        allowed = sorted({o for rule in rules for o in rule.origins})
        return Verdict(Status.FAIL, f"No CORS rule allows the origin {origin} (the rules allow: "
                                    f"{outside(', '.join(allowed), 200)}).", fix_hint)
    first = {m: _first_rule(rules, origin, m) for m in W_AND_B_METHODS}
    missing = [m for m in ("GET", "PUT") if first[m] is None]
    if missing:
        ok = [m for m in W_AND_B_METHODS if first[m] is not None]
        granted = f"to {' and '.join(ok)}" if ok else "with none of GET, PUT"
        return Verdict(Status.FAIL, f"CORS allows {origin} {granted} but not to {' and '.join(missing)}: "
                                    + ("uploads from the browser fail." if "PUT" in missing else
                                       "downloads in the browser fail."), fix_hint)
    put = first["PUT"]
    if put is not None and "*" not in put.headers:
        shown = ", ".join(put.headers) or "none"
        return Verdict(Status.FAIL, f"The CORS rule for PUT from {origin} allows only the headers {outside(shown, 120)}; "
                                    "W&B uploads send others (e.g. Content-Type).", fix_hint)
    if first["HEAD"] is None:
        return Verdict(Status.WARN, f"CORS allows {origin} to GET and PUT but not HEAD.",
                       "W&B's own rule also allows HEAD: add it to the rule.")
    return Verdict(Status.PASS, f"A CORS rule allows {origin} to GET, PUT and HEAD with any header.")


def merge_rules(existing: Sequence[CorsRule], ours: CorsRule) -> list[CorsRule]:
    """Our rule first (stores use the first match), every existing rule kept as it was."""
    return [ours] + [rule for rule in existing if rule != ours]


def s3_rule(rule: CorsRule) -> dict[str, Any]:
    data: dict[str, Any] = {"AllowedOrigins": list(rule.origins), "AllowedMethods": list(rule.methods)}
    if rule.headers:
        data["AllowedHeaders"] = list(rule.headers)
    if rule.expose:
        data["ExposeHeaders"] = list(rule.expose)
    if rule.max_age is not None:
        data["MaxAgeSeconds"] = rule.max_age
    return data


def from_s3_rule(data: dict[str, Any]) -> CorsRule:
    return CorsRule(tuple(data.get("AllowedOrigins", ())), tuple(data.get("AllowedMethods", ())),
                    tuple(data.get("AllowedHeaders", ())), tuple(data.get("ExposeHeaders", ())),
                    data.get("MaxAgeSeconds"))


def s3_cors_json(rules: Sequence[CorsRule]) -> str:
    return json.dumps({"CORSRules": [s3_rule(rule) for rule in rules]}, indent=2)


def gcs_rule(rule: CorsRule) -> dict[str, Any]:
    # GCS has one header list (responseHeader) for both allowed and exposed headers.
    headers = list(dict.fromkeys(rule.headers + rule.expose))
    data: dict[str, Any] = {"origin": list(rule.origins), "method": list(rule.methods), "responseHeader": headers}
    if rule.max_age is not None:
        data["maxAgeSeconds"] = rule.max_age
    return data


def from_gcs_rule(data: dict[str, Any]) -> CorsRule:
    headers = tuple(data.get("responseHeader", ()))
    return CorsRule(tuple(data.get("origin", ())), tuple(data.get("method", ())), headers, headers,
                    data.get("maxAgeSeconds"))


def azure_cors_xml(rules: Sequence[CorsRule]) -> str:
    def one(rule: CorsRule) -> str:
        return ("  <CorsRule>\n"
                f"    <AllowedOrigins>{escape(','.join(rule.origins))}</AllowedOrigins>\n"
                f"    <AllowedMethods>{escape(','.join(rule.methods))}</AllowedMethods>\n"
                f"    <AllowedHeaders>{escape(','.join(rule.headers))}</AllowedHeaders>\n"
                f"    <ExposedHeaders>{escape(','.join(rule.expose))}</ExposedHeaders>\n"
                f"    <MaxAgeInSeconds>{rule.max_age or 0}</MaxAgeInSeconds>\n"
                "  </CorsRule>\n")

    return "<Cors>\n" + "".join(one(rule) for rule in rules) + "</Cors>"


# --- The signed-URL preflight, as `wandb verify` does it ----------------------------------------------------------


def _shown_url(url: str) -> str:
    # Never the query: it carries the signature.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


async def preflight(ctx: CheckContext, url: str, origin: str, timeout: float) -> CheckResult:
    """OPTIONS on a signed PUT URL with Origin and Access-Control-Request-Method: PUT, as a browser sends it."""
    from wizard.checks import net

    shown = _shown_url(url)
    headers = {"Origin": origin, "Access-Control-Request-Method": "PUT",
               "Access-Control-Request-Headers": "content-type"}
    try:
        async with net.client(ctx, timeout) as http:
            reply = await asyncio.wait_for(http.request("OPTIONS", url, headers=headers), timeout)
    except asyncio.TimeoutError:
        return result("storage.preflight", Status.ERROR, f"The preflight to {shown} got no answer within "
                      f"{timeout:.1f} s.", "Check that this machine reaches the storage endpoint.")
    except Exception as exc:  # httpx errors: described without the signed query
        problem = net.describe_http_error(exc, shown)
        return result("storage.preflight", Status.ERROR, f"The preflight could not be sent: {problem.message}",
                      problem.hint)
    if reply.status_code == 501:
        return result("storage.preflight", Status.SKIPPED, f"Cannot be checked here: {shown} does not implement "
                      "browser preflights (HTTP 501).", f"Check by hand: curl -i -X OPTIONS -H 'Origin: {origin}' "
                      "-H 'Access-Control-Request-Method: PUT' <a signed upload URL>")
    allow_origin = reply.headers.get("access-control-allow-origin", "")
    allow_methods = reply.headers.get("access-control-allow-methods", "")
    if allow_origin not in (origin, "*"):
        said = f" (HTTP {reply.status_code})" if reply.status_code >= 400 else ""
        return result("storage.preflight", Status.FAIL,
                      f"A browser on {origin} would be refused: the preflight to {shown} came back without "
                      f"Access-Control-Allow-Origin for that origin{said}.",
                      "Fix the CORS rules (see the CORS check); `wandb verify` reports the same problem.")
    if allow_methods and "PUT" not in allow_methods.upper():
        return result("storage.preflight", Status.FAIL,
                      f"The preflight allows {origin} only the methods {outside(allow_methods, 80)}, not PUT.",
                      "Allow PUT in the CORS rule for the server's origin.")
    return result("storage.preflight", Status.PASS,
                  f"A browser on {origin} may PUT to a signed URL: the store answered the preflight with "
                  f"Access-Control-Allow-Origin: {allow_origin}.")


# --- What the screen shows -----------------------------------------------------------------------------------

STORAGE_VARIABLES = ("BUCKET", "BUCKET_QUEUE", "AWS_REGION", "AWS_S3_KMS_ID", "NOTIFICATIONS_QUEUE",
                     "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY")
