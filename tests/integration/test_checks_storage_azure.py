"""File storage checks for Azure Blob + Queue against a real Azurite (one per test session).

Azurite has no Event Grid, so no BlobCreated event can ever arrive: the end-to-end check must WARN with the
subscription to create, never pass. CORS and browser preflights are real in Azurite.
"""

from __future__ import annotations

import base64
import time

from tests.services.azurite import ACCOUNT, KEY, Azurite, azurite  # noqa: F401 (fixture)
from tests.services.fault_server import fault_server  # noqa: F401 (fixture)
from wizard.checks import CheckContext, Status
from wizard.checks.engine import checks_for
from tests.check_runs import collect
from wizard.draft import validate_step

HOST = "https://wandb.example.test"
CANARY_KEY = base64.b64encode(b"canary-azure-key-" + bytes(47)).decode()  # well-formed, wrong


def section(container: str, queue: str | None = None, key: str = KEY):
    values = {"account": ACCOUNT, "container": container}
    if queue:
        values["queue"] = queue
    result, errors = validate_step("storage", {"provider": "azure", "azure": values}, {"storage.azure.account_key": key})
    assert not errors, errors
    return result


async def run(cfg, server: Azurite, blob: str | None = None, timeout: float = 3.0, wait: float = 1.5):
    host, _ = validate_step("host", {"url": HOST})
    ctx = CheckContext({"storage": cfg, "host": host}, timeout=timeout, extra={
        "azure_blob_endpoint": blob or server.blob_endpoint, "azure_queue_endpoint": blob or server.queue_endpoint,
        "storage_event_wait": wait})
    started = time.monotonic()
    results = await collect(checks_for("storage"), ctx)
    elapsed = time.monotonic() - started
    for item in results:
        for text in (item.message, item.hint, item.fix.changes if item.fix else ""):
            assert KEY not in text and CANARY_KEY not in text, item
    return {item.id: item for item in results}, elapsed


def make_container(server: Azurite, public: str | None = None, cors: bool = False) -> str:
    name = server.unique("wandb-files")
    server.blob_service().create_container(name, public_access=public)
    return name


def make_queue(server: Azurite) -> str:
    name = server.unique("wandb-events")
    server.queue_client(name).create_queue()
    return name


def set_cors(server: Azurite, *rules) -> None:
    from azure.storage.blob import CorsRule

    server.blob_service().set_service_properties(cors=[CorsRule(*rule[:2], **rule[2]) for rule in rules])


async def test_good_configuration_passes_but_the_event_path_only_warns(azurite):
    set_cors(azurite, ([HOST], ["GET", "HEAD", "PUT"], {"allowed_headers": ["*"], "exposed_headers": ["ETag"]}))
    container, queue = make_container(azurite), make_queue(azurite)
    foreign = azurite.queue_client(queue).send_message("someone else's message").id
    results, elapsed = await run(section(container, queue), azurite)
    for check_id in ("storage.credentials", "storage.bucket", "storage.probe", "storage.private", "storage.cors",
                     "storage.preflight", "storage.queue"):
        assert results[check_id].status is Status.PASS, results[check_id]
    assert "Access-Control-Allow-Origin: https://wandb.example.test" in results["storage.preflight"].message
    events = results["storage.events"]
    assert events.status is Status.WARN  # no Event Grid in Azurite: never a pass it could not earn
    assert "Microsoft.Storage.BlobCreated" in events.hint
    assert f"/blobServices/default/containers/{container}/blobs/" in events.hint
    assert f"queues/{queue}" in events.hint
    assert elapsed < 8, elapsed
    # The other message is still there, visible; the probe blobs are gone.
    assert foreign in [m.id for m in azurite.queue_client(queue).receive_messages()]
    assert list(azurite.blob_service().get_container_client(container).list_blobs()) == []


async def test_wrong_key_is_named_without_showing_it(azurite):
    results, _ = await run(section(make_container(azurite), key=CANARY_KEY), azurite)
    credentials = results["storage.credentials"]
    assert credentials.status is Status.FAIL
    assert f"Azure rejected the account key for the storage account {ACCOUNT}" in credentials.message
    assert "Access keys" in credentials.hint
    # What needs the key is not judged on it (CORS, the private container): not checked, no advice on permissions.
    for check_id in ("storage.cors", "storage.private"):
        if check_id in results:
            assert results[check_id].status is Status.SKIPPED, results[check_id]
            assert "the credentials were rejected" in results[check_id].message
    assert "storage.cors" in results


async def test_key_that_is_not_a_storage_key(azurite):
    results, _ = await run(section(make_container(azurite), key="DefaultEndpointsProtocol=https;AccountKey=x"), azurite)
    assert results["storage.credentials"].status is Status.FAIL
    assert "not a storage account key" in results["storage.credentials"].message


async def test_missing_container(azurite):
    results, _ = await run(section("no-such-container"), azurite)
    assert results["storage.bucket"].status is Status.FAIL
    assert "The container no-such-container does not exist" in results["storage.bucket"].message


async def test_public_container_warns_and_the_fix_makes_it_private(azurite):
    container = make_container(azurite, public="blob")
    results, _ = await run(section(container), azurite)
    private = results["storage.private"]
    assert private.status is Status.WARN and "allows anonymous access (level 'blob')" in private.message
    await private.fix.apply()
    assert (await run(section(container), azurite))[0]["storage.private"].status is Status.PASS


async def test_cors_fix_is_merged_with_existing_rules_and_then_the_preflight_passes(azurite):
    set_cors(azurite, (["https://other.example"], ["GET"], {}))
    container = make_container(azurite)
    results, _ = await run(section(container), azurite)
    cors = results["storage.cors"]
    assert cors.status is Status.FAIL and f"No CORS rule allows the origin {HOST}" in cors.message
    assert results["storage.preflight"].status is Status.FAIL
    assert "<AllowedOrigins>https://other.example</AllowedOrigins>" in cors.fix.changes
    assert "<MaxAgeInSeconds>3600</MaxAgeInSeconds>" in cors.fix.changes
    await cors.fix.apply()
    results, _ = await run(section(container), azurite)
    assert results["storage.cors"].status is Status.PASS
    assert results["storage.preflight"].status is Status.PASS
    origins = [rule.allowed_origins for rule in azurite.blob_service().get_service_properties()["cors"]]
    assert "https://other.example" in origins


async def test_cors_without_put_fails_and_the_preflight_agrees(azurite):
    set_cors(azurite, ([HOST], ["GET", "HEAD"], {"allowed_headers": ["*"]}))
    results, _ = await run(section(make_container(azurite)), azurite)
    assert results["storage.cors"].status is Status.FAIL and "not to PUT" in results["storage.cors"].message
    assert results["storage.preflight"].status is Status.FAIL


async def test_missing_queue(azurite):
    results, _ = await run(section(make_container(azurite), queue="no-such-queue"), azurite)
    assert results["storage.queue"].status is Status.FAIL
    assert "The queue no-such-queue does not exist" in results["storage.queue"].message


async def test_hanging_endpoint_errors_within_the_timeout(azurite, fault_server):
    results, elapsed = await run(section("wandb-files", queue="wandb-events"), azurite,
                                 blob=fault_server.url("hang") + "/" + ACCOUNT, timeout=2.0)
    assert results["storage.credentials"].status is Status.ERROR
    assert "did not answer" in results["storage.credentials"].message
    assert elapsed < 2.0 + 1.5, elapsed
