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
from tests.integration import test_checks_storage_s3 as s3_case
from tests.services import moto_server
from wizard.checks.engine import CheckContext, Status, checks_for
from wizard.draft import validate_step

RUNS = 7


def _context(moto: moto_server.MotoServer) -> CheckContext:
    """A bucket that passes every check (CORS for HOST, a queue with its policy, the notification), as the S3 check
    tests make it."""
    bucket = s3_case.make_bucket(moto, cors=[s3_case.GOOD_RULE])
    queue, _, _ = s3_case.make_queue(moto, bucket)
    host, errors = validate_step("host", {"url": s3_case.HOST})
    assert not errors, errors
    return CheckContext({"storage": s3_case.s3_section(moto, bucket, queue=queue), "host": host}, timeout=10,
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
            ctx = _context(moto)
            bucket, queue = ctx.sections["storage"].bucket, ctx.sections["storage"].queue
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
