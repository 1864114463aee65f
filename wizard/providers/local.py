"""File storage in the server's data volume (/vol): no bucket. The check looks at the free space of a bind path."""

from __future__ import annotations

import os
import shutil
from typing import Literal

from wizard.checks.engine import CheckContext, CheckResult, Status
from wizard.checks.storage_common import result
from wizard.providers.base import ChartParts, Provider, Section, nothing_to_check

LOW_SPACE = 20 * 1024**3  # bytes free below which a bind path gets a warning
NOT_USED = "Not used: files stay in the server's data volume."
NOTHING_MORE = "Nothing more to check for this kind of storage."


class LocalStorage(Section):
    provider: Literal["local"] = "local"


def _free_bytes(path: str) -> tuple[str, int]:
    """Free space where `path` is (or, if it does not exist yet, on its nearest existing parent)."""
    probe = path
    while probe and not os.path.exists(probe):
        probe = os.path.dirname(probe.rstrip("/")) or "/"
    return probe, shutil.disk_usage(probe).free


def volume_result(ctx: CheckContext) -> CheckResult:
    if ctx.in_pods:
        return result("storage.local", Status.FAIL, "Kubernetes: W&B's operator keeps files in object storage, not "
                      "on a volume of the server.", "Choose Amazon S3, Google Cloud Storage, Azure Blob or an "
                      "S3-compatible store in File storage.")
    server = ctx.section("server")
    volume = server.volume if server is not None else "wandb"
    message = (f"Files stay in the server's data volume ({volume}, mounted at /vol): no bucket to check. Back up "
               "that volume.")
    if volume.startswith("/"):
        where, free = _free_bytes(volume)
        if free < LOW_SPACE:
            return result("storage.local", Status.WARN,
                          f"{message} The bind path {volume} is on a filesystem with only {free / 1024**3:.1f} GB "
                          f"free ({where}).",
                          "W&B keeps every file it stores there: give at least 20 GB, or use an external bucket.")
        message += f" {free / 1024**3:.0f} GB are free there."
    return result("storage.local", Status.PASS, message)


async def access(ctx: CheckContext, section: LocalStorage):
    yield volume_result(ctx)


def chart(section: LocalStorage, out: ChartParts) -> None:
    out.cannot.append("storage: files are kept on the container's volume here; the operator chart needs object "
                      "storage: choose Amazon S3, Google Cloud Storage, Azure Blob or an S3-compatible store")


PROVIDER = Provider(
    "storage", "local", LocalStorage, in_container=True,
    checks={
        "storage.access": access,
        "storage.cors": nothing_to_check(result("storage.cors", Status.SKIPPED, NOT_USED)),
        "storage.preflight": nothing_to_check(result("storage.preflight", Status.SKIPPED, NOT_USED)),
        "storage.events": nothing_to_check(result("storage.queue", Status.SKIPPED, NOT_USED)),
        "storage.extras": nothing_to_check(result("storage.kms", Status.SKIPPED, NOTHING_MORE)),
    }, chart=chart)
