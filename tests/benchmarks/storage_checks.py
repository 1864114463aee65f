"""The Amazon S3 step's live checks (credentials, bucket, region, probe object, CORS, signed-URL preflight, SQS queue,
its policy, the bucket notification, the end-to-end event) against a real moto server on this machine, beside their
baseline: the same S3/SQS/STS calls made one after another on clients built beforehand, which is what the network
and moto cost. The gap is the checks' own work (building clients, threads, parsing). Wall and CPU seconds, medians.
Run: .venv/bin/python -m tests.benchmarks.storage_checks"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from tests.check_runs import collect
from tests.services import moto_server
from wizard.checks.engine import CheckContext, Status, checks_for
from wizard.draft import validate_step

RUNS = 7
HOST = "https://wandb.example.test"


def _prepare(moto: moto_server.MotoServer) -> tuple[str, str]:
    """A bucket that passes every check: CORS for HOST, a queue with its policy, the notification."""
    import json

    bucket, queue = moto.unique("bench-files"), moto.unique("bench-events")
    s3, sqs = moto.client("s3"), moto.client("sqs")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": [HOST], "AllowedMethods": ["GET", "HEAD", "PUT"], "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3000}]})
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}}}]})})
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    return bucket, queue


def _context(moto: moto_server.MotoServer, bucket: str, queue: str) -> CheckContext:
    storage, errors = validate_step("storage", {"provider": "s3", "s3": {
        "bucket": bucket, "region": "us-east-1", "queue": queue, "access_key_id": moto.access_key_id}},
        {"storage.s3.secret_access_key": moto.secret_access_key})
    host, more = validate_step("host", {"url": HOST})
    assert not errors and not more, (errors, more)
    return CheckContext({"storage": storage, "host": host}, timeout=10,
                        extra={"aws_endpoint_url": moto.endpoint, "storage_event_wait": 5.0})


def _checks(ctx: CheckContext) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    results = asyncio.run(collect(checks_for("storage"), ctx))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    passed = {r.id for r in results if r.status is Status.PASS}
    expected = {"storage.credentials", "storage.bucket", "storage.region", "storage.probe", "storage.cors",
                "storage.queue", "storage.queue-policy", "storage.notification", "storage.events"}
    assert expected <= passed, [(r.id, r.status, r.message) for r in results]
    return wall, cpu


def _bare_calls(moto: moto_server.MotoServer, bucket: str, queue: str, clients: dict) -> tuple[float, float]:
    """The checks' API calls, one after another, on clients built beforehand (the event's wait included)."""
    s3, sqs, sts = clients["s3"], clients["sqs"], clients["sts"]
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(3):
        sts.get_caller_identity()
    s3.get_bucket_location(Bucket=bucket)
    s3.get_bucket_cors(Bucket=bucket)
    key = f"wandb-local-setup-probe/{moto.unique('bench')}"
    s3.put_object(Bucket=bucket, Key=key, Body=b"probe")
    s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.delete_object(Bucket=bucket, Key=key)
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "Policy"])
    s3.get_bucket_notification_configuration(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=b"probe")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    s3.delete_object(Bucket=bucket, Key=key)
    return time.perf_counter() - wall, time.process_time() - cpu


def measure() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        moto = moto_server.start(Path(folder))
        try:
            bucket, queue = _prepare(moto)
            ctx = _context(moto, bucket, queue)
            _checks(ctx)  # the first run in a process loads the SDKs and their models: not counted
            checks = [_checks(ctx) for _ in range(RUNS)]
            clients = {service: moto.client(service) for service in ("s3", "sqs", "sts")}
            bare = [_bare_calls(moto, bucket, queue, clients) for _ in range(RUNS)]
        finally:
            moto_server.stop(moto.process)
    return {"runs": RUNS,
            "checks_wall": statistics.median(w for w, _ in checks), "checks_cpu": statistics.median(c for _, c in checks),
            "bare_wall": statistics.median(w for w, _ in bare), "bare_cpu": statistics.median(c for _, c in bare)}


def table(figures: dict[str, float]) -> str:
    return "\n".join([
        f"Amazon S3 step against moto, {figures['runs']} runs, medians   wall      CPU (this process)",
        f"  the step's live checks                       {figures['checks_wall']:6.2f} s  {figures['checks_cpu']:6.2f} s",
        f"  baseline: the same calls, clients prebuilt   {figures['bare_wall']:6.2f} s  {figures['bare_cpu']:6.2f} s",
    ])


if __name__ == "__main__":
    print(table(measure()))
