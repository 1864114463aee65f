"""File storage checks for Google Cloud Storage + Pub/Sub against real emulators (one of each per test session).

The storage emulator has no notifications API, no IAM and no browser preflights: the checks must say "cannot be
checked here" for those rather than pass. The notification verdict itself is tested on captured real API shapes in
tests/unit/test_storage_logic.py.
"""

from __future__ import annotations

import json

from tests.services.fault_server import fault_server  # noqa: F401 (fixture)
from tests.services.gcs_emulator import GcsEmulator, gcs_emulator  # noqa: F401 (fixture)
from tests.services.pubsub_emulator import PROJECT, PubSubEmulator, pubsub_emulator  # noqa: F401 (fixture)
from wizard.checks import CheckContext, Status
from wizard.checks.engine import checks_for
from tests.check_runs import collect
from wizard.draft import validate_step

HOST = "https://wandb.example.test"
GOOD_RULE = {"origin": [HOST], "method": ["GET", "HEAD", "PUT"], "responseHeader": ["*"], "maxAgeSeconds": 3000}


def section(bucket: str, topic: str | None = None, subscription: str | None = None, **fields):
    values = {"bucket": bucket, "instance_account": True, **fields}  # the emulator: anonymous credentials
    if topic:
        values.update(project=PROJECT, topic=topic, subscription=subscription)
    result, errors = validate_step("storage", {"provider": "gcs", "gcs": values})
    assert not errors, errors
    return result


async def run(cfg, gcs: GcsEmulator, pubsub: PubSubEmulator | None = None, endpoint: str | None = None,
              timeout: float = 3.0):
    host, _ = validate_step("host", {"url": HOST})
    extra = {"gcs_endpoint": endpoint or gcs.endpoint}
    if pubsub:
        extra["pubsub_endpoint"] = pubsub.host
    results = await collect(checks_for("storage"), CheckContext({"storage": cfg, "host": host}, timeout=timeout,
                                                                extra=extra))
    return {item.id: item for item in results}


def make_bucket(gcs: GcsEmulator, cors: list | None = None) -> str:
    name = gcs.unique("wandb-files")
    bucket = gcs.client().create_bucket(name)
    if cors is not None:
        bucket.cors = cors
        bucket.patch()
    return name


def make_subscription(pubsub: PubSubEmulator, topic: str | None = None, push: str | None = None) -> tuple[str, str]:
    topic = topic or pubsub.unique("wandb-topic")
    publisher, subscriber = pubsub.publisher(), pubsub.subscriber()
    try:
        publisher.create_topic(name=f"projects/{PROJECT}/topics/{topic}")
    except Exception:
        pass  # already there
    subscription = pubsub.unique("wandb-sub")
    request = {"name": f"projects/{PROJECT}/subscriptions/{subscription}", "topic": f"projects/{PROJECT}/topics/{topic}"}
    if push:
        request["push_config"] = {"push_endpoint": push}
    subscriber.create_subscription(request=request)
    return topic, subscription


async def test_good_configuration_passes_and_says_what_cannot_be_checked_here(gcs_emulator, pubsub_emulator):
    bucket = make_bucket(gcs_emulator, cors=[GOOD_RULE])
    topic, subscription = make_subscription(pubsub_emulator)
    results = await run(section(bucket, topic, subscription), gcs_emulator, pubsub_emulator)
    for check_id in ("storage.bucket", "storage.probe", "storage.cors", "storage.subscription"):
        assert results[check_id].status is Status.PASS, results[check_id]
    assert results["storage.credentials"].status is Status.SKIPPED
    notification = results["storage.notification"]
    assert notification.status is Status.SKIPPED and "Cannot be checked here" in notification.message
    assert f"gsutil notification create -t projects/{PROJECT}/topics/{topic} -f json gs://{bucket}" in notification.hint
    signing = results["storage.signing"]
    assert signing.status is Status.SKIPPED and "gcloud iam service-accounts" in signing.hint
    assert results["storage.preflight"].status is Status.SKIPPED  # the emulator answers OPTIONS with 501


async def test_missing_bucket(gcs_emulator):
    results = await run(section("no-such-bucket-x9"), gcs_emulator)
    assert results["storage.bucket"].status is Status.FAIL
    assert "The bucket no-such-bucket-x9 does not exist" in results["storage.bucket"].message


async def test_no_cors_fix_applied_then_passes_keeping_existing_rules(gcs_emulator):
    other = {"origin": ["https://other.example"], "method": ["GET"], "responseHeader": ["Content-Type"]}
    bucket = make_bucket(gcs_emulator, cors=[other])
    results = await run(section(bucket), gcs_emulator)
    cors = results["storage.cors"]
    assert cors.status is Status.FAIL and f"No CORS rule allows the origin {HOST}" in cors.message
    rules = json.loads(cors.fix.changes)
    assert rules[0]["origin"] == [HOST] and rules[1] == other
    await cors.fix.apply()
    assert (await run(section(bucket), gcs_emulator))["storage.cors"].status is Status.PASS
    assert other in gcs_emulator.client().get_bucket(bucket).cors


async def test_cors_without_put(gcs_emulator):
    bucket = make_bucket(gcs_emulator, cors=[dict(GOOD_RULE, method=["GET", "HEAD"])])
    cors = (await run(section(bucket), gcs_emulator))["storage.cors"]
    assert cors.status is Status.FAIL and "not to PUT" in cors.message


async def test_subscription_on_another_topic(gcs_emulator, pubsub_emulator):
    bucket = make_bucket(gcs_emulator, cors=[GOOD_RULE])
    _, subscription = make_subscription(pubsub_emulator)
    other_topic, _ = make_subscription(pubsub_emulator)
    results = await run(section(bucket, other_topic, subscription), gcs_emulator, pubsub_emulator)
    check = results["storage.subscription"]
    assert check.status is Status.FAIL
    assert f"not from projects/{PROJECT}/topics/{other_topic}" in check.message


async def test_missing_subscription_and_push_subscription(gcs_emulator, pubsub_emulator):
    bucket = make_bucket(gcs_emulator, cors=[GOOD_RULE])
    topic, _ = make_subscription(pubsub_emulator)
    results = await run(section(bucket, topic, "no-such-sub"), gcs_emulator, pubsub_emulator)
    assert results["storage.subscription"].status is Status.FAIL
    assert "does not exist" in results["storage.subscription"].message
    topic, push = make_subscription(pubsub_emulator, push="https://push.example.test/hook")
    results = await run(section(bucket, topic, push), gcs_emulator, pubsub_emulator)
    assert "push subscription" in results["storage.subscription"].message


async def test_hanging_endpoint_errors_within_the_timeout(gcs_emulator, fault_server):
    import time

    started = time.monotonic()
    results = await run(section("wandb-files-hang"), gcs_emulator, endpoint=fault_server.url("hang"), timeout=2.0)
    assert results["storage.bucket"].status is Status.ERROR
    assert "did not answer" in results["storage.bucket"].message
    assert time.monotonic() - started < 2.0 + 1.5
