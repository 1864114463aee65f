"""Amazon S3 (with an SQS queue for object-created events, optional KMS encryption and a notifications queue).

The server gets BUCKET=s3://<bucket>, BUCKET_QUEUE=sqs://<queue> (or internal://), AWS_REGION, AWS_S3_KMS_ID and
NOTIFICATIONS_QUEUE, and the access keys as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, unless the admin chooses
the instance's role. The checks sign with those same keys (or, for the role, with the credentials the instance
metadata service gives, reached as the server reaches it: `wizard.checks.instance_metadata`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Annotated, Any, Literal
from urllib.parse import unquote_plus

from pydantic import Field, SecretStr, model_validator

from wizard import validators as v
from wizard.checks.engine import CheckContext, CheckResult, FixAction, Status
from wizard.checks.instance_metadata import METADATA_HOST, METADATA_PORT
from wizard.checks.net import Deadline
from wizard.checks.s3_api import (
    Aws, S3Target, aws, bucket_access, credentials, credentials_rejected, describe, error_code, fail,
    signed_url_preflight, cors as bucket_cors,
)
from wizard.checks.storage_common import (
    PROBE_PREFIX, Verdict, arrival_deadline, event_wait, insecure_result, origin_matches, outside, probe_key, result,
)
from wizard.container import Endpoint
from wizard.instructions import Instruction, draft_value, host_url, provider_draft, s3_cors_instructions
from wizard.providers.base import ChartParts, FieldProblem, Parts, Provider, Secrets, Section, Values, checked

NOTIFICATION_ID = "wandb-object-created"
POLICY_SID = "wandb-bucket-notifications"


class S3Storage(Section):
    provider: Literal["s3"] = "s3"
    bucket: Annotated[str, checked(v.s3_bucket)] = Field(title="Bucket", description="S3 bucket name, e.g. acme-wandb")
    region: Annotated[str, checked(v.aws_region)] = Field(title="Region", description="The bucket's region, e.g. us-east-1")
    queue: Annotated[str, checked(v.sqs_queue_name)] | None = Field(
        None, title="SQS queue", description="Standard SQS queue receiving the bucket's ObjectCreated events (empty: internal queue)"
    )
    kms_key_arn: Annotated[str, checked(v.kms_key_arn)] | None = Field(
        None, title="KMS key ARN", description="Optional key for server-side encryption (AWS_S3_KMS_ID)"
    )
    notifications_queue: Annotated[str, checked(v.sqs_queue_name)] | None = Field(
        None, title="Notifications queue", description="Optional SQS queue the server publishes run events to"
    )
    access_key_id: str | None = Field(
        None, title="Access key ID", description="The server's key (AWS_ACCESS_KEY_ID); the checks use it too"
    )
    secret_access_key: SecretStr | None = Field(
        None, title="Secret access key", description="The server's secret key (AWS_SECRET_ACCESS_KEY)"
    )
    instance_role: bool = Field(
        False, title="Use the instance's role",
        description="No keys: the server asks the EC2 instance metadata (a container needs IMDSv2 hop limit 2)",
    )

    @model_validator(mode="after")
    def _key_pair(self) -> "S3Storage":
        has_secret = bool(self.secret_access_key and self.secret_access_key.get_secret_value())
        if bool(self.access_key_id) != has_secret:
            raise FieldProblem(
                "secret_access_key" if self.access_key_id else "access_key_id",
                "give both the access key ID and the secret access key (or neither, with the instance's role)",
            )
        if self.instance_role and self.access_key_id:
            raise FieldProblem(
                "instance_role", "either give the server access keys or use the instance's role, not both: clear "
                "the keys or this choice"
            )
        if not self.instance_role and not self.access_key_id:
            raise FieldProblem(
                "access_key_id", "the server needs credentials for the bucket: give the access key ID and secret "
                "access key it will use, or choose the instance's role (only on an EC2 instance with a role)"
            )
        return self


def render(section: S3Storage, out: Parts) -> None:
    out.put("BUCKET", f"s3://{section.bucket}")
    out.put("BUCKET_QUEUE", f"sqs://{section.queue}" if section.queue else "internal://")
    out.put("AWS_REGION", section.region)
    if section.kms_key_arn:
        out.put("AWS_S3_KMS_ID", section.kms_key_arn)
    if section.notifications_queue:
        out.put("NOTIFICATIONS_QUEUE", f"sqs://{section.notifications_queue}")
    if section.access_key_id and section.secret_access_key is not None:
        out.put("AWS_ACCESS_KEY_ID", section.access_key_id)
        out.put("AWS_SECRET_ACCESS_KEY", out.secret("storage.s3.secret_access_key", section.secret_access_key), True)
    if section.instance_role:  # the server's SDK asks the instance metadata service for the role's credentials
        out.endpoints.append(Endpoint("AWS_EC2_METADATA", "storage.s3.instance_role", METADATA_HOST, METADATA_PORT))


def target(ctx: CheckContext, section: S3Storage) -> S3Target:
    """Amazon S3 with the keys the server gets (or, with the instance's role, none: the metadata service's)."""
    endpoint = ctx.extra.get("aws_endpoint_url")  # an emulator (tests) or a private endpoint
    secret = section.secret_access_key.get_secret_value() if section.secret_access_key else None
    return S3Target(section.bucket, section.region, endpoint, endpoint or "AWS",
                    section.access_key_id if not section.instance_role else None, secret)


# --- Credentials, bucket, region, probe object, CORS, preflight -------------------------------------------------


async def access(ctx: CheckContext, section: S3Storage):
    if ctx.insecure:
        yield insecure_result()
    client = aws(ctx, target(ctx, section))
    out: list[CheckResult] = []
    valid = await credentials(client, out)
    if valid and section.instance_role and ctx.in_pods:
        out.append(result("storage.instance-role", Status.WARN,
                          "These checks used this machine's instance role. The pods use their service account's role "
                          "(EKS: IRSA or Pod Identity), which may allow less: a pass here says nothing about it.",
                          "Give the pods' service account the same S3 (and SQS, KMS) permissions; check them from a "
                          "pod, e.g. aws sts get-caller-identity and aws s3 ls s3://<bucket>."))
    elif valid and section.instance_role:
        out.append(result("storage.instance-role", Status.WARN,
                          "The server gets no keys: it asks the EC2 instance metadata service for the role's "
                          "credentials. From a container that works only with IMDSv2's hop limit raised to 2.",
                          "aws ec2 modify-instance-metadata-options --instance-id <id> --http-tokens required "
                          "--http-put-response-hop-limit 2 (the checks ask the metadata service from this machine, "
                          "where the hop limit does not apply)."))
    for item in out + (await bucket_access(client) if valid else []):
        yield item


async def cors(ctx: CheckContext, section: S3Storage):
    yield await bucket_cors(ctx, target(ctx, section))


async def preflight(ctx: CheckContext, section: S3Storage):
    yield await signed_url_preflight(ctx, target(ctx, section))


async def _rejected(ctx: CheckContext, section: S3Storage) -> bool:
    return await credentials_rejected(ctx, target(ctx, section))


# --- SQS queue, its policy, the bucket notification, the end-to-end event --------------------------------------------


def _arn_matches(pattern: str, arn: str) -> bool:
    return origin_matches(arn, pattern)  # ArnLike: '*' wildcards, compared like origins


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def policy_allows_bucket(policy: dict[str, Any] | None, queue_arn: str, bucket_arn: str) -> bool:
    """Whether a queue policy lets S3 send messages from this bucket (sqs:SendMessage, SourceArn or broader)."""
    for statement in _as_list((policy or {}).get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        actions = [a.lower() for a in _as_list(statement.get("Action"))]
        if not any(a in ("sqs:sendmessage", "sqs:*", "*") for a in actions):
            continue
        principal = statement.get("Principal")
        principals = [principal] if isinstance(principal, str) else [
            p for values in (principal or {}).values() for p in _as_list(values)]
        if not any(p in ("*", "s3.amazonaws.com") for p in principals):
            continue
        if not any(r == "*" or r == queue_arn or _arn_matches(r, queue_arn) for r in _as_list(statement.get("Resource", "*"))):
            continue
        sources = [source for operator, values in (statement.get("Condition") or {}).items()
                   if operator.lower().startswith("arn") for key, source in values.items() if key.lower() == "aws:sourcearn"]
        if (statement.get("Condition") or {}) and not sources:
            continue  # another condition (e.g. SourceAccount only) cannot be judged here: be strict
        if not sources or any(s == bucket_arn or _arn_matches(s, bucket_arn) for value in sources for s in _as_list(value)):
            return True
    return False


def merged_policy(policy: dict[str, Any] | None, queue_arn: str, bucket_arn: str) -> dict[str, Any]:
    policy = dict(policy or {"Version": "2012-10-17"})
    statements = [s for s in _as_list(policy.get("Statement")) if s.get("Sid") != POLICY_SID]
    statements.append({
        "Sid": POLICY_SID, "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": bucket_arn}},
    })
    policy["Statement"] = statements
    return policy


def evaluate_notification(configuration: dict[str, Any], queue_arn: str) -> tuple[Verdict, bool]:
    """(verdict, whether adding our queue configuration is safe). Other destinations are named."""
    queues = configuration.get("QueueConfigurations", [])
    ours = [q for q in queues if q.get("QueueArn") == queue_arn]
    created = [q for q in ours if any(e in ("s3:ObjectCreated:*", "s3:*") for e in q.get("Events", []))]
    if created:
        rules = created[0].get("Filter", {}).get("Key", {}).get("FilterRules", [])
        if rules:
            shown = ", ".join(f"{r.get('Name')}={r.get('Value')}" for r in rules)
            return Verdict(Status.WARN, f"The bucket notifies the queue of created objects only where {outside(shown, 120)}.",
                           "W&B needs events for every object: remove the prefix/suffix filter."), False
        return Verdict(Status.PASS, "The bucket sends s3:ObjectCreated:* events to the queue."), False
    if ours:
        events = ", ".join(e for q in ours for e in q.get("Events", []))
        return Verdict(Status.FAIL, f"The bucket notifies the queue only of {outside(events, 120)}, not of every "
                                    "created object (s3:ObjectCreated:*).",
                       "Add s3:ObjectCreated:* to the notification (the fix below)."), True
    others = [q.get("QueueArn", "") for q in queues
              if any(e.startswith("s3:ObjectCreated") or e == "s3:*" for e in q.get("Events", []))
              and not q.get("Filter")]
    if others:
        return Verdict(Status.FAIL, f"The bucket sends its ObjectCreated events to {outside(', '.join(others), 200)}, "
                                    "not to the configured queue.",
                       "If W&B should read that queue, enter its name; otherwise change the notification's "
                       "destination (S3 › bucket › Properties › Event notifications)."), False
    return Verdict(Status.FAIL, "The bucket has no notification sending s3:ObjectCreated:* events to the queue.",
                   "Add the event notification (the fix below), as W&B's docs ask."), True


def merged_notification(configuration: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    merged = {key: value for key, value in configuration.items() if key != "ResponseMetadata"}
    queues = [q for q in merged.get("QueueConfigurations", []) if q.get("Id") != NOTIFICATION_ID]
    queues.append({"Id": NOTIFICATION_ID, "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]})
    merged["QueueConfigurations"] = queues
    return merged


async def events(ctx: CheckContext, section: S3Storage):
    """The queue, policy and notification results at once, then the end-to-end event (which waits)."""
    results, arrives = await _event_setup(ctx, section)
    for item in results:
        yield item
    if arrives is not None:
        yield await arrives()


async def _event_setup(ctx: CheckContext, section: S3Storage):
    if not section.queue:
        return [result("storage.queue", Status.SKIPPED,
                       "No SQS queue is configured: the server uses its internal queue (BUCKET_QUEUE=internal://).")], None
    client = aws(ctx, target(ctx, section))  # the setup calls answer within the timeout, as every check does
    sqs, s3 = await client.open("sqs"), await client.open("s3")
    try:
        url = (await client.run(sqs, "get_queue_url", QueueName=section.queue))["QueueUrl"]
        attributes = (await client.run(sqs, "get_queue_attributes", QueueUrl=url,
                                       AttributeNames=["QueueArn", "Policy"]))["Attributes"]
    except Exception as exc:
        code, _ = error_code(exc)
        if "NonExistentQueue" in code or code == "QueueDoesNotExist":
            return [result("storage.queue", Status.FAIL, f"The SQS queue {section.queue} does not exist in {section.region}.",
                           "Create a standard SQS queue with that name in the bucket's region, or correct the name.")], None
        return [fail("storage.queue", describe(exc, client, f"looking up the queue {section.queue}"))], None
    queue_arn = attributes["QueueArn"]
    partition = queue_arn.split(":")[1] if queue_arn.count(":") >= 5 else "aws"
    bucket_arn = f"arn:{partition}:s3:::{section.bucket}"
    out = [result("storage.queue", Status.PASS, f"The SQS queue {section.queue} exists ({queue_arn}).")]

    policy = json.loads(attributes["Policy"]) if attributes.get("Policy") else None
    if policy_allows_bucket(policy, queue_arn, bucket_arn):
        out.append(result("storage.queue-policy", Status.PASS,
                          f"The queue's policy lets the bucket {section.bucket} send messages (sqs:SendMessage)."))
    else:
        new_policy = merged_policy(policy, queue_arn, bucket_arn)

        async def apply_policy() -> None:
            await client.run(sqs, "set_queue_attributes", QueueUrl=url, Attributes={"Policy": json.dumps(new_policy)})

        out.append(result("storage.queue-policy", Status.FAIL,
                          f"The queue's policy does not let the bucket {section.bucket} send messages to it"
                          + (" (it has no policy)." if policy is None else "."),
                          "S3 needs sqs:SendMessage on the queue, limited to the bucket with aws:SourceArn.",
                          FixAction(f"Add a statement to the queue policy of {section.queue} allowing the bucket "
                                    "to send messages (other statements kept).", json.dumps(new_policy, indent=2),
                                    apply_policy)))

    try:
        configuration = await client.run(s3, "get_bucket_notification_configuration", Bucket=section.bucket)
    except Exception as exc:
        code, _ = error_code(exc)
        if code == "NoSuchBucket":
            out.append(result("storage.notification", Status.SKIPPED, f"The bucket {section.bucket} does not exist."))
        else:
            out.append(fail("storage.notification", describe(exc, client, "reading the bucket's notifications")))
        return out, None
    verdict, fixable = evaluate_notification(configuration, queue_arn)
    fix = None
    if fixable:
        new_configuration = merged_notification(configuration, queue_arn)

        async def apply_notification() -> None:
            await client.run(s3, "put_bucket_notification_configuration", Bucket=section.bucket,
                             NotificationConfiguration=new_configuration)

        fix = FixAction(f"Add a notification sending s3:ObjectCreated:* from {section.bucket} to {section.queue} "
                        "(existing notifications kept). Set the queue policy first: S3 tests the destination.",
                        json.dumps(new_configuration, indent=2), apply_notification)
    out.append(result("storage.notification", verdict.status, verdict.message, verdict.hint, fix))
    if verdict.status is not Status.PASS:
        out.append(result("storage.events", Status.SKIPPED, "Not tried: the bucket does not notify the queue yet."))
        return out, None
    return out, lambda: _event_arrives(ctx, client, s3, sqs, url, section)


def _probe_keys(body: str) -> tuple[list[str], bool]:
    """The object keys of an S3 event message, and whether it is an S3 test event."""
    try:
        data = json.loads(body)
    except ValueError:
        return [], False
    if not isinstance(data, dict):
        return [], False
    keys = [unquote_plus(record.get("s3", {}).get("object", {}).get("key", ""))
            for record in data.get("Records", []) if isinstance(record, dict)]
    return keys, data.get("Event") == "s3:TestEvent"


async def _event_arrives(ctx: CheckContext, client: Aws, s3, sqs, url: str, section: S3Storage) -> CheckResult:
    wait = event_wait(ctx)
    client = replace(client, deadline=arrival_deadline(ctx))
    key = probe_key()
    try:
        await client.run(s3, "put_object", Bucket=section.bucket, Key=key, Body=b"wandb-local-setup event probe\n")
    except Exception as exc:
        return fail("storage.events", describe(exc, client, "writing the event test object"))
    deadline = Deadline(wait, margin=1.0)
    arrived = False
    try:
        while not arrived and deadline.left() > 0.1:
            # Long polling, kept inside both the per-call timeout and the wait.
            poll = int(max(0.0, min(2.0, client.timeout - 1.0, deadline.left() - 1.0)))
            reply = await client.run(sqs, "receive_message", QueueUrl=url, MaxNumberOfMessages=10,
                                     WaitTimeSeconds=poll, VisibilityTimeout=30)
            for message in reply.get("Messages", []):
                keys, _ = _probe_keys(message.get("Body", ""))
                handle = message["ReceiptHandle"]
                if keys and all(k.startswith(PROBE_PREFIX) for k in keys):
                    # The wizard's own probes (this one or an earlier check's): consumed so W&B never sees them.
                    arrived = arrived or key in keys
                    await client.run(sqs, "delete_message", QueueUrl=url, ReceiptHandle=handle)
                else:  # someone else's message: visible again at once, untouched
                    await client.run(sqs, "change_message_visibility", QueueUrl=url, ReceiptHandle=handle,
                                     VisibilityTimeout=0)
    except Exception as exc:
        return fail("storage.events", describe(exc, client, "reading the queue"))
    finally:
        try:
            await client.run(s3, "delete_object", Bucket=section.bucket, Key=key)
        except Exception:
            pass  # the probe result below matters more; the key is under the wizard's prefix
    if arrived:
        return result("storage.events", Status.PASS,
                      f"Writing {key} put an ObjectCreated event on the queue {section.queue} (received and deleted).")
    return result("storage.events", Status.FAIL,
                  f"Writing {key} brought no ObjectCreated event to the queue {section.queue} within {wait:g} s.",
                  "Check the queue policy (S3 must be allowed to send) and the bucket notification; if a W&B server "
                  "already reads this queue, it may have taken the event.")


# --- KMS key and the notifications queue -------------------------------------------------------------------------


async def extras(ctx: CheckContext, section: S3Storage):
    client = aws(ctx, target(ctx, section))
    if section.kms_key_arn:
        yield await _kms(client, section.kms_key_arn)
    if section.notifications_queue:
        yield await _notifications_queue(client, section)
    if not (section.kms_key_arn or section.notifications_queue):
        yield result("storage.kms", Status.SKIPPED, "No KMS key and no notifications queue are configured.")


async def _kms(client: Aws, key_arn: str) -> CheckResult:
    kms = await client.open("kms")
    try:
        meta = (await client.run(kms, "describe_key", KeyId=key_arn))["KeyMetadata"]
    except Exception as exc:
        code, _ = error_code(exc)
        if code == "NotFoundException":
            return result("storage.kms", Status.FAIL, f"The KMS key {key_arn} does not exist.",
                          "Copy the key's ARN again (KMS › Customer managed keys); it must be in the bucket's region.")
        return fail("storage.kms", describe(exc, client, "describing the KMS key (kms:DescribeKey)"))
    if meta.get("KeyState") != "Enabled":
        return result("storage.kms", Status.FAIL, f"The KMS key is {meta.get('KeyState')}, not Enabled.",
                      "Enable the key (or cancel its deletion) in the KMS console.")
    if meta.get("KeyUsage", "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
        return result("storage.kms", Status.FAIL, f"The KMS key's usage is {meta.get('KeyUsage')}; "
                                                  "S3 encryption needs ENCRYPT_DECRYPT.", "Use a symmetric encryption key.")
    try:  # what S3 does with the key: a data key is generated to encrypt, and decrypted to read
        data_key = await client.run(kms, "generate_data_key", KeyId=key_arn, KeySpec="AES_256")
        await client.run(kms, "decrypt", KeyId=key_arn, CiphertextBlob=data_key["CiphertextBlob"])
    except Exception as exc:
        verdict = describe(exc, client, "generating and decrypting a data key (kms:GenerateDataKey, kms:Decrypt)")
        return result("storage.kms", Status.WARN,
                      f"The KMS key is enabled, but these credentials may not use it: {verdict.message}",
                      "The W&B server's role needs kms:GenerateDataKey and kms:Decrypt on the key (its credentials "
                      "may differ from the wizard's).")
    return result("storage.kms", Status.PASS, "The KMS key is enabled and these credentials can encrypt and decrypt "
                                              "with it (a data key generated, then decrypted).")


async def _notifications_queue(client: Aws, section: S3Storage) -> CheckResult:
    sqs = await client.open("sqs")
    name = section.notifications_queue
    try:
        url = (await client.run(sqs, "get_queue_url", QueueName=name))["QueueUrl"]
        await client.run(sqs, "get_queue_attributes", QueueUrl=url, AttributeNames=["QueueArn"])
    except Exception as exc:
        code, _ = error_code(exc)
        if "NonExistentQueue" in code or code == "QueueDoesNotExist":
            return result("storage.notifications-queue", Status.FAIL,
                          f"The notifications queue {name} does not exist in {section.region}.",
                          "Create it, or clear the field if no run events should be published.")
        return fail("storage.notifications-queue", describe(exc, client, f"looking up the queue {name}"))
    # Sending would put a message in front of the queue's consumers, so the send permission is not exercised.
    return result("storage.notifications-queue", Status.PASS,
                  f"The notifications queue {name} exists and these credentials may read its attributes. Sending "
                  "was not tried, since consumers would read a test message.",
                  "The W&B server's role needs sqs:SendMessage on this queue.")


# --- Instructions ----------------------------------------------------------------------------------------------


def sqs_policy(region: str, queue: str, bucket: str, account: str = "<AWS-ACCOUNT-ID>") -> str:
    policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": ["sqs:SendMessage"],
            "Resource": f"arn:aws:sqs:{region}:{account}:{queue}",
            "Condition": {"ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}},
        }],
    }
    return json.dumps(policy, indent=2)


def instructions(values: Values, secrets: Secrets) -> list[Instruction]:
    items = s3_cors_instructions(host_url(values))
    draft = provider_draft(values, "storage", "s3")
    if str(draft.get("queue") or "").strip():
        missing: list[str] = []
        region = draft_value(draft, "region", v.aws_region, "REGION", missing)
        bucket = draft_value(draft, "bucket", v.s3_bucket, "BUCKET", missing)
        items.append(Instruction(
            "storage.sqs-policy", "SQS queue access policy",
            sqs_policy(region, draft_value(draft, "queue", v.sqs_queue_name, "QUEUE", missing), bucket),
            note="SQS › your queue › Access policy. Replace <AWS-ACCOUNT-ID> with your 12-digit account "
                 "ID; then send the bucket's s3:ObjectCreated:* events to the queue.",
            placeholders=("AWS-ACCOUNT-ID", *missing),
        ))
    return items


def chart(section: S3Storage, out: ChartParts) -> None:
    out.set("global.bucket.provider", "s3")
    out.set("global.bucket.name", section.bucket)
    out.set("global.bucket.region", section.region)
    if section.kms_key_arn:
        out.set("global.bucket.kmsKey", section.kms_key_arn)
    out.set("app.env.BUCKET_QUEUE", f"sqs://{section.queue}" if section.queue else "internal://")
    if section.notifications_queue:
        out.env("NOTIFICATIONS_QUEUE", f"sqs://{section.notifications_queue}")
    if section.access_key_id and section.secret_access_key is not None:
        # As the container gets them. The chart's own bucket secret would put the keys into the BUCKET URL as they
        # are, and a secret key with '/' or '+' (most have one) would break it.
        out.env("AWS_ACCESS_KEY_ID", section.access_key_id)
        out.secret_env("AWS_SECRET_ACCESS_KEY", "wandb-bucket", "AWS_SECRET_ACCESS_KEY",
                       "storage.s3.secret_access_key", section.secret_access_key)
    else:
        out.cannot.append("storage: the server uses the instance's role here; on Kubernetes, give the pods' service "
                          "account the same S3 (and SQS, KMS) permissions (EKS: IRSA or Pod Identity)")


PROVIDER = Provider(
    "storage", "s3", S3Storage, render,
    checks={"storage.access": access, "storage.cors": cors, "storage.preflight": preflight,
            "storage.events": events, "storage.extras": extras},
    instructions=instructions, credentials_rejected=_rejected, chart=chart)
