"""Live checks of S3 and S3-compatible storage: credentials, bucket, region, probe object, CORS, SQS events, KMS.

Each function returns the results of one concern; `wizard.checks.storage` registers them. boto3 is imported
inside the functions. Every call is bounded twice: botocore's own socket timeouts (no retries) and `call`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from wizard.checks.engine import CheckContext, CheckResult, FixAction, Status
from wizard.checks.net import Deadline
from wizard.checks.storage_common import (
    PROBE_PREFIX, NoAnswer, Verdict, call, event_wait, evaluate_cors, from_s3_rule, hide, host_origin, merge_rules,
    TITLES, outside, preflight, probe_key, result, s3_cors_json, s3_rule, wandb_rule,
)
from wizard.config import S3CompatibleStorage, S3Storage

NOTIFICATION_ID = "wandb-object-created"
POLICY_SID = "wandb-bucket-notifications"


@dataclass
class Aws:
    """boto3 clients for one check, with the section's credentials and the check's timeouts."""

    section: Any
    ctx: CheckContext
    timeout: float  # per call (botocore's socket timeouts)
    deadline: Deadline  # for the whole check, so it reports its own timeout before the engine's fires

    @property
    def compatible(self) -> bool:
        return isinstance(self.section, S3CompatibleStorage)

    @property
    def endpoint(self) -> str | None:
        if self.compatible:
            return f"{'https' if self.section.tls else 'http'}://{self.section.endpoint}"
        return self.ctx.extra.get("aws_endpoint_url")

    @property
    def where(self) -> str:
        return self.section.endpoint if self.compatible else (self.endpoint or "AWS")

    def secrets(self) -> list[str | None]:
        secret = self.section.secret_key if self.compatible else self.section.secret_access_key
        return [secret.get_secret_value() if secret else None]

    async def open(self, service: str):
        """A boto3 client, built in a thread: building one takes 100+ ms of CPU that would stall the other checks."""
        return await call(self._client, service, within=max(self.timeout, 2.0))

    def _client(self, service: str):
        import boto3
        from botocore.config import Config

        section = self.section
        if self.compatible:
            keys = {"aws_access_key_id": section.access_key,
                    "aws_secret_access_key": section.secret_key.get_secret_value()}
        elif section.access_key_id:
            keys = {"aws_access_key_id": section.access_key_id,
                    "aws_secret_access_key": section.secret_access_key.get_secret_value()}
        else:
            keys = {}  # the standard AWS chain (environment, profile, instance role)
        from wizard.checks.container_view import server_proxies

        # The server's proxies, or none: {} (not None) keeps botocore from taking the shell's HTTPS_PROXY.
        host = urlsplit(self.endpoint).hostname if self.endpoint else f"s3.{section.region}.amazonaws.com"
        config = Config(proxies=server_proxies(self.ctx).for_host(host or ""),
                        connect_timeout=self.timeout, read_timeout=self.timeout, retries={"max_attempts": 1},
                        signature_version="s3v4", s3={"addressing_style": "path" if self.compatible else "auto"})
        verify: Any = True
        if self.ctx.insecure:
            verify = False
        elif self.ctx.ca_file:
            verify = self.ctx.ca_file
        session = boto3.session.Session(region_name=section.region, **keys)
        return session.client(service, endpoint_url=self.endpoint, config=config, verify=verify)

    async def run(self, service_client, operation: str, **params):
        return await call(getattr(service_client, operation), within=min(self.timeout, self.deadline.left()),
                          **params)


def aws(ctx: CheckContext, section: Any, budget: float | None = None) -> Aws:
    return Aws(section, ctx, ctx.timeout * 0.8, Deadline(budget or ctx.timeout, margin=0.85))


def error_code(exc: BaseException) -> tuple[str, int]:
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code, status


# What an endpoint answers when the key itself is refused (not a missing permission).
REJECTED_CODES = frozenset({"InvalidAccessKeyId", "InvalidClientTokenId", "UnrecognizedClientException",
                            "SignatureDoesNotMatch", "IncompleteSignature", "ExpiredToken", "ExpiredTokenException"})


async def credentials_rejected(ctx: CheckContext, section: Any) -> bool:
    """Whether the endpoint refuses these credentials themselves (so an access denied elsewhere says nothing)."""
    from botocore import exceptions as bx

    client = aws(ctx, section)
    try:
        if client.compatible:
            await client.run(await client.open("s3"), "list_buckets")
        else:
            await client.run(await client.open("sts"), "get_caller_identity")
    except (bx.NoCredentialsError, bx.PartialCredentialsError):
        return True
    except Exception as exc:
        return error_code(exc)[0] in REJECTED_CODES
    return False


def describe(exc: BaseException, client: Aws, doing: str) -> Verdict:
    """A failed AWS call as a plain message and hint. `doing`: e.g. 'reading the bucket's CORS rules'."""
    from botocore import exceptions as bx

    where = client.where
    if isinstance(exc, (NoAnswer, bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return Verdict(Status.ERROR, f"{where} did not answer while {doing} ({outside(exc)}).",
                       "Check the endpoint address, and that this machine may reach it (firewall, proxy).")
    if isinstance(exc, bx.SSLError):
        return Verdict(Status.FAIL, f"The TLS connection to {where} failed: {outside(hide(str(exc), client.secrets()))}.",
                       "If the endpoint uses a private CA, give its CA file; check the TLS switch matches the port.")
    if isinstance(exc, bx.EndpointConnectionError):
        return Verdict(Status.ERROR, f"Cannot connect to {where} while {doing}.",
                       "Check the endpoint address and port, and that the service is running.")
    if isinstance(exc, (bx.ConnectionClosedError, bx.HTTPClientError)):
        return Verdict(Status.ERROR, f"{where} closed the connection without a valid answer while {doing}.",
                       "Check that the endpoint is an S3 API (address, port and the TLS switch).")
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return Verdict(Status.FAIL, "The instance's role gave no credentials here (and none are in the environment "
                                    "or ~/.aws): the server, which relies on the same role, would have none either.",
                       "Give the server access keys (Storage › Access key ID and secret), or run on an EC2 instance "
                       "with a role that may use the bucket.")
    code, status = error_code(exc)
    response = getattr(exc, "response", None) or {}
    text = outside(hide(str(response.get("Error", {}).get("Message", "")) or str(exc), client.secrets()))
    if code in ("InvalidAccessKeyId", "InvalidClientTokenId", "UnrecognizedClientException"):
        return Verdict(Status.FAIL, f"{where} does not know this access key ID ({code}).",
                       "Copy the access key ID again; check that the key is active (IAM › Users › Security credentials).")
    if code in ("SignatureDoesNotMatch", "IncompleteSignature"):
        return Verdict(Status.FAIL, f"The secret access key does not match the access key ID ({code}).",
                       "Enter the secret that belongs to this access key (it is shown only once, when the key is created).")
    if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
        return Verdict(Status.FAIL, f"The credentials have expired ({code}).", "Refresh the session credentials.")
    if code in ("AccessDenied", "AccessDeniedException", "Forbidden", "AuthorizationError") or status == 403:
        return Verdict(Status.FAIL, f"Access denied while {doing} ({code or status}: {text}).",
                       "Grant these credentials s3:* on the bucket and sqs:* on the queue, as W&B's docs ask.")
    return Verdict(Status.ERROR, f"{where} answered with an error while {doing}: {code or status} {text}".rstrip() + ".",
                   "")


def _fail(check_id: str, verdict: Verdict) -> CheckResult:
    return result(check_id, verdict.status, verdict.message, verdict.hint)


def bucket_region(location: str | None) -> str:
    # GetBucketLocation: empty for us-east-1, 'EU' for the oldest eu-west-1 buckets.
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location or "us-east-1")


# --- Credentials, bucket, region, probe object -------------------------------------------------------------------


async def access(ctx: CheckContext, section: S3Storage | S3CompatibleStorage) -> list[CheckResult]:
    client = aws(ctx, section)
    out: list[CheckResult] = []
    if client.compatible:
        if not await _endpoint_reachable(ctx, section, out):
            return out
    if not await _credentials(client, out):
        return out
    if not client.compatible and section.instance_role:
        out.append(result("storage.instance-role", Status.WARN,
                          "The server gets no keys: it asks the EC2 instance metadata service for the role's "
                          "credentials. From a container that works only with IMDSv2's hop limit raised to 2.",
                          "aws ec2 modify-instance-metadata-options --instance-id <id> --http-tokens required "
                          "--http-put-response-hop-limit 2 (the wizard never contacts the metadata service itself)."))
    s3 = await client.open("s3")
    bucket = section.bucket
    try:
        region = await _bucket_region(client, s3, bucket)
    except Exception as exc:
        code, status = error_code(exc)
        if code in ("NoSuchBucket", "404", "NotFound") or status == 404:
            out.append(result("storage.bucket", Status.FAIL, f"The bucket {bucket} does not exist"
                              + (f" on {client.where}." if client.compatible else "."),
                              "Create it (or correct the name): W&B does not create the bucket itself."))
        elif code == "AuthorizationHeaderMalformed":
            out.append(result("storage.region", Status.FAIL, _region_text(exc, section.region),
                              "Set the region to the bucket's region."))
        else:
            verdict = describe(exc, client, f"looking up the bucket {bucket}")
            if verdict.status is Status.FAIL and "Access denied" in verdict.message and not client.compatible:
                verdict = Verdict(Status.FAIL, f"The bucket {bucket} exists but these credentials may not use it "
                                               "(it may belong to another AWS account, or they lack s3:ListBucket "
                                               "on it).", verdict.hint)
            out.append(_fail("storage.bucket", verdict))
        return out
    out.append(result("storage.bucket", Status.PASS, f"The bucket {bucket} exists."))
    if region is None:
        out.append(result("storage.region", Status.SKIPPED, "The store does not say where the bucket is; it accepted "
                                                            f"requests signed for {section.region}."))
    elif region != section.region:
        out.append(result("storage.region", Status.FAIL, f"The bucket is in {region}, not {section.region}.",
                          f"Set the region to {region}" + (" (the BUCKET URL's region= must be the bucket's)."
                                                           if client.compatible else
                                                           " (AWS_REGION must be the bucket's region).")))
    else:
        out.append(result("storage.region", Status.PASS, f"The bucket is in {region}, the configured region."))
    out.append(await _probe(client, s3, bucket))
    return out


async def _bucket_region(client: Aws, s3, bucket: str) -> str | None:
    """GetBucketLocation; if that one permission is missing, HeadBucket (which W&B needs anyway) also names it."""
    try:
        location = await client.run(s3, "get_bucket_location", Bucket=bucket)
        return bucket_region(location.get("LocationConstraint"))
    except Exception as exc:
        if error_code(exc)[0] != "AccessDenied":
            raise
    head = await client.run(s3, "head_bucket", Bucket=bucket)
    return head.get("BucketRegion") or head.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")


def _region_text(exc: BaseException, configured: str) -> str:
    import re

    text = str(getattr(exc, "response", {}).get("Error", {}).get("Message", ""))
    found = re.search(r"expecting '([a-z0-9-]+)'", text) or re.search(r"'([a-z]{2}-[a-z]+-\d)'", text)
    if found and found.group(1) != configured:
        return f"The bucket is in {found.group(1)}, not {configured}."
    return f"The store rejects requests signed for the region {configured}: {outside(text, 160)}"


async def _endpoint_reachable(ctx: CheckContext, section: S3CompatibleStorage, out: list[CheckResult]) -> bool:
    from wizard.checks import net
    from wizard.checks.container_view import Unreachable, route

    try:  # the server dials the BUCKET URL's host, and the users' browsers do for signed URLs
        await route(ctx, "storage", "BUCKET", "storage.endpoint", TITLES["storage.endpoint"])
    except Unreachable as problem:
        out.append(problem.result)
        return False
    url = f"{'https' if section.tls else 'http'}://{section.endpoint}/"
    try:
        async with net.client(ctx, ctx.timeout * 0.8) as http:
            reply = await net.fetch(http, url, timeout=ctx.timeout * 0.8, limit=4096)
    except net.NetError as exc:
        out.append(result("storage.endpoint", Status.FAIL if exc.kind in ("dns", "refused", "tls") else Status.ERROR,
                          exc.message, exc.hint))
        return False
    out.append(result("storage.endpoint", Status.PASS,
                      f"{section.endpoint} answers over {'HTTPS' if section.tls else 'HTTP'} (HTTP {reply.status})."))
    return True


async def _credentials(client: Aws, out: list[CheckResult]) -> bool:
    try:
        if client.compatible:
            # No STS on S3-compatible stores: listing buckets proves the signature (AccessDenied still does).
            await client.run(await client.open("s3"), "list_buckets")
            out.append(result("storage.credentials", Status.PASS, f"{client.where} accepted the access key."))
        else:
            identity = await client.run(await client.open("sts"), "get_caller_identity")
            out.append(result("storage.credentials", Status.PASS,
                              f"The credentials are valid: {identity.get('Arn')} (account {identity.get('Account')})."))
        return True
    except Exception as exc:
        code, status = error_code(exc)
        if client.compatible and code == "AccessDenied":
            out.append(result("storage.credentials", Status.PASS,
                              f"{client.where} accepted the access key (it may not list buckets, which W&B does not need)."))
            return True
        out.append(_fail("storage.credentials", describe(exc, client, "checking the credentials")))
        return False


async def _probe(client: Aws, s3, bucket: str) -> CheckResult:
    key, body = probe_key(), b"wandb-local-setup probe: safe to delete\n"
    step = "writing"
    try:
        await client.run(s3, "put_object", Bucket=bucket, Key=key, Body=body)
        step = "reading"
        got = await client.run(s3, "get_object", Bucket=bucket, Key=key)
        data = await call(got["Body"].read, within=client.timeout)
        step = "deleting"
        await client.run(s3, "delete_object", Bucket=bucket, Key=key)
    except Exception as exc:
        verdict = describe(exc, client, f"{step} the test object {key}")
        return result("storage.probe", verdict.status, verdict.message,
                      "W&B writes, reads and deletes objects: grant s3:PutObject, s3:GetObject and s3:DeleteObject "
                      "on the bucket." if verdict.status is Status.FAIL else verdict.hint)
    if data != body:
        return result("storage.probe", Status.FAIL, f"The test object {key} came back different from what was written.",
                      "Check for a proxy or a store feature rewriting objects.")
    return result("storage.probe", Status.PASS, f"Wrote, read back and deleted the test object {key}.")


# --- CORS ------------------------------------------------------------------------------------------------------


async def cors(ctx: CheckContext, section: S3Storage | S3CompatibleStorage) -> list[CheckResult]:
    origin = host_origin(ctx)
    if origin is None:
        return [result("storage.cors", Status.SKIPPED, "The server's address is needed: complete the Host step first.")]
    client = aws(ctx, section)
    s3 = await client.open("s3")
    try:
        rules = [from_s3_rule(rule) for rule in
                 (await client.run(s3, "get_bucket_cors", Bucket=section.bucket)).get("CORSRules", [])]
    except Exception as exc:
        code, status = error_code(exc)
        if code == "NoSuchCORSConfiguration":
            rules = []
        elif code == "NoSuchBucket":
            return [result("storage.cors", Status.SKIPPED, f"The bucket {section.bucket} does not exist.")]
        elif code in ("NotImplemented", "NotImplementedError") or status == 501:
            return [result("storage.cors", Status.WARN, f"{client.where} does not offer bucket CORS through the S3 API.",
                           "Allow the server's origin with GET, PUT and HEAD in the store's own settings (MinIO: "
                           f"MINIO_API_CORS_ALLOW_ORIGIN={origin}).")]
        else:
            return [_fail("storage.cors", describe(exc, client, "reading the bucket's CORS rules"))]
    verdict = evaluate_cors(rules, origin, f"The bucket {section.bucket}")
    fix = None
    if verdict.status is not Status.PASS:
        merged = merge_rules(rules, wandb_rule(origin))

        async def apply() -> None:
            await client.run(s3, "put_bucket_cors", Bucket=section.bucket,
                             CORSConfiguration={"CORSRules": [s3_rule(rule) for rule in merged]})

        kept = f", keeping the {len(rules)} existing rule(s)" if rules else ""
        fix = FixAction(f"Add W&B's CORS rule for {origin} to the bucket {section.bucket}{kept}.",
                        s3_cors_json(merged), apply)
    return [result("storage.cors", verdict.status, verdict.message, verdict.hint, fix)]


async def signed_url_preflight(ctx: CheckContext, section: S3Storage | S3CompatibleStorage) -> list[CheckResult]:
    origin = host_origin(ctx)
    if origin is None:
        return [result("storage.preflight", Status.SKIPPED, "The server's address is needed: complete the Host step.")]
    client = aws(ctx, section)
    try:
        url = (await client.open("s3")).generate_presigned_url(
            "put_object", Params={"Bucket": section.bucket, "Key": probe_key()}, ExpiresIn=300)
    except Exception as exc:  # signing is local: only missing credentials fail here
        return [_fail("storage.preflight", describe(exc, client, "signing a test URL"))]
    return [await preflight(ctx, url, origin, client.timeout)]


# --- SQS queue, its policy, the bucket notification, the end-to-end event --------------------------------------------


def _arn_matches(pattern: str, arn: str) -> bool:
    from wizard.checks.storage_common import origin_matches

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
    from wizard.checks.storage import EVENTS_TIMEOUT

    client = aws(ctx, section, budget=min(EVENTS_TIMEOUT, ctx.timeout * 4 + event_wait(ctx)))
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
        return [_fail("storage.queue", describe(exc, client, f"looking up the queue {section.queue}"))], None
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
            out.append(_fail("storage.notification", describe(exc, client, "reading the bucket's notifications")))
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
    key = probe_key()
    try:
        await client.run(s3, "put_object", Bucket=section.bucket, Key=key, Body=b"wandb-local-setup event probe\n")
    except Exception as exc:
        return _fail("storage.events", describe(exc, client, "writing the event test object"))
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
        return _fail("storage.events", describe(exc, client, "reading the queue"))
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


async def extras(ctx: CheckContext, section: S3Storage) -> list[CheckResult]:
    out: list[CheckResult] = []
    client = aws(ctx, section)
    if section.kms_key_arn:
        out.append(await _kms(client, section.kms_key_arn))
    if section.notifications_queue:
        out.append(await _notifications_queue(client, section))
    return out or [result("storage.kms", Status.SKIPPED, "No KMS key and no notifications queue are configured.")]


async def _kms(client: Aws, key_arn: str) -> CheckResult:
    kms = await client.open("kms")
    try:
        meta = (await client.run(kms, "describe_key", KeyId=key_arn))["KeyMetadata"]
    except Exception as exc:
        code, _ = error_code(exc)
        if code == "NotFoundException":
            return result("storage.kms", Status.FAIL, f"The KMS key {key_arn} does not exist.",
                          "Copy the key's ARN again (KMS › Customer managed keys); it must be in the bucket's region.")
        return _fail("storage.kms", describe(exc, client, "describing the KMS key (kms:DescribeKey)"))
    if meta.get("KeyState") != "Enabled":
        return result("storage.kms", Status.FAIL, f"The KMS key is {meta.get('KeyState')}, not Enabled.",
                      "Enable the key (or cancel its deletion) in the KMS console.")
    if meta.get("KeyUsage", "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
        return result("storage.kms", Status.FAIL, f"The KMS key's usage is {meta.get('KeyUsage')}; "
                                                  "S3 encryption needs ENCRYPT_DECRYPT.", "Use a symmetric encryption key.")
    try:
        await client.run(kms, "generate_data_key", KeyId=key_arn, KeySpec="AES_256")
    except Exception as exc:
        verdict = describe(exc, client, "generating a data key (kms:GenerateDataKey)")
        return result("storage.kms", Status.WARN,
                      f"The KMS key is enabled, but these credentials may not use it: {verdict.message}",
                      "The W&B server's role needs kms:GenerateDataKey and kms:Decrypt on the key (its credentials "
                      "may differ from the wizard's).")
    return result("storage.kms", Status.PASS, "The KMS key is enabled and these credentials can generate data keys.")


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
        return _fail("storage.notifications-queue", describe(exc, client, f"looking up the queue {name}"))
    # Sending would put a message in front of the queue's consumers, so the send permission is not exercised.
    return result("storage.notifications-queue", Status.PASS,
                  f"The notifications queue {name} exists and these credentials may read its attributes. Sending "
                  "was not tried, since consumers would read a test message.",
                  "The W&B server's role needs sqs:SendMessage on this queue.")
