"""Google Cloud Storage, with Pub/Sub for object-created events.

The server gets BUCKET=gs://<bucket>, BUCKET_QUEUE=pubsub:/<project>/<topic>/<subscription> (or internal://) and
the service-account key file, mounted read-only, named by GOOGLE_APPLICATION_CREDENTIALS (or, chosen explicitly,
the GCE instance's account). The checks use that same key file: credentials, bucket, probe object, CORS, bucket
notification, pull subscription, signBlob.

The google SDKs are imported inside the functions. Every call gets an explicit timeout and retry=None (the
libraries otherwise retry for up to two minutes), and is bounded again by `call`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from wizard import validators as v
from wizard.checks.engine import CheckContext, CheckResult, FixAction, Status
from wizard.checks.net import Deadline
from wizard.checks.storage_common import (
    NoAnswer, Verdict, call, evaluate_cors, from_gcs_rule, gcs_rule, host_origin, insecure_result, merge_rules,
    outside, preflight, probe_key, probe_round_trip, proxy_verdict, result, wandb_rule,
)
from wizard.container import FILES_DIR, Mount
from wizard.instructions import Instruction, draft_value, host_url, provider_draft
from wizard.providers.base import ChartParts, FieldProblem, Parts, Provider, Secrets, Section, Values, checked, streamed

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
STORAGE_HOST = "storage.googleapis.com"  # the JSON API, uploads and signed URLs
PUBSUB_HOST = "pubsub.googleapis.com"
TOKEN_HOST = "oauth2.googleapis.com"  # a service account key's usual token endpoint
KEY_FILE_LIMIT = 64 * 1024  # a service account key is about 2.3 KB
UNUSABLE = "unusable"  # marker: the credentials could not be loaded (credentials check says why)
KEY_PATH = f"{FILES_DIR}/gcs-key.json"


class GcsStorage(Section):
    provider: Literal["gcs"] = "gcs"
    bucket: Annotated[str, checked(v.gcs_bucket)] = Field(title="Bucket", description="Cloud Storage bucket name")
    project: Annotated[str, checked(v.gcp_project)] | None = Field(
        None, title="Pub/Sub project", description="Project ID holding the topic and subscription"
    )
    topic: Annotated[str, checked(v.pubsub_name)] | None = Field(
        None, title="Pub/Sub topic", description="Topic the bucket notifies (gsutil notification create -t …)"
    )
    subscription: Annotated[str, checked(v.pubsub_name)] | None = Field(
        None, title="Pub/Sub subscription", description="Pull subscription on that topic, read by the server"
    )
    credentials_file: Annotated[str, AfterValidator(v.file_path)] | None = Field(
        None, title="Key file",
        description="Service-account JSON key, given to the server read-only (GOOGLE_APPLICATION_CREDENTIALS)",
    )
    instance_account: bool = Field(
        False, title="Use the instance's account",
        description="No key file: the server uses the GCE instance's service account (metadata server)",
    )

    @model_validator(mode="after")
    def _credentials(self) -> "GcsStorage":
        if self.instance_account and self.credentials_file:
            raise FieldProblem("instance_account", "either give the server a key file or use the instance's "
                               "service account, not both: clear the key file or this choice")
        if not self.instance_account and not self.credentials_file:
            raise FieldProblem("credentials_file", "the server needs credentials for the bucket: give the "
                               "service-account key file, or choose the instance's account (only on a GCE instance)")
        return self

    @model_validator(mode="after")
    def _pubsub_complete(self) -> "GcsStorage":
        given = [self.project, self.topic, self.subscription]
        if any(given) and not all(given):
            missing = ("project", "topic", "subscription")[[bool(value) for value in given].index(False)]
            raise FieldProblem(
                missing, "give the Pub/Sub project, topic and subscription together, or none (internal queue)"
            )
        return self


def render(section: GcsStorage, out: Parts) -> None:
    out.put("BUCKET", f"gs://{section.bucket}")
    queue = f"pubsub:/{section.project}/{section.topic}/{section.subscription}" if section.topic else "internal://"
    out.put("BUCKET_QUEUE", queue)
    if section.credentials_file:
        out.mounts.append(Mount(section.credentials_file, KEY_PATH, "storage.gcs.credentials_file", secret=True))
        out.put("GOOGLE_APPLICATION_CREDENTIALS", KEY_PATH)


def notification_command(section: GcsStorage) -> str:
    return f"gsutil notification create -t projects/{section.project}/topics/{section.topic} -f json gs://{section.bucket}"


def signblob_commands(section: GcsStorage) -> str:
    return ("The W&B server's service account needs iam.serviceAccounts.signBlob (role Service Account Token "
            "Creator) on itself. Check with: gcloud iam service-accounts get-iam-policy SERVICE_ACCOUNT_EMAIL "
            "--flatten=bindings --filter=bindings.role:roles/iam.serviceAccountTokenCreator; grant with: gcloud iam "
            "service-accounts add-iam-policy-binding SERVICE_ACCOUNT_EMAIL --member=serviceAccount:"
            "SERVICE_ACCOUNT_EMAIL --role=roles/iam.serviceAccountTokenCreator")


class NoMetadataServer(Exception):
    """The instance's metadata server (host:port) did not answer: no GCE instance, or not this one's network."""


@dataclass
class Gcp:
    section: GcsStorage
    ctx: CheckContext
    timeout: float
    deadline: Deadline

    @property
    def emulator(self) -> str | None:
        return self.ctx.extra.get("gcs_endpoint")

    def credentials(self):
        """(credentials, project) or raises; anonymous with an emulator endpoint."""
        if self.emulator:
            from google.auth.credentials import AnonymousCredentials

            return AnonymousCredentials(), self.section.project or "emulator"
        if self.section.credentials_file:
            from google.oauth2 import service_account

            creds = service_account.Credentials.from_service_account_file(self.section.credentials_file, scopes=SCOPES)
            return creds, self.section.project or creds.project_id
        # The instance's account, from the metadata server only, as the server gets it: never the shell's
        # GOOGLE_APPLICATION_CREDENTIALS or gcloud's application-default login (google.auth.default reads both).
        from google.auth import compute_engine

        # The universe named, or google-cloud-storage asks the metadata server for it with retries of its own.
        return compute_engine.Credentials(scopes=SCOPES, universe_domain="googleapis.com"), self.section.project

    def _session(self, url: str, session=None):
        """A requests session (or `session`) reaching `url`'s host as the server does: through the server's proxy or
        direct, never through the shell's (trust_env off), with the checks' TLS settings."""
        from wizard.checks.container_view import server_proxies

        if session is None:
            import requests

            session = requests.Session()
        session.trust_env = False
        session.proxies = server_proxies(self.ctx).for_requests(url)
        session.verify = False if self.ctx.insecure else (self.ctx.ca_file or True)  # off: warned
        return session

    def token_url(self) -> str:
        """Where the credentials get their tokens: the key file's token_uri (Google's OAuth endpoint unless the key
        names another, e.g. a Private Service Connect one). An instance's metadata server is never proxied."""
        if self.section.credentials_file:
            from wizard.small_files import read_small

            try:
                uri = json.loads(read_small(self.section.credentials_file, KEY_FILE_LIMIT)).get("token_uri")
            except (ValueError, AttributeError):  # not a key file: the credentials check says so
                uri = None
            if isinstance(uri, str) and uri.startswith(("https://", "http://")):
                return uri
        return f"https://{TOKEN_HOST}"

    def token_request(self):
        """google-auth's transport for token refreshes, reaching `token_url` as the server does (an instance's
        metadata server: asked once, directly)."""
        from google.auth.transport.requests import Request

        request = Request(session=self._session(self.token_url()))
        if not self.section.instance_account:
            return request
        from google.auth.exceptions import TransportError

        def once(**kwargs: Any):
            # google-auth asks a metadata server that cannot be reached 5 times with backoff (about 15 s, a warning
            # logged each time), far beyond a check's timeout: what is not a TransportError ends it at once.
            try:
                return request(**kwargs)
            except TransportError:
                raise NoMetadataServer(urlsplit(str(kwargs.get("url", ""))).netloc) from None

        return once

    def storage(self):
        from google.auth.transport.requests import AuthorizedSession
        from google.cloud import storage

        creds, project = self.credentials()
        endpoint = self.emulator or f"https://{STORAGE_HOST}"  # named always: else STORAGE_EMULATOR_HOST or
        # API_ENDPOINT_OVERRIDE in the admin's shell would take the check elsewhere than the server goes
        http = self._session(endpoint, AuthorizedSession(creds, auth_request=self.token_request()))
        return storage.Client(project=project, credentials=creds, client_options={"api_endpoint": endpoint}, _http=http)

    def subscriber(self):
        from google.cloud import pubsub_v1
        from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

        from wizard.checks.container_view import server_proxies

        endpoint = self.ctx.extra.get("pubsub_endpoint")
        proxies = server_proxies(self.ctx)
        if endpoint:  # the emulator speaks plain gRPC and takes no credentials
            import grpc

            where = urlsplit(f"//{endpoint}")
            channel = grpc.insecure_channel(endpoint, options=proxies.grpc_options(where.hostname or "", where.port or 443))
            return pubsub_v1.SubscriberClient(transport=SubscriberGrpcTransport(channel=channel))
        creds, _ = self.credentials()

        def channel_with_proxy(host: str, *, options: list, **kwargs: Any):
            return SubscriberGrpcTransport.create_channel(
                host, options=[*options, *proxies.grpc_options(PUBSUB_HOST)], **kwargs)

        return pubsub_v1.SubscriberClient(transport=SubscriberGrpcTransport(credentials=creds,
                                                                            channel=channel_with_proxy))

    async def run(self, fn, *args, **kwargs):
        left = min(self.timeout, self.deadline.left())
        return await call(fn, *args, within=left, **{"retry": None, "timeout": left * 0.95, **kwargs})


def gcp(ctx: CheckContext, section: GcsStorage) -> Gcp:
    return Gcp(section, ctx, ctx.timeout * 0.8, Deadline(ctx.timeout, margin=0.85))


def _unusable(client: Gcp, check_id: str) -> list[CheckResult] | None:
    """A SKIPPED result when the credentials do not load (the credentials check says why), else None."""
    try:
        client.credentials()
    except Exception:
        return [result(check_id, Status.SKIPPED, "The Google credentials do not load (see Credentials valid).")]
    return None


def describe(exc: BaseException, client: Gcp, doing: str) -> Verdict:
    from google.api_core import exceptions as gx

    if proxied := proxy_verdict(client.ctx, exc, doing):
        return proxied
    if isinstance(exc, NoMetadataServer):
        return Verdict(Status.FAIL, f"The instance's service account gave no credentials here: its metadata server at "
                                    f"{exc} cannot be reached from here. The server, which relies on the same account, "
                                    "would have none either.",
                       "Run the wizard on the GCE instance the server runs on, whose service account may use the "
                       "bucket; or give the server a service account key file.")
    if isinstance(exc, (NoAnswer, gx.DeadlineExceeded)) or "timed out" in str(exc).lower() \
            or "Timeout" in type(exc).__name__:
        return Verdict(Status.ERROR, f"Google Cloud did not answer while {doing} ({outside(exc, 120)}).",
                       "Check that this machine may reach storage.googleapis.com and pubsub.googleapis.com.")
    if isinstance(exc, gx.Unauthorized) or type(exc).__name__ == "RefreshError":
        return Verdict(Status.FAIL, f"Google rejected the credentials while {doing} ({outside(exc, 160)}).",
                       "Check the key file (not revoked, right project); with the instance's account, that the "
                       "instance has a service account and the cloud-platform access scope.")
    if isinstance(exc, (gx.Forbidden, gx.PermissionDenied)):
        return Verdict(Status.FAIL, f"Permission denied while {doing} ({outside(getattr(exc, 'message', exc), 160)}).",
                       "Grant the account roles/storage.admin on the bucket and roles/pubsub.subscriber on the "
                       "subscription, as W&B's docs ask.")
    if "ConnectionError" in type(exc).__name__ or "Connection" in str(exc)[:80]:
        return Verdict(Status.ERROR, f"Cannot connect to Google Cloud while {doing}.",
                       "Check this machine's network, proxy and firewall.")
    return Verdict(Status.ERROR, f"Google Cloud answered with an error while {doing}: {outside(exc, 200)}.", "")


def _fail(check_id: str, verdict: Verdict) -> CheckResult:
    return result(check_id, verdict.status, verdict.message, verdict.hint)


async def _credentials_result(client: Gcp) -> CheckResult:
    section = client.section
    if client.emulator:
        return result("storage.credentials", Status.SKIPPED,
                      "The storage endpoint is an emulator taking anonymous requests: credentials cannot be checked here.")
    try:
        creds, project = client.credentials()
    except FileNotFoundError:
        return result("storage.credentials", Status.FAIL, f"The key file {section.credentials_file} does not exist.",
                      "Give the path of the service account's JSON key (the server gets it read-only), or choose the "
                      "instance's account on a GCE instance.")
    except (OSError, ValueError, KeyError) as exc:
        return result("storage.credentials", Status.FAIL,
                      f"The key file {section.credentials_file} is not a service account key ({outside(type(exc).__name__)}).",
                      "Download a JSON key (IAM › Service accounts › Keys › Add key › JSON).")
    if section.instance_account:
        try:  # a token from the metadata server (not proxied, as the server's metadata client never is)
            await call(creds.refresh, client.token_request(), within=client.timeout)
        except Exception as exc:
            return _fail("storage.credentials", describe(exc, client, "asking the metadata server for a token"))
        return result("storage.credentials", Status.PASS,
                      f"The instance's service account {creds.service_account_email} gave a token (metadata server); "
                      "the bucket call tests it.")
    return result("storage.credentials", Status.PASS, f"The credentials load: {creds.service_account_email} "
                  f"(project {project}); the bucket call authenticates them.")


# --- Credentials, bucket, probe object ---------------------------------------------------------------------------


async def access(ctx: CheckContext, section: GcsStorage) -> list[CheckResult]:
    from google.api_core import exceptions as gx

    client = gcp(ctx, section)
    credentials = await _credentials_result(client)
    out = ([insecure_result()] if ctx.insecure else []) + [credentials]
    if credentials.status is Status.FAIL:
        return out
    if section.instance_account and ctx.in_pods and not client.emulator:
        out.append(result("storage.instance-account", Status.WARN,
                          "These checks used this machine's service account. The pods use their Kubernetes service "
                          "account's (GKE: Workload Identity) or their node's, which may allow less: a pass here says "
                          "nothing about it.", "Give the pods' Google service account roles/storage.admin on the "
                          "bucket (and roles/pubsub.subscriber, Token Creator on itself), as W&B's docs ask."))
    storage = await call(client.storage, within=client.timeout)
    try:
        bucket = await client.run(storage.get_bucket, section.bucket)
    except gx.NotFound:
        out.append(result("storage.bucket", Status.FAIL, f"The bucket {section.bucket} does not exist.",
                          "Create it (Standard storage class), or correct the name."))
        return out
    except Exception as exc:
        out.append(_fail("storage.bucket", describe(exc, client, f"looking up the bucket {section.bucket}")))
        return out
    where = f" (location {bucket.location})" if bucket.location else ""
    out.append(result("storage.bucket", Status.PASS, f"The bucket {section.bucket} exists{where}."))
    out.append(await _probe(client, bucket))
    return out


async def _probe(client: Gcp, bucket: Any) -> CheckResult:
    key = probe_key()
    blob = bucket.blob(key)
    return await probe_round_trip(key, "object", lambda body: client.run(blob.upload_from_string, body),
                                  lambda: client.run(blob.download_as_bytes), lambda: client.run(blob.delete),
                                  lambda exc, doing: describe(exc, client, doing))


# --- CORS and the preflight --------------------------------------------------------------------------------------


async def cors(ctx: CheckContext, section: GcsStorage) -> list[CheckResult]:
    from google.api_core import exceptions as gx

    origin = host_origin(ctx)
    if origin is None:
        return [result("storage.cors", Status.SKIPPED, "The server's address is needed: complete the Host step first.")]
    client = gcp(ctx, section)
    if skipped := _unusable(client, "storage.cors"):
        return skipped
    try:
        storage = await call(client.storage, within=client.timeout)
        bucket = await client.run(storage.get_bucket, section.bucket)
    except gx.NotFound:
        return [result("storage.cors", Status.SKIPPED, f"The bucket {section.bucket} does not exist.")]
    except Exception as exc:
        return [_fail("storage.cors", describe(exc, client, "reading the bucket's CORS rules"))]
    rules = [from_gcs_rule(rule) for rule in bucket.cors or []]
    verdict = evaluate_cors(rules, origin, f"The bucket {section.bucket}")
    fix = None
    if verdict.status is not Status.PASS:
        merged = [gcs_rule(rule) for rule in merge_rules(rules, wandb_rule(origin))]

        async def apply() -> None:
            bucket.cors = merged
            await client.run(bucket.patch)

        kept = f", keeping the {len(rules)} existing rule(s)" if rules else ""
        fix = FixAction(f"Add W&B's CORS rule for {origin} to gs://{section.bucket}{kept} (as gsutil cors set would).",
                        json.dumps(merged, indent=2), apply)
    return [result("storage.cors", verdict.status, verdict.message, verdict.hint, fix)]


async def signed_url_preflight(ctx: CheckContext, section: GcsStorage) -> list[CheckResult]:
    origin = host_origin(ctx)
    if origin is None:
        return [result("storage.preflight", Status.SKIPPED, "The server's address is needed: complete the Host step.")]
    client = gcp(ctx, section)
    if skipped := _unusable(client, "storage.preflight"):
        return skipped
    key = probe_key()
    base = client.emulator or f"https://{STORAGE_HOST}"
    url = f"{base}/{section.bucket}/{key}"
    try:
        creds, _ = client.credentials()
        if hasattr(creds, "sign_bytes") and not client.emulator:
            from datetime import timedelta

            storage = await call(client.storage, within=client.timeout)
            url = storage.bucket(section.bucket).blob(key).generate_signed_url(
                version="v4", expiration=timedelta(minutes=10), method="PUT", credentials=creds)
    except Exception:
        pass  # a browser's preflight carries no credentials: the unsigned object URL gets the same answer
    return [await preflight(ctx, url, origin, client.timeout)]


# --- Bucket notification and the pull subscription ---------------------------------------------------------------


def evaluate_notifications(configs: list[dict[str, Any]], project: str, topic: str) -> Verdict:
    """GCS notificationConfigs (the JSON API's resource shape): one must send OBJECT_FINALIZE as JSON to the topic."""
    wanted = f"projects/{project}/topics/{topic}"

    def topic_of(config: dict[str, Any]) -> str:
        # The API answers //pubsub.googleapis.com/projects/P/topics/T.
        return str(config.get("topic", "")).split("pubsub.googleapis.com/")[-1].lstrip("/")

    ours = [c for c in configs if topic_of(c) == wanted]
    if not ours:
        others = sorted({topic_of(c) for c in configs})
        where = f" (it notifies {outside(', '.join(others), 200)})" if others else ""
        return Verdict(Status.FAIL, f"The bucket sends no notifications to the topic {wanted}{where}.",
                       "")
    for config in ours:
        events = config.get("event_types") or ["OBJECT_FINALIZE"]  # no event types: every event
        if "OBJECT_FINALIZE" in events and not config.get("object_name_prefix"):
            if config.get("payload_format") not in (None, "JSON_API_V1"):
                return Verdict(Status.FAIL, f"The notification to {wanted} sends payload format "
                                            f"{config.get('payload_format')}; W&B reads JSON (JSON_API_V1).", "")
            return Verdict(Status.PASS, f"The bucket sends object-finalize notifications as JSON to {wanted}.")
    return Verdict(Status.FAIL, f"The notification to {wanted} does not cover every new object (OBJECT_FINALIZE, no "
                                "object name prefix).", "")


async def events(ctx: CheckContext, section: GcsStorage) -> list[CheckResult]:
    if not section.topic:
        return [result("storage.queue", Status.SKIPPED,
                       "No Pub/Sub topic is configured: the server uses its internal queue (BUCKET_QUEUE=internal://).")]
    client = gcp(ctx, section)
    if skipped := _unusable(client, "storage.notification"):
        return skipped
    return [await _notification(client, section), await _subscription(client, section)]


async def _notification(client: Gcp, section: GcsStorage) -> CheckResult:
    from google.api_core import exceptions as gx

    command = notification_command(section)
    try:
        storage = await call(client.storage, within=client.timeout)
        notifications = await client.run(lambda **kw: list(storage.bucket(section.bucket).list_notifications(**kw)))
    except (gx.NotFound, gx.MethodNotImplemented) as exc:
        if client.emulator:
            return result("storage.notification", Status.SKIPPED,
                          "Cannot be checked here: the storage endpoint offers no notifications API "
                          f"({outside(type(exc).__name__)}).", f"Check it by hand: gsutil notification list "
                          f"gs://{section.bucket}; create it with: {command}")
        return result("storage.notification", Status.SKIPPED, f"The bucket {section.bucket} does not exist.")
    except Exception as exc:
        return _fail("storage.notification", describe(exc, client, "listing the bucket's notifications"))
    verdict = evaluate_notifications([n._properties for n in notifications], section.project or "", section.topic or "")
    hint = verdict.hint or (f"Create it: {command} (the bucket's service agent needs roles/pubsub.publisher on the "
                            "topic)." if verdict.status is not Status.PASS else "")
    return result("storage.notification", verdict.status, verdict.message, hint)


async def _subscription(client: Gcp, section: GcsStorage) -> CheckResult:
    from google.api_core import exceptions as gx

    name = f"projects/{section.project}/subscriptions/{section.subscription}"
    topic = f"projects/{section.project}/topics/{section.topic}"
    subscriber = None
    try:
        subscriber = await call(client.subscriber, within=client.timeout)
        subscription = await client.run(subscriber.get_subscription, subscription=name)
    except gx.NotFound:
        return result("storage.subscription", Status.FAIL, f"The subscription {name} does not exist.",
                      f"Create it: gcloud pubsub subscriptions create {section.subscription} --topic={section.topic} "
                      f"--project={section.project}")
    except Exception as exc:
        return _fail("storage.subscription", describe(exc, client, f"looking up the subscription {name}"))
    finally:
        if subscriber is not None:  # its gRPC channel (and a proxy's tunnel) ends with the check
            subscriber.close()
    if subscription.topic != topic:
        return result("storage.subscription", Status.FAIL,
                      f"The subscription {section.subscription} receives from {outside(subscription.topic)}, not from "
                      f"{topic}.", "Use a subscription on the bucket's topic, or correct the topic.")
    if subscription.push_config.push_endpoint:
        return result("storage.subscription", Status.FAIL,
                      f"The subscription {section.subscription} is a push subscription; W&B pulls.",
                      "Create a subscription with delivery type Pull.")
    return result("storage.subscription", Status.PASS,
                  f"The subscription {section.subscription} is a pull subscription on {topic}.")


# --- signBlob ----------------------------------------------------------------------------------------------------


async def extras(ctx: CheckContext, section: GcsStorage) -> list[CheckResult]:
    client = gcp(ctx, section)
    if client.emulator:
        return [result("storage.signing", Status.SKIPPED, "Cannot be checked here: the emulator has no IAM.",
                       signblob_commands(section))]
    try:
        creds, _ = client.credentials()
    except Exception:
        return [result("storage.signing", Status.SKIPPED, "The credentials do not load (see Credentials).")]
    email = getattr(creds, "service_account_email", None)
    if email == "default" and section.instance_account:  # the metadata server names the account with its token
        try:
            await call(creds.refresh, client.token_request(), within=client.timeout)
        except Exception:
            return [result("storage.signing", Status.SKIPPED, "The credentials do not load (see Credentials).")]
        email = creds.service_account_email
    if not email or email == "default":
        return [result("storage.signing", Status.SKIPPED,
                       "Cannot be checked from here: these are not a service account's credentials.",
                       signblob_commands(section))]
    return [await _sign_blob(ctx, client, creds, email, section)]


async def _sign_blob(ctx: CheckContext, client: Gcp, creds, email: str, section: GcsStorage) -> CheckResult:
    """Ask the IAM Credentials API to sign a few bytes as the service account: exactly what signed URLs need."""
    import base64

    from wizard.checks import net

    try:
        await call(creds.refresh, client.token_request(), within=client.timeout)
        async with net.client(ctx, client.timeout) as http:
            reply = await http.post(
                f"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{email}:signBlob",
                json={"payload": base64.b64encode(b"wandb-local-setup").decode()},
                headers={"Authorization": f"Bearer {creds.token}"})
    except Exception as exc:
        return _fail("storage.signing", describe(exc, client, "asking IAM to sign a test payload"))
    if reply.status_code == 200:
        return result("storage.signing", Status.PASS, f"{email} may sign blobs (iam.serviceAccounts.signBlob).")
    if reply.status_code == 403:
        return result("storage.signing", Status.FAIL,
                      f"{email} may not sign blobs (iam.serviceAccounts.signBlob): signed URLs will fail.",
                      signblob_commands(section))
    return result("storage.signing", Status.SKIPPED,
                  f"Cannot be checked from here: the IAM Credentials API answered HTTP {reply.status_code}.",
                  signblob_commands(section))


# --- Instructions ----------------------------------------------------------------------------------------------


def instructions(values: Values, secrets: Secrets) -> list[Instruction]:
    draft = provider_draft(values, "storage", "gcs")
    missing: list[str] = []
    bucket = draft_value(draft, "bucket", v.gcs_bucket, "BUCKET", missing)
    items = [Instruction(
        "storage.gcs-cors", "Bucket CORS rule (JSON)",
        json.dumps([{"origin": [host_url(values)], "method": ["GET", "HEAD", "PUT"], "responseHeader": ["*"],
                     "maxAgeSeconds": 3000}], indent=2),
        note=f"Save it as cors.json, then run: gsutil cors set cors.json gs://{bucket}",
    )]
    topic = str(draft.get("topic") or "").strip()
    if topic:
        project = str(draft.get("project") or "").strip()
        topic_ref = draft_value(draft, "topic", v.pubsub_name, "TOPIC", missing)
        if project:
            topic_ref = f"projects/{draft_value(draft, 'project', v.gcp_project, 'PROJECT', missing)}/topics/{topic_ref}"
        items.append(Instruction(
            "storage.gsutil", "Bucket notification to Pub/Sub",
            f"gsutil notification create -t {topic_ref} -f json gs://{bucket}",
            note="Run where gsutil is logged in. The Cloud Storage service agent needs "
                 "roles/pubsub.publisher on the topic.",
            placeholders=tuple(missing),
        ))
    return items


def chart(section: GcsStorage, out: ChartParts) -> None:
    out.set("global.bucket.provider", "gcs")
    out.set("global.bucket.name", section.bucket)
    queue = f"pubsub:/{section.project}/{section.topic}/{section.subscription}" if section.topic else "internal://"
    out.set("app.env.BUCKET_QUEUE", queue)
    how = "its key file" if section.credentials_file else "the instance's service account"
    out.cannot.append(f"storage: the server uses {how} here; the chart has no key file setting: on GKE, bind the "
                      "pods' Kubernetes service account to that Google service account (Workload Identity)")


PROVIDER = Provider(
    "storage", "gcs", GcsStorage, render,
    checks={"storage.access": streamed(access), "storage.cors": streamed(cors),
            "storage.preflight": streamed(signed_url_preflight), "storage.events": streamed(events),
            "storage.extras": streamed(extras)},
    instructions=instructions, chart=chart)
