"""Checks of the File storage step, registered once and dispatched on the chosen provider.

Registered checks (each yields one or more results with the ids in storage_common.TITLES):
  storage.access   volume (local); endpoint, credentials, bucket/container, region, probe object
  storage.cors     CORS for the server's origin (with a merging fix)
  storage.preflight  a browser's OPTIONS preflight on a signed PUT URL, as `wandb verify` does
  storage.events   the object-created path: SQS / Pub/Sub / Azure queue, end to end where it can run
  storage.extras   KMS key and notifications queue (S3), signBlob (GCS), private container (Azure)
"""

from __future__ import annotations

import os
import shutil

from dataclasses import replace

from wizard.checks.engine import CheckContext, CheckResult, Status, register
from wizard.checks.storage_common import result
from wizard.config import GcsStorage, LocalStorage, S3CompatibleStorage, S3Storage

LOW_SPACE = 20 * 1024**3  # bytes free below which a bind path gets a warning
EVENTS_TIMEOUT = 30.0  # the end-to-end event may take up to storage_event_wait seconds after the setup calls


def _module(section):
    if isinstance(section, (S3Storage, S3CompatibleStorage)):
        from wizard.checks import storage_s3 as module
    elif isinstance(section, GcsStorage):
        from wizard.checks import storage_gcs as module
    else:
        from wizard.checks import storage_azure as module
    return module


def _local(check_id: str):
    return result(check_id, Status.SKIPPED, "Not used: files stay in the server's data volume.")


@register("storage", "storage.access", "Bucket, credentials and a test object")
async def check_access(ctx: CheckContext):
    section = ctx.section("storage")
    if isinstance(section, LocalStorage) or section is None:
        for item in local_volume(ctx):
            yield item
        return
    if ctx.insecure:
        yield result("storage.tls", Status.WARN, "TLS certificate verification is turned off for these checks: a "
                     "passing result does not prove the storage endpoint's certificate is valid.",
                     "Give the CA file that signed the endpoint's certificate instead of turning verification off.")
    for item in await _module(section).access(ctx, section):
        yield item


async def _from_provider(ctx: CheckContext, check_id: str, function: str) -> list:
    """The chosen provider's results of `function`, or 'not used' for the local volume."""
    section = ctx.section("storage")
    if isinstance(section, LocalStorage) or section is None:
        return [_local(check_id)]
    return await unless_rejected(ctx, section, await getattr(_module(section), function)(ctx, section))


NOT_CHECKED = "Not checked: the credentials were rejected (see 'Credentials valid')."


async def unless_rejected(ctx: CheckContext, section, results: list[CheckResult]) -> list[CheckResult]:
    """A check that depends on the credentials failed: when the credentials themselves are refused, its failure
    (an "access denied" with advice about permissions) says nothing, so it is not checked."""
    if not any(item.status is Status.FAIL for item in results):  # refused, not silent: ask about the key
        return results
    rejected = getattr(_module(section), "credentials_rejected", None)
    if rejected is None or not await rejected(ctx, section):
        return results
    return [replace(item, status=Status.SKIPPED, message=NOT_CHECKED, hint="", fix=None)
            if item.status in (Status.FAIL, Status.ERROR) else item for item in results]


@register("storage", "storage.cors", "CORS for the server's origin")
async def check_cors(ctx: CheckContext):
    for item in await _from_provider(ctx, "storage.cors", "cors"):
        yield item


@register("storage", "storage.preflight", "Browser upload preflight")
async def check_preflight(ctx: CheckContext):
    for item in await _from_provider(ctx, "storage.preflight", "signed_url_preflight"):
        yield item


@register("storage", "storage.events", "Object-created events", timeout=EVENTS_TIMEOUT)
async def check_events(ctx: CheckContext):
    section = ctx.section("storage")
    if isinstance(section, LocalStorage) or section is None:
        yield _local("storage.queue")
        return
    if isinstance(section, S3CompatibleStorage):
        yield result("storage.queue", Status.SKIPPED, "S3-compatible stores use the server's internal queue.")
        return
    produced = _module(section).events(ctx, section)
    if hasattr(produced, "__anext__"):  # streams its slow end-to-end result last
        async for item in produced:
            for checked in await unless_rejected(ctx, section, [item]):
                yield checked
    else:
        for item in await unless_rejected(ctx, section, await produced):
            yield item


@register("storage", "storage.extras", "Encryption, signing and access")
async def check_extras(ctx: CheckContext):
    section = ctx.section("storage")
    if isinstance(section, (LocalStorage, S3CompatibleStorage)) or section is None:
        yield result("storage.kms", Status.SKIPPED, "Nothing more to check for this kind of storage.")
        return
    for item in await unless_rejected(ctx, section, await _module(section).extras(ctx, section)):
        yield item


def _free_bytes(path: str) -> tuple[str, int]:
    """Free space where `path` is (or, if it does not exist yet, on its nearest existing parent)."""
    probe = path
    while probe and not os.path.exists(probe):
        probe = os.path.dirname(probe.rstrip("/")) or "/"
    return probe, shutil.disk_usage(probe).free


def local_volume(ctx: CheckContext):
    server = ctx.section("server")
    volume = server.volume if server is not None else "wandb"
    message = (f"Files stay in the server's data volume ({volume}, mounted at /vol): no bucket to check. Back up "
               "that volume.")
    if volume.startswith("/"):
        where, free = _free_bytes(volume)
        if free < LOW_SPACE:
            return [result("storage.local", Status.WARN,
                           f"{message} The bind path {volume} is on a filesystem with only {free / 1024**3:.1f} GB "
                           f"free ({where}).",
                           "W&B keeps every file it stores there: give at least 20 GB, or use an external bucket.")]
        message += f" {free / 1024**3:.0f} GB are free there."
    return [result("storage.local", Status.PASS, message)]
