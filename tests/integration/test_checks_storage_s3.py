"""File storage checks for S3 (+SQS, KMS) and S3-compatible stores, against a real moto server with auth on.

moto answers like S3/SQS/STS/KMS: a wrong secret fails, notifications deliver real ObjectCreated messages. Its one
gap: with authentication on it cannot answer a browser preflight on a presigned URL (it looks for an Authorization
header and fails with 500), and without authentication its server adds Access-Control-Allow-Origin to every
answer (flask-cors), whatever the bucket's rules. So here the preflight must simply not pass; the preflight's pass
and fail paths are proven against Azurite, whose preflights follow the configured rules.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.services.fault_server import fault_server  # noqa: F401 (fixture)
from tests.services.host_address import machine_address
from tests.services.moto_server import MotoServer, moto_server  # noqa: F401 (fixture)
from wizard.checks import CheckContext, Status
from wizard.checks.engine import checks_for
from tests.check_runs import collect
from wizard.draft import validate_step

HOST = "https://wandb.example.test"
GOOD_RULE = {"AllowedOrigins": [HOST], "AllowedMethods": ["GET", "HEAD", "PUT"], "AllowedHeaders": ["*"],
             "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3000}


def _section(provider: str, values: dict, secrets: dict):
    section, errors = validate_step("storage", {"provider": provider, provider.replace("-", "_"): values}, secrets)
    assert not errors, errors
    return section


def s3_section(moto: MotoServer, bucket: str, secret: str | None = None, **fields):
    values = {"bucket": bucket, "region": "us-east-1", "access_key_id": moto.access_key_id, **fields}
    return _section("s3", values, {"storage.s3.secret_access_key": secret or moto.secret_access_key})


async def run(section, moto: MotoServer | None = None, endpoint: str | None = None, timeout: float = 3.0,
              host: str = HOST, insecure: bool = False):
    host_section, _ = validate_step("host", {"url": host})
    extra = {"storage_event_wait": 3.0}
    if moto or endpoint:
        extra["aws_endpoint_url"] = endpoint or moto.endpoint
    ctx = CheckContext({"storage": section, "host": host_section}, timeout=timeout, extra=extra, insecure=insecure)
    started = time.monotonic()
    results = await collect(checks_for("storage"), ctx)
    elapsed = time.monotonic() - started
    secrets = [moto.secret_access_key] if moto else []
    secret = getattr(section, "secret_access_key", None) or getattr(section, "secret_key", None)
    if secret is not None:
        secrets.append(secret.get_secret_value())
    for item in results:
        for text in (item.message, item.hint, item.fix.changes if item.fix else "", item.fix.description if item.fix else ""):
            for value in secrets:
                assert value not in text, item
    return {item.id: item for item in results}, elapsed


def make_bucket(moto: MotoServer, region: str = "us-east-1", cors: list | None = None) -> str:
    bucket = moto.unique("wandb-files")
    s3 = moto.client("s3", region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    if cors is not None:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": cors})
    return bucket


def make_queue(moto: MotoServer, bucket: str | None = None, notify: bool = True) -> tuple[str, str, str]:
    """A queue (name, url, arn); with `bucket`, the policy and the bucket's notification W&B's docs ask for."""
    sqs = moto.client("sqs")
    name = moto.unique("wandb-events")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    if bucket:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": ["sqs:SendMessage"], "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}}}]})})
        if notify:
            moto.client("s3").put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    return name, url, arn


async def test_good_s3_configuration_passes_end_to_end(moto_server):
    bucket = make_bucket(moto_server, cors=[GOOD_RULE])
    queue, _, _ = make_queue(moto_server, bucket)
    key = moto_server.client("kms").create_key()["KeyMetadata"]["Arn"]
    notifications, _, _ = make_queue(moto_server)
    results, elapsed = await run(s3_section(moto_server, bucket, queue=queue, kms_key_arn=key,
                                            notifications_queue=notifications), moto_server)
    for check_id in ("storage.credentials", "storage.bucket", "storage.region", "storage.probe", "storage.cors",
                     "storage.queue", "storage.queue-policy", "storage.notification", "storage.events",
                     "storage.kms", "storage.notifications-queue"):
        assert results[check_id].status is Status.PASS, results[check_id]
    assert "arn:aws:iam::123456789012:user/wizard" in results["storage.credentials"].message
    assert "received and deleted" in results["storage.events"].message
    assert "Sending was not tried" in results["storage.notifications-queue"].message
    # moto cannot answer a preflight on a presigned URL with auth on: the check must not pass what it could not see.
    assert results["storage.preflight"].status is not Status.PASS
    assert elapsed < 10, elapsed
    # The wizard's probe objects are gone; only the wizard's own messages were consumed.
    listed = moto_server.client("s3").list_objects_v2(Bucket=bucket)
    assert listed.get("KeyCount", 0) == 0


async def test_missing_bucket(moto_server):
    results, _ = await run(s3_section(moto_server, moto_server.unique("absent")), moto_server)
    assert results["storage.credentials"].status is Status.PASS
    bucket = results["storage.bucket"]
    assert bucket.status is Status.FAIL and "does not exist" in bucket.message
    assert "W&B does not create the bucket" in bucket.hint
    assert results["storage.cors"].status is Status.SKIPPED


async def test_wrong_secret_fails_without_showing_it(moto_server):
    bucket = make_bucket(moto_server)
    canary = "canary-aws-secret-9c1d-0000000000000000000000"
    results, _ = await run(s3_section(moto_server, bucket, secret=canary), moto_server)
    credentials = results["storage.credentials"]
    assert credentials.status is Status.FAIL
    assert "secret access key does not match" in credentials.message
    assert all(canary not in r.message + r.hint for r in results.values())


async def test_wrong_region_is_named_exactly(moto_server):
    bucket = make_bucket(moto_server, region="eu-west-1")
    results, _ = await run(s3_section(moto_server, bucket), moto_server)
    region = results["storage.region"]
    assert region.status is Status.FAIL
    assert "the bucket is in eu-west-1, not us-east-1" in region.message.lower()


async def test_missing_permissions_are_named(moto_server):
    bucket = make_bucket(moto_server, region="eu-west-1")
    key_id, secret = moto_server.limited_key(["s3:GetBucketLocation", "s3:PutObject"])
    section = _section("s3", {"bucket": bucket, "region": "us-east-1", "access_key_id": key_id},
                       {"storage.s3.secret_access_key": secret})
    results, _ = await run(section, moto_server)
    # Without s3:GetBucketLocation the region still comes from HeadBucket.
    assert "the bucket is in eu-west-1, not us-east-1" in results["storage.region"].message.lower()
    probe = results["storage.probe"]
    assert probe.status is Status.FAIL and "Access denied while writing the test object" in probe.message
    assert "s3:PutObject" in probe.hint
    assert secret not in probe.message + probe.hint


async def test_no_cors_fix_applied_then_passes_and_keeps_existing_rules(moto_server):
    other = {"AllowedOrigins": ["https://other.example"], "AllowedMethods": ["GET"]}
    bucket = make_bucket(moto_server, cors=[other])
    section = s3_section(moto_server, bucket)
    results, _ = await run(section, moto_server)
    cors = results["storage.cors"]
    assert cors.status is Status.FAIL and f"No CORS rule allows the origin {HOST}" in cors.message
    changes = json.loads(cors.fix.changes)
    assert changes["CORSRules"][0] == GOOD_RULE and changes["CORSRules"][1]["AllowedOrigins"] == ["https://other.example"]
    await cors.fix.apply()
    results, _ = await run(section, moto_server)
    assert results["storage.cors"].status is Status.PASS
    rules = moto_server.client("s3").get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert any(rule["AllowedOrigins"] == ["https://other.example"] for rule in rules)


async def test_bucket_without_any_cors_gets_the_fix(moto_server):
    bucket = make_bucket(moto_server)
    results, _ = await run(s3_section(moto_server, bucket), moto_server)
    cors = results["storage.cors"]
    assert cors.status is Status.FAIL and "has no CORS rules" in cors.message
    await cors.fix.apply()
    assert (await run(s3_section(moto_server, bucket), moto_server))[0]["storage.cors"].status is Status.PASS


async def test_cors_without_put(moto_server):
    bucket = make_bucket(moto_server, cors=[dict(GOOD_RULE, AllowedMethods=["GET", "HEAD"])])
    cors = (await run(s3_section(moto_server, bucket), moto_server))[0]["storage.cors"]
    assert cors.status is Status.FAIL
    assert "to GET and HEAD but not to PUT" in cors.message and cors.fix is not None


async def test_origin_mismatch(moto_server):
    bucket = make_bucket(moto_server, cors=[dict(GOOD_RULE, AllowedOrigins=["http://localhost:8080"])])
    cors = (await run(s3_section(moto_server, bucket), moto_server))[0]["storage.cors"]
    assert cors.status is Status.FAIL
    assert "No CORS rule allows the origin https://wandb.example.test" in cors.message
    assert "http://localhost:8080" in cors.message


async def test_missing_queue(moto_server):
    bucket = make_bucket(moto_server, cors=[GOOD_RULE])
    results, _ = await run(s3_section(moto_server, bucket, queue="no-such-queue-x1"), moto_server)
    queue = results["storage.queue"]
    assert queue.status is Status.FAIL and "The SQS queue no-such-queue-x1 does not exist in us-east-1" in queue.message


async def test_missing_notification_and_policy_fixed_then_the_probe_event_arrives(moto_server):
    bucket = make_bucket(moto_server, cors=[GOOD_RULE])
    queue, url, _ = make_queue(moto_server)
    foreign = moto_server.client("sqs").send_message(QueueUrl=url, MessageBody='{"not": "ours"}')["MessageId"]
    section = s3_section(moto_server, bucket, queue=queue)
    results, _ = await run(section, moto_server)
    assert results["storage.queue-policy"].status is Status.FAIL
    assert results["storage.notification"].status is Status.FAIL
    assert results["storage.events"].status is Status.SKIPPED
    policy = json.loads(results["storage.queue-policy"].fix.changes)
    assert policy["Statement"][-1]["Condition"] == {"ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}}
    await results["storage.queue-policy"].fix.apply()
    await results["storage.notification"].fix.apply()
    results, _ = await run(section, moto_server)
    assert results["storage.queue-policy"].status is Status.PASS
    assert results["storage.notification"].status is Status.PASS
    assert results["storage.events"].status is Status.PASS, results["storage.events"]
    # The other message is left for its consumer.
    left = moto_server.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    assert foreign in [m["MessageId"] for m in left.get("Messages", [])]


async def test_notification_to_a_different_queue(moto_server):
    bucket = make_bucket(moto_server, cors=[GOOD_RULE])
    _, _, other_arn = make_queue(moto_server, bucket)  # the bucket notifies this one
    queue, _, _ = make_queue(moto_server)
    results, _ = await run(s3_section(moto_server, bucket, queue=queue), moto_server)
    notification = results["storage.notification"]
    assert notification.status is Status.FAIL
    assert other_arn in notification.message and "not to the configured queue" in notification.message
    assert notification.fix is None  # adding an overlapping configuration would be refused by S3


async def test_kms_key_that_does_not_exist(moto_server):
    bucket = make_bucket(moto_server, cors=[GOOD_RULE])
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    results, _ = await run(s3_section(moto_server, bucket, kms_key_arn=arn), moto_server)
    assert results["storage.kms"].status is Status.FAIL and "does not exist" in results["storage.kms"].message


async def test_missing_notifications_queue(moto_server):
    bucket = make_bucket(moto_server, cors=[GOOD_RULE])
    results, _ = await run(s3_section(moto_server, bucket, notifications_queue="no-such-runs-queue"), moto_server)
    assert results["storage.notifications-queue"].status is Status.FAIL


async def test_hanging_endpoint_errors_within_the_timeout(fault_server, moto_server):
    section = s3_section(moto_server, "wandb-files-hang", queue="q-hang")
    results, elapsed = await run(section, moto_server, endpoint=fault_server.url("hang"), timeout=2.0)
    assert results["storage.credentials"].status is Status.ERROR
    assert "did not answer" in results["storage.credentials"].message
    assert elapsed < 2.0 + 1.5, elapsed


# --- S3-compatible: the same moto server as a plain S3 endpoint --------------------------------------------------


def compatible_section(moto: MotoServer, bucket: str, secret: str | None = None, **fields):
    values = {"endpoint": f"{machine_address()}:{moto.port}", "bucket": bucket, "access_key": moto.access_key_id,
              "tls": False, **fields}
    return _section("s3-compatible", values, {"storage.s3_compatible.secret_key": secret or moto.secret_access_key})


async def test_s3_compatible_good_configuration(moto_server):
    bucket = make_bucket(moto_server, cors=[GOOD_RULE])
    results, _ = await run(compatible_section(moto_server, bucket))
    for check_id in ("storage.endpoint", "storage.credentials", "storage.bucket", "storage.region", "storage.probe",
                     "storage.cors"):
        assert results[check_id].status is Status.PASS, results[check_id]
    assert results["storage.queue"].status is Status.SKIPPED
    assert "storage.tls" not in results
    results, _ = await run(compatible_section(moto_server, bucket), insecure=True)
    assert results["storage.tls"].status is Status.WARN and "verification is turned off" in results["storage.tls"].message


async def test_s3_compatible_wrong_secret_and_region(moto_server):
    bucket = make_bucket(moto_server, region="eu-west-1")
    results, _ = await run(compatible_section(moto_server, bucket, secret="canary-s3c-secret-0a0a0a"))
    assert results["storage.credentials"].status is Status.FAIL
    results, _ = await run(compatible_section(moto_server, bucket))
    assert "the bucket is in eu-west-1, not us-east-1" in results["storage.region"].message.lower()
    cors = results["storage.cors"]
    assert cors.status is Status.FAIL and cors.fix is not None
    await cors.fix.apply()
    assert (await run(compatible_section(moto_server, bucket)))[0]["storage.cors"].status is Status.PASS


async def test_s3_compatible_endpoint_not_listening():
    from tests.services.local_process import closed_port

    results, _ = await run(_section("s3-compatible", {"endpoint": f"{machine_address()}:{closed_port(machine_address())}",
                                                      "bucket": "wandb-files", "access_key": "AKIA", "tls": False},
                                    {"storage.s3_compatible.secret_key": "canary-secret-x"}))
    endpoint = results["storage.endpoint"]
    assert endpoint.status is Status.FAIL and "refused the connection" in endpoint.message


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "host.docker.internal"])
async def test_s3_compatible_endpoint_the_container_or_the_browsers_cannot_reach(host):
    results, _ = await run(_section("s3-compatible", {"endpoint": f"{host}:9000", "bucket": "wandb-files",
                                                      "access_key": "AKIA", "tls": False},
                                    {"storage.s3_compatible.secret_key": "canary-secret-x"}))
    endpoint = results["storage.endpoint"]
    assert endpoint.status is Status.FAIL and endpoint.fix is None
    assert "browsers" in endpoint.hint or "browsers" in endpoint.message
    assert set(results) & {"storage.credentials", "storage.bucket", "storage.probe"} == set()



async def test_a_rejected_secret_key_skips_what_depends_on_it_instead_of_blaming_permissions(moto_server):
    """With a wrong secret key the queue check used to say "Access denied ... grant these credentials s3:* ... sqs:*";
    the credentials are what is wrong, and the checks that need them say they were not checked."""
    bucket = make_bucket(moto_server, cors=[GOOD_RULE])
    queue, _, _ = make_queue(moto_server, bucket)
    results, _ = await run(s3_section(moto_server, bucket, secret="canary-wrong-s3-secret-1b1b", queue=queue),
                           moto_server)
    assert results["storage.credentials"].status is Status.FAIL
    assert "does not match the access key ID" in results["storage.credentials"].message
    for check_id in ("storage.cors", "storage.queue"):
        item = results[check_id]
        assert item.status is Status.SKIPPED and "the credentials were rejected" in item.message, item
        assert "grant these credentials" not in item.hint
    assert not any("grant these credentials" in item.hint for item in results.values())
