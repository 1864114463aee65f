"""The S3 API as the storage checks use it, for Amazon S3 and S3-compatible stores alike: clients, error
messages, credentials, bucket, region, probe object, CORS and the signed-URL preflight.

The providers (`wizard.providers.s3`, `wizard.providers.s3_compatible`) describe the store they check with an
`S3Target` built from the settings the server gets. botocore is imported inside the functions. Every call is bounded
twice: botocore's own socket timeouts (no retries) and `call`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from wizard.checks.engine import CheckContext, CheckResult, FixAction, Status
from wizard.checks.net import Deadline
from wizard.checks.storage_common import (
    NoAnswer, Verdict, call, evaluate_cors, from_s3_rule, hide, host_origin, merge_rules, outside, preflight,
    probe_key, probe_round_trip, proxy_verdict, result, s3_cors_json, s3_rule, wandb_rule,
)


@dataclass(frozen=True)
class S3Target:
    """The store and credentials a check uses: those the server gets."""

    bucket: str
    region: str
    endpoint: str | None  # the API's URL; None: Amazon S3 (AWS's regional endpoints)
    where: str  # how messages name the store, e.g. "AWS" or "minio.example.com:9000"
    access_key: str | None  # None: the instance's role (wizard.checks.instance_metadata)
    secret_key: str | None
    compatible: bool = False  # an S3-compatible store: path-style addressing, no STS, no SQS


@dataclass
class Aws:
    """botocore clients for one check, with the target's credentials and the check's timeouts."""

    target: S3Target
    ctx: CheckContext
    timeout: float  # per call (botocore's socket timeouts)
    deadline: Deadline  # for the whole check, so it reports its own timeout before the engine's fires

    @property
    def compatible(self) -> bool:
        return self.target.compatible

    @property
    def where(self) -> str:
        return self.target.where

    def secrets(self) -> list[str | None]:
        return [self.target.secret_key]

    async def open(self, service: str):
        """A botocore client, built in a thread: building one takes CPU that would stall the other checks."""
        return await call(self._client, service, within=max(self.timeout, 2.0))

    def _client(self, service: str):
        import botocore.session
        from botocore.config import Config

        from wizard.checks.container_view import server_proxies

        target = self.target
        session = botocore.session.Session()
        session.register_component("data_loader", _models(session.get_config_variable("data_path")))
        keys = {}
        if target.access_key is not None:
            keys = {"aws_access_key_id": target.access_key, "aws_secret_access_key": target.secret_key or ""}
        else:  # the instance's role, from the metadata service only: never the shell's keys or profile
            from botocore.credentials import CredentialResolver

            from wizard.checks.instance_metadata import InstanceRole

            session.register_component("credential_provider",
                                       CredentialResolver([InstanceRole(self.ctx, min(self.timeout, 2.0))]))

        verify: Any = True
        if self.ctx.insecure:
            verify = False
        elif self.ctx.ca_file:
            verify = self.ctx.ca_file

        def client(proxies: dict[str, str]):
            # {} (not None) keeps botocore from taking the shell's HTTPS_PROXY; nor its AWS_ENDPOINT_URL(_S3, ...).
            config = Config(proxies=proxies, connect_timeout=self.timeout, read_timeout=self.timeout,
                            retries={"max_attempts": 1}, signature_version="s3v4", ignore_configured_endpoint_urls=True,
                            s3={"addressing_style": "path" if self.compatible else "auto"})
            return session.create_client(service, region_name=target.region, endpoint_url=target.endpoint,
                                         config=config, verify=verify, **keys)

        proxies = server_proxies(self.ctx)
        if not proxies.by_scheme():
            return client({})
        built = client(proxies.by_scheme())  # botocore takes the one for its endpoint's scheme
        # The server's proxy for this service's own endpoint (S3, SQS, STS and KMS may differ in NO_PROXY): built
        # once more, direct, only when NO_PROXY names that endpoint.
        return built if proxies.for_url(built.meta.endpoint_url) else client({})

    async def run(self, service_client, operation: str, **params):
        return await call(getattr(service_client, operation), within=min(self.timeout, self.deadline.left()),
                          **params)


@cache
def _models(data_path: str | None):
    """One botocore loader for every client of the process: each new session would parse the services' JSON models
    again (S3's is large), about 60 ms of CPU per client, which the checks built side by side paid many times."""
    from botocore.loaders import create_loader

    return create_loader(data_path)


def aws(ctx: CheckContext, target: S3Target, budget: float | None = None) -> Aws:
    return Aws(target, ctx, ctx.timeout * 0.8, Deadline(budget or ctx.timeout, margin=0.85))


def error_code(exc: BaseException) -> tuple[str, int]:
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code, status


# What an endpoint answers when the key itself is refused (not a missing permission).
REJECTED_CODES = frozenset({"InvalidAccessKeyId", "InvalidClientTokenId", "UnrecognizedClientException",
                            "SignatureDoesNotMatch", "IncompleteSignature", "ExpiredToken", "ExpiredTokenException"})


async def credentials_rejected(ctx: CheckContext, target: S3Target) -> bool:
    """Whether the endpoint refuses these credentials themselves (so an access denied elsewhere says nothing)."""
    from botocore import exceptions as bx

    client = aws(ctx, target)
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
    if proxied := proxy_verdict(client.ctx, exc, doing):
        return proxied
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
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError, bx.CredentialRetrievalError)):
        why = f": {exc.kwargs['error_msg']}" if isinstance(exc, bx.CredentialRetrievalError) else ""
        return Verdict(Status.FAIL, f"The instance's role gave no credentials here{why}. The server, which relies on "
                                    "the same role, would have none either.",
                       "Run the wizard on the EC2 instance the server runs on, with an IAM role attached that may use "
                       "the bucket (and 169.254.169.254 in No proxy for, if the server has a proxy); or give the "
                       "server access keys (Storage › Access key ID and secret).")
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


def fail(check_id: str, verdict: Verdict) -> CheckResult:
    return result(check_id, verdict.status, verdict.message, verdict.hint)


def bucket_region(location: str | None) -> str:
    # GetBucketLocation: empty for us-east-1, 'EU' for the oldest eu-west-1 buckets.
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location or "us-east-1")


# --- Credentials, bucket, region, probe object -------------------------------------------------------------------


async def bucket_access(client: Aws) -> list[CheckResult]:
    """The bucket exists, is in the configured region, and takes a test object (written, read back, deleted)."""
    out: list[CheckResult] = []
    s3 = await client.open("s3")
    bucket, region_wanted = client.target.bucket, client.target.region
    try:
        region = await _bucket_region(client, s3, bucket)
    except Exception as exc:
        code, status = error_code(exc)
        if code in ("NoSuchBucket", "404", "NotFound") or status == 404:
            out.append(result("storage.bucket", Status.FAIL, f"The bucket {bucket} does not exist"
                              + (f" on {client.where}." if client.compatible else "."),
                              "Create it (or correct the name): W&B does not create the bucket itself."))
        elif code == "AuthorizationHeaderMalformed":
            out.append(result("storage.region", Status.FAIL, _region_text(exc, region_wanted),
                              "Set the region to the bucket's region."))
        else:
            verdict = describe(exc, client, f"looking up the bucket {bucket}")
            if verdict.status is Status.FAIL and "Access denied" in verdict.message and not client.compatible:
                verdict = Verdict(Status.FAIL, f"The bucket {bucket} exists but these credentials may not use it "
                                               "(it may belong to another AWS account, or they lack s3:ListBucket "
                                               "on it).", verdict.hint)
            out.append(fail("storage.bucket", verdict))
        return out
    out.append(result("storage.bucket", Status.PASS, f"The bucket {bucket} exists."))
    if region is None:
        out.append(result("storage.region", Status.SKIPPED, "The store does not say where the bucket is; it accepted "
                                                            f"requests signed for {region_wanted}."))
    elif region != region_wanted:
        out.append(result("storage.region", Status.FAIL, f"The bucket is in {region}, not {region_wanted}.",
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


async def credentials(client: Aws, out: list[CheckResult]) -> bool:
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
        out.append(fail("storage.credentials", describe(exc, client, "checking the credentials")))
        return False


async def _probe(client: Aws, s3: Any, bucket: str) -> CheckResult:
    key = probe_key()

    async def read() -> bytes:
        got = await client.run(s3, "get_object", Bucket=bucket, Key=key)
        return await call(got["Body"].read, within=client.timeout)

    return await probe_round_trip(
        key, "object", lambda body: client.run(s3, "put_object", Bucket=bucket, Key=key, Body=body), read,
        lambda: client.run(s3, "delete_object", Bucket=bucket, Key=key),
        lambda exc, doing: describe(exc, client, doing),
        "W&B writes, reads and deletes objects: grant s3:PutObject, s3:GetObject and s3:DeleteObject on the bucket.")


# --- CORS ------------------------------------------------------------------------------------------------------


async def cors(ctx: CheckContext, target: S3Target) -> CheckResult:
    origin = host_origin(ctx)
    if origin is None:
        return result("storage.cors", Status.SKIPPED, "The server's address is needed: complete the Host step first.")
    client = aws(ctx, target)
    bucket = target.bucket
    s3 = await client.open("s3")
    try:
        rules = [from_s3_rule(rule) for rule in
                 (await client.run(s3, "get_bucket_cors", Bucket=bucket)).get("CORSRules", [])]
    except Exception as exc:
        code, status = error_code(exc)
        if code == "NoSuchCORSConfiguration":
            rules = []
        elif code == "NoSuchBucket":
            return result("storage.cors", Status.SKIPPED, f"The bucket {bucket} does not exist.")
        elif code in ("NotImplemented", "NotImplementedError") or status == 501:
            return result("storage.cors", Status.WARN, f"{client.where} does not offer bucket CORS through the S3 API.",
                           "Allow the server's origin with GET, PUT and HEAD in the store's own settings (MinIO: "
                           f"MINIO_API_CORS_ALLOW_ORIGIN={origin}).")
        else:
            return fail("storage.cors", describe(exc, client, "reading the bucket's CORS rules"))
    verdict = evaluate_cors(rules, origin, f"The bucket {bucket}")
    fix = None
    if verdict.status is not Status.PASS:
        merged = merge_rules(rules, wandb_rule(origin))

        async def apply() -> None:
            await client.run(s3, "put_bucket_cors", Bucket=bucket,
                             CORSConfiguration={"CORSRules": [s3_rule(rule) for rule in merged]})

        kept = f", keeping the {len(rules)} existing rule(s)" if rules else ""
        fix = FixAction(f"Add W&B's CORS rule for {origin} to the bucket {bucket}{kept}.",
                        s3_cors_json(merged), apply)
    return result("storage.cors", verdict.status, verdict.message, verdict.hint, fix)


async def signed_url_preflight(ctx: CheckContext, target: S3Target) -> CheckResult:
    origin = host_origin(ctx)
    if origin is None:
        return result("storage.preflight", Status.SKIPPED, "The server's address is needed: complete the Host step.")
    client = aws(ctx, target)
    try:
        url = (await client.open("s3")).generate_presigned_url(
            "put_object", Params={"Bucket": target.bucket, "Key": probe_key()}, ExpiresIn=300)
    except Exception as exc:  # signing is local: only missing credentials fail here
        return fail("storage.preflight", describe(exc, client, "signing a test URL"))
    return await preflight(ctx, url, origin, client.timeout)


