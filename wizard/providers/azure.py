"""Azure Blob storage, with a storage queue fed by Event Grid for BlobCreated events.

The server gets BUCKET=az://<account>/<container>, BUCKET_QUEUE=az://<account>/<queue> (or internal://),
AZURE_STORAGE_ACCOUNT and the account key as AZURE_STORAGE_KEY; the checks use that key: account key, container,
probe blob, private access, CORS, queue, BlobCreated.

The azure SDKs are imported inside the functions; every client gets socket timeouts and no retries, and every call
is bounded again by `call`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal

from pydantic import Field

from wizard import validators as v
from wizard.checks.engine import CheckContext, CheckResult, FixAction, Status
from wizard.checks.net import Deadline
from wizard.checks.storage_common import (
    PROBE_PREFIX, NoAnswer, Verdict, arrival_deadline, azure_cors_xml, call, evaluate_cors, event_wait, hide, host_origin,
    insecure_result, merge_rules, outside, preflight, probe_key, probe_round_trip, proxy_verdict, result, wandb_rule,
    CorsRule,
)
from wizard.instructions import Instruction, draft_value, host_url, provider_draft
from wizard.providers.base import ChartParts, Parts, Provider, RequiredSecret, Secrets, Section, Values, checked, streamed

MAX_CORS_RULES = 5  # Azure's limit per service
BLOB_CREATED = "Microsoft.Storage.BlobCreated"


class AzureStorage(Section):
    provider: Literal["azure"] = "azure"
    account: Annotated[str, checked(v.azure_account)] = Field(
        title="Storage account", description="Storage account name, e.g. acmewandb"
    )
    container: Annotated[str, checked(v.azure_container_or_queue, "container")] = Field(
        title="Blob container", description="Private blob container for W&B files"
    )
    queue: Annotated[str, checked(v.azure_container_or_queue, "queue")] | None = Field(
        None, title="Queue", description="Storage queue receiving BlobCreated events (empty: internal queue)"
    )
    account_key: RequiredSecret = Field(title="Account key", description="Access key (Storage account › Access keys)")


def render(section: AzureStorage, out: Parts) -> None:
    out.put("BUCKET", f"az://{section.account}/{section.container}")
    out.put("BUCKET_QUEUE", f"az://{section.account}/{section.queue}" if section.queue else "internal://")
    out.put("AZURE_STORAGE_ACCOUNT", section.account)
    out.put("AZURE_STORAGE_KEY", out.secret("storage.azure.account_key", section.account_key), True)


def event_grid_instructions(section: AzureStorage) -> str:
    """What to create when no BlobCreated event arrives: the Event Grid subscription W&B's docs describe."""
    account_id = f"$(az storage account show -n {section.account} --query id -o tsv)"
    return (
        f"Create an Event Grid subscription on the storage account {section.account}: event type {BLOB_CREATED}, "
        f"subject filter beginning with /blobServices/default/containers/{section.container}/blobs/, endpoint the "
        f"storage queue {section.queue}. With the Azure CLI: az eventgrid event-subscription create "
        f"--name wandb-blob-created --source-resource-id {account_id} --endpoint-type storagequeue "
        f"--endpoint {account_id}/queueservices/default/queues/{section.queue} "
        f"--included-event-types {BLOB_CREATED} "
        f"--subject-begins-with /blobServices/default/containers/{section.container}/blobs/"
    )


@dataclass
class Azure:
    section: AzureStorage
    ctx: CheckContext
    timeout: float
    deadline: Deadline

    @property
    def blob_url(self) -> str:
        return self.ctx.extra.get("azure_blob_endpoint") or f"https://{self.section.account}.blob.core.windows.net"

    @property
    def queue_url(self) -> str:
        return self.ctx.extra.get("azure_queue_endpoint") or f"https://{self.section.account}.queue.core.windows.net"

    @property
    def key(self) -> str:
        return self.section.account_key.get_secret_value()

    def _options(self, url: str) -> dict[str, Any]:
        from wizard.checks.container_view import server_proxies

        verify: Any = False if self.ctx.insecure else (self.ctx.ca_file or True)
        # The server's proxies for this service, never the shell's (use_env_settings off).
        proxies = server_proxies(self.ctx).for_requests(url)
        return {"credential": {"account_name": self.section.account, "account_key": self.key},
                "connection_timeout": self.timeout, "read_timeout": self.timeout, "retry_total": 0,
                "connection_verify": verify, "proxies": proxies, "use_env_settings": False}

    def blobs(self):
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient(self.blob_url, **self._options(self.blob_url))

    def queue(self):
        from azure.storage.queue import QueueClient

        return QueueClient(self.queue_url, self.section.queue or "", **self._options(self.queue_url))

    async def run(self, fn, *args, **kwargs):
        return await call(fn, *args, within=min(self.timeout, self.deadline.left()), **kwargs)


def azure(ctx: CheckContext, section: AzureStorage, budget: float | None = None) -> Azure:
    return Azure(section, ctx, ctx.timeout * 0.8, Deadline(budget or ctx.timeout, margin=0.85))


def describe(exc: BaseException, client: Azure, doing: str) -> Verdict:
    from azure.core import exceptions as ax

    if proxied := proxy_verdict(client.ctx, exc, doing):
        return proxied
    if isinstance(exc, (NoAnswer, ax.ServiceResponseTimeoutError, ax.ServiceRequestTimeoutError)):
        return Verdict(Status.ERROR, f"Azure Storage did not answer while {doing} ({outside(exc)}).",
                       "Check that this machine may reach *.core.windows.net (firewall, proxy).")
    if isinstance(exc, ax.ServiceRequestError):
        text = outside(hide(str(exc), [client.key]), 160)
        return Verdict(Status.ERROR, f"Cannot connect to the storage account {client.section.account} while {doing}: "
                                     f"{text}", "Check the account name: a name that does not exist does not resolve.")
    raw = getattr(exc, "error_code", "") or ""
    code = str(getattr(raw, "value", raw))  # a StorageErrorCode enum or a plain string
    status = getattr(getattr(exc, "response", None), "status_code", 0) or getattr(exc, "status_code", 0)
    if code in ("AuthenticationFailed", "AuthorizationFailure") or isinstance(exc, ax.ClientAuthenticationError):
        return Verdict(Status.FAIL, f"Azure rejected the account key for the storage account {client.section.account} "
                                    f"({code or 'authentication failed'}).",
                       "Copy key1 or key2 again from Storage account › Security + networking › Access keys; if the key "
                       "is right, check the account's firewall allows this machine.")
    first_line = hide(str(getattr(exc, "message", "") or exc), [client.key]).splitlines()[0] if str(exc) else ""
    return Verdict(Status.ERROR, f"Azure Storage answered with an error while {doing}: {code or status} "
                                 f"{outside(first_line, 160)}".rstrip() + ".", "")


def _fail(check_id: str, verdict: Verdict) -> CheckResult:
    return result(check_id, verdict.status, verdict.message, verdict.hint)


def _key_is_base64(key: str) -> bool:
    try:
        base64.b64decode(key, validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


def _bad_key() -> CheckResult:
    return result("storage.credentials", Status.FAIL,
                  "The account key is not a storage account key (it must be base64 text, 88 characters ending in ==).",
                  "Copy key1 or key2 from Storage account › Access keys (not a connection string or a SAS token).")


# --- Account key, container, probe blob --------------------------------------------------------------------------


async def credentials_rejected(ctx: CheckContext, section: AzureStorage) -> bool:
    """Whether Azure refuses the account key itself (so an access denied elsewhere says nothing)."""
    if not _key_is_base64(section.account_key.get_secret_value()):
        return True
    client = azure(ctx, section)
    try:
        await client.run(client.blobs().get_service_properties)
    except Exception as exc:
        return describe(exc, client, "checking the account key").message.startswith("Azure rejected the account key")
    return False


async def access(ctx: CheckContext, section: AzureStorage) -> list[CheckResult]:
    if ctx.insecure:
        return [insecure_result()] + await _access(ctx, section)
    return await _access(ctx, section)


async def _access(ctx: CheckContext, section: AzureStorage) -> list[CheckResult]:
    if not _key_is_base64(section.account_key.get_secret_value()):
        return [_bad_key()]
    client = azure(ctx, section)
    service = client.blobs()
    try:
        await client.run(service.get_service_properties)
    except Exception as exc:
        return [_fail("storage.credentials", describe(exc, client, "checking the account key"))]
    out = [result("storage.credentials", Status.PASS,
                  f"The account key for the storage account {section.account} is valid.")]
    container = service.get_container_client(section.container)
    try:
        await client.run(container.get_container_properties)
    except Exception as exc:
        if getattr(exc, "error_code", "") == "ContainerNotFound":
            out.append(result("storage.bucket", Status.FAIL,
                              f"The container {section.container} does not exist in the account {section.account}.",
                              "Create it as a private container (Containers › + Container), or correct the name."))
        else:
            out.append(_fail("storage.bucket", describe(exc, client, f"looking up the container {section.container}")))
        return out
    out.append(result("storage.bucket", Status.PASS, f"The container {section.container} exists."))
    out.append(await _probe(client, container))
    return out


async def _probe(client: Azure, container: Any) -> CheckResult:
    key = probe_key()
    blob = container.get_blob_client(key)
    return await probe_round_trip(key, "blob", lambda body: client.run(blob.upload_blob, body, overwrite=False),
                                  lambda: client.run(lambda: blob.download_blob().readall()),
                                  lambda: client.run(blob.delete_blob), lambda exc, doing: describe(exc, client, doing))


# --- Private container -------------------------------------------------------------------------------------------


async def extras(ctx: CheckContext, section: AzureStorage) -> list[CheckResult]:
    if not _key_is_base64(section.account_key.get_secret_value()):
        return [result("storage.private", Status.SKIPPED, "The account key is not usable (see Credentials).")]
    client = azure(ctx, section)
    container = client.blobs().get_container_client(section.container)
    try:
        policy = await client.run(container.get_container_access_policy)
    except Exception as exc:
        if getattr(exc, "error_code", "") == "ContainerNotFound":
            return [result("storage.private", Status.SKIPPED, f"The container {section.container} does not exist.")]
        return [_fail("storage.private", describe(exc, client, "reading the container's access level"))]
    level = policy.get("public_access")
    if not level:
        return [result("storage.private", Status.PASS, f"The container {section.container} is private "
                                                       "(no anonymous access).")]
    identifiers = {item.id: item.access_policy for item in policy.get("signed_identifiers", [])}

    async def apply() -> None:
        await client.run(container.set_container_access_policy, signed_identifiers=identifiers, public_access=None)

    what = "list and read every blob" if level == "container" else "read any blob whose name they know"
    return [result("storage.private", Status.WARN,
                   f"The container {section.container} allows anonymous access (level '{level}'): anyone may {what}.",
                   "W&B serves files through signed URLs; set the access level to Private.",
                   FixAction(f"Set the public access level of {section.container} to Private (stored access "
                             "policies kept).", "public access level: private (x-ms-blob-public-access removed)",
                             apply))]


# --- CORS ------------------------------------------------------------------------------------------------------


def _split(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
    return tuple(item.strip() for item in items if item and item.strip())


def from_azure_rule(rule: Any) -> CorsRule:
    return CorsRule(_split(rule.allowed_origins), _split(rule.allowed_methods), _split(rule.allowed_headers),
                    _split(rule.exposed_headers), getattr(rule, "max_age_in_seconds", None))


async def cors(ctx: CheckContext, section: AzureStorage) -> list[CheckResult]:
    origin = host_origin(ctx)
    if origin is None:
        return [result("storage.cors", Status.SKIPPED, "The server's address is needed: complete the Host step first.")]
    if not _key_is_base64(section.account_key.get_secret_value()):
        return [result("storage.cors", Status.SKIPPED, "The account key is not usable (see Credentials).")]
    client = azure(ctx, section)
    service = client.blobs()
    try:
        rules = [from_azure_rule(rule) for rule in (await client.run(service.get_service_properties)).get("cors") or []]
    except Exception as exc:
        return [_fail("storage.cors", describe(exc, client, "reading the blob service's CORS rules"))]
    verdict = evaluate_cors(rules, origin, f"The blob service of {section.account}")
    fix = None
    merged = merge_rules(rules, wandb_rule(origin, max_age=3600))
    if verdict.status is not Status.PASS and len(merged) <= MAX_CORS_RULES:
        from azure.storage.blob import CorsRule as AzureRule

        async def apply() -> None:
            await client.run(service.set_service_properties, cors=[
                AzureRule(list(rule.origins), list(rule.methods), allowed_headers=list(rule.headers),
                          exposed_headers=list(rule.expose), max_age_in_seconds=rule.max_age or 0)
                for rule in merged])

        kept = f", keeping the {len(rules)} existing rule(s)" if rules else ""
        fix = FixAction(f"Add W&B's CORS rule for {origin} to the blob service of {section.account}{kept}.",
                        azure_cors_xml(merged), apply)
    elif verdict.status is not Status.PASS:
        verdict = Verdict(verdict.status, verdict.message, f"The blob service already has {len(rules)} CORS rules, "
                          f"Azure's limit: edit one to allow {origin} with GET, HEAD and PUT and the headers *.")
    return [result("storage.cors", verdict.status, verdict.message, verdict.hint, fix)]


async def signed_url_preflight(ctx: CheckContext, section: AzureStorage) -> list[CheckResult]:
    origin = host_origin(ctx)
    if origin is None:
        return [result("storage.preflight", Status.SKIPPED, "The server's address is needed: complete the Host step.")]
    if not _key_is_base64(section.account_key.get_secret_value()):
        return [result("storage.preflight", Status.SKIPPED, "The account key is not usable (see Credentials).")]
    from azure.storage.blob import BlobSasPermissions, generate_blob_sas

    client = azure(ctx, section)
    key = probe_key()
    sas = generate_blob_sas(section.account, section.container, key, account_key=client.key,
                            permission=BlobSasPermissions(create=True, write=True),
                            expiry=datetime.now(timezone.utc) + timedelta(minutes=10))
    return [await preflight(ctx, f"{client.blob_url}/{section.container}/{key}?{sas}", origin, client.timeout)]


# --- Queue and the BlobCreated event -----------------------------------------------------------------------------


def blob_created_subjects(content: str) -> list[str]:
    """Subjects of the BlobCreated events in one queue message (Event Grid writes base64-encoded JSON)."""
    for text in (content, _b64(content)):
        if not text:
            continue
        try:
            data = json.loads(text)
        except ValueError:
            continue
        events = data if isinstance(data, list) else [data]
        return [str(event.get("subject", "")) for event in events
                if isinstance(event, dict) and event.get("eventType") == BLOB_CREATED]
    return []


def _b64(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return ""


async def events(ctx: CheckContext, section: AzureStorage):
    """The queue result at once, then the end-to-end BlobCreated event (which waits)."""
    results, arrives = await _event_setup(ctx, section)
    for item in results:
        yield item
    if arrives is not None:
        yield await arrives()


async def _event_setup(ctx: CheckContext, section: AzureStorage):
    if not section.queue:
        return [result("storage.queue", Status.SKIPPED,
                       "No queue is configured: the server uses its internal queue (BUCKET_QUEUE=internal://).")], None
    if not _key_is_base64(section.account_key.get_secret_value()):
        return [result("storage.queue", Status.SKIPPED, "The account key is not usable (see Credentials).")], None
    client = azure(ctx, section)  # the lookup answers within the timeout, as every check does
    queue = client.queue()
    try:
        headers: dict = {}
        await client.run(queue.get_queue_properties,
                         raw_response_hook=lambda response: headers.update(response.http_response.headers))
    except Exception as exc:
        if getattr(exc, "error_code", "") == "QueueNotFound":
            return [result("storage.queue", Status.FAIL,
                           f"The queue {section.queue} does not exist in the account {section.account}.",
                           "Create it (Queue service › Queues › + Queue), or correct the name.")], None
        return [_fail("storage.queue", describe(exc, client, f"looking up the queue {section.queue}"))], None
    if not any(name.lower() == "x-ms-request-id" for name in (headers or {})):
        # Anything answering 200 (a web page, a proxy) would otherwise look like an existing queue.
        return [result("storage.queue", Status.ERROR,
                       f"{client.queue_url} answered, but not as Azure Storage (no x-ms-request-id header).",
                       "Check the storage account name and that no proxy answers in its place.")], None
    out = [result("storage.queue", Status.PASS, f"The queue {section.queue} exists.")]
    return out, lambda: _event_arrives(ctx, client, queue, section)


async def _event_arrives(ctx: CheckContext, client: Azure, queue, section: AzureStorage) -> CheckResult:
    wait = event_wait(ctx)
    client = replace(client, deadline=arrival_deadline(ctx))
    key = probe_key()
    blob = client.blobs().get_blob_client(section.container, key)
    try:
        await client.run(blob.upload_blob, b"wandb-local-setup event probe\n", overwrite=False)
    except Exception as exc:
        return _fail("storage.events", describe(exc, client, "writing the event test blob"))
    deadline, arrived = Deadline(wait, margin=1.0), False
    suffix = f"/containers/{section.container}/blobs/{key}"
    try:
        while not arrived and deadline.left() > 0.1:
            messages = await client.run(lambda: list(queue.receive_messages(max_messages=32, visibility_timeout=30)))
            for message in messages:
                subjects = blob_created_subjects(str(message.content or ""))
                if subjects and all(f"/blobs/{PROBE_PREFIX}" in subject for subject in subjects):
                    arrived = arrived or any(subject.endswith(suffix) for subject in subjects)
                    await client.run(queue.delete_message, message)  # the wizard's own probes
                else:  # someone else's message: visible again at once, untouched
                    await client.run(queue.update_message, message, visibility_timeout=0)
            if not arrived:
                await _sleep(min(1.0, deadline.left()))
    except Exception as exc:
        return _fail("storage.events", describe(exc, client, f"reading the queue {section.queue}"))
    finally:
        try:
            await client.run(blob.delete_blob)
        except Exception:
            pass  # under the wizard's prefix; the result below matters more
    if arrived:
        return result("storage.events", Status.PASS,
                      f"Writing {key} put a BlobCreated event on the queue {section.queue} (received and deleted).")
    return result("storage.events", Status.WARN,
                  f"Writing {key} brought no BlobCreated event to the queue {section.queue} within {wait:g} s: the "
                  "Event Grid subscription is missing, points elsewhere, or is slower than that.",
                  event_grid_instructions(section))


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(max(0.0, seconds))


# --- Instructions ----------------------------------------------------------------------------------------------


def instructions(values: Values, secrets: Secrets) -> list[Instruction]:
    missing: list[str] = []
    account = draft_value(provider_draft(values, "storage", "azure"), "account", v.azure_account, "ACCOUNT", missing)
    return [Instruction(
        "storage.azure-cors", "Blob service CORS rule (Azure CLI)",
        f"az storage cors add --account-name {account} --services b --methods GET HEAD PUT "
        f"--origins {host_url(values)} --allowed-headers '*' --exposed-headers '*' --max-age 3600",
        note="Or in the portal: Storage account › CORS › Blob service: origin = the server URL, methods "
             "GET, HEAD, PUT, all headers allowed and exposed.",
        placeholders=tuple(missing),
    )]


def chart(section: AzureStorage, out: ChartParts) -> None:
    """The chart builds az://$(BUCKET_NAME) and gives AZURE_STORAGE_KEY from the bucket secret's access key."""
    out.set("global.bucket.provider", "az")
    out.set("global.bucket.name", f"{section.account}/{section.container}")
    out.set("global.bucket.secret", {"secretName": "wandb-bucket", "accessKeyName": "ACCESS_KEY",
                                     "secretKeyName": "SECRET_KEY"})
    out.secret("wandb-bucket", "ACCESS_KEY", "storage.azure.account_key", section.account_key)
    out.set("app.env.BUCKET_QUEUE", f"az://{section.account}/{section.queue}" if section.queue else "internal://")
    out.env("AZURE_STORAGE_ACCOUNT", section.account)


PROVIDER = Provider(
    "storage", "azure", AzureStorage, render,
    checks={"storage.access": streamed(access), "storage.cors": streamed(cors),
            "storage.preflight": streamed(signed_url_preflight), "storage.events": events,
            "storage.extras": streamed(extras)},
    instructions=instructions, credentials_rejected=credentials_rejected, chart=chart)
