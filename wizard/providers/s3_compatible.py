"""An S3-compatible store (MinIO, Ceph RGW, ...), reached at host[:port].

The server gets BUCKET=s3://<key>:<secret>@<endpoint>/<bucket>?region=...&tls=true (the keys URL-encoded) and the
internal queue; it and the users' browsers (signed URLs) dial the endpoint, so the checks route to it as the
container will before they sign with the same keys.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import quote

from pydantic import SecretStr, AfterValidator, Field, field_validator

from wizard import validators as v
from wizard.checks import net
from wizard.checks.container_view import Unreachable, route
from wizard.checks.engine import CheckContext, CheckResult, Status
from wizard.checks.s3_api import (
    S3Target, aws, bucket_access, credentials, credentials_rejected, signed_url_preflight, cors as bucket_cors,
)
from wizard.checks.storage_common import TITLES, insecure_result, result
from wizard.container import Endpoint
from wizard.instructions import Instruction, host_url, s3_cors_instructions
from wizard.providers.base import ChartParts, Parts, Provider, RequiredSecret, Secrets, Section, Values, checked, nothing_to_check, query


def _endpoint(value: str) -> str:
    value = value.strip()
    if "://" in value:
        raise ValueError("enter host[:port] without a scheme (TLS has its own switch), e.g. minio.example.com:9000")
    host, _, port_text = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    v.hostname(host)
    if port_text:
        if not port_text.isdigit():
            raise ValueError(f"'{port_text}' is not a port: expected host[:port], e.g. minio.example.com:9000")
        v.port(int(port_text))
    return value


class S3CompatibleStorage(Section):
    provider: Literal["s3-compatible"] = "s3-compatible"
    endpoint: Annotated[str, AfterValidator(_endpoint)] = Field(
        title="Endpoint", description="host[:port] of the S3 API, e.g. minio.example.com:9000"
    )
    bucket: Annotated[str, checked(v.s3_bucket)] = Field(title="Bucket", description="Bucket name")
    region: str = Field("us-east-1", title="Region", description="Region the store expects (MinIO: us-east-1)")
    access_key: str = Field(title="Access key", description="Access key ID (goes into the BUCKET URL)")
    secret_key: RequiredSecret = Field(title="Secret key", description="Secret key (goes into the BUCKET URL)")
    tls: bool = Field(True, title="TLS", description="The endpoint speaks HTTPS")

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9-]{2,40}", value):
            raise ValueError(f"'{value}' is not a region name: expected lowercase letters, digits and hyphens")
        return value

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.endpoint}"


def host_port(section: S3CompatibleStorage) -> tuple[str, int]:
    host, sep, port = section.endpoint.rpartition(":") if section.endpoint.count(":") == 1 else ("", "", "")
    if not sep:
        return section.endpoint.strip("[]"), 443 if section.tls else 80
    return host, int(port)


def render(section: S3CompatibleStorage, out: Parts) -> None:
    secret = out.url_secret("storage.s3_compatible.secret_key", section.secret_key)
    params = query([("region", quote(section.region))] + ([("tls", "true")] if section.tls else []))
    out.put("BUCKET", f"s3://{quote(section.access_key, safe='')}:{secret}@{section.endpoint}/{section.bucket}{params}",
            True)
    out.put("BUCKET_QUEUE", "internal://")
    host, port = host_port(section)
    out.endpoints.append(Endpoint("BUCKET", "storage.s3_compatible.endpoint", host, port, browser=True))


def target(section: S3CompatibleStorage) -> S3Target:
    return S3Target(section.bucket, section.region, section.url, section.endpoint, section.access_key,
                    section.secret_key.get_secret_value(), compatible=True)


# --- Checks ----------------------------------------------------------------------------------------------------


async def _endpoint_reachable(ctx: CheckContext, section: S3CompatibleStorage) -> CheckResult:
    try:  # the server dials the BUCKET URL's host, and the users' browsers do for signed URLs
        await route(ctx, "storage", "BUCKET", "storage.endpoint", TITLES["storage.endpoint"])
    except Unreachable as problem:
        return problem.result
    try:
        async with net.client(ctx, ctx.timeout * 0.8) as http:
            reply = await net.fetch(http, section.url + "/", timeout=ctx.timeout * 0.8, limit=4096)
    except net.NetError as exc:
        return result("storage.endpoint", Status.FAIL if exc.kind in ("dns", "refused", "tls") else Status.ERROR,
                      exc.message, exc.hint)
    return result("storage.endpoint", Status.PASS,
                  f"{section.endpoint} answers over {'HTTPS' if section.tls else 'HTTP'} (HTTP {reply.status}).")


async def access(ctx: CheckContext, section: S3CompatibleStorage):
    if ctx.insecure:
        yield insecure_result()
    reached = await _endpoint_reachable(ctx, section)
    yield reached
    if reached.status is not Status.PASS:
        return
    client = aws(ctx, target(section))
    out: list[CheckResult] = []
    valid = await credentials(client, out)
    for item in out + (await bucket_access(client) if valid else []):
        yield item


async def cors(ctx: CheckContext, section: S3CompatibleStorage):
    yield await bucket_cors(ctx, target(section))


async def preflight(ctx: CheckContext, section: S3CompatibleStorage):
    yield await signed_url_preflight(ctx, target(section))


async def _rejected(ctx: CheckContext, section: S3CompatibleStorage) -> bool:
    return await credentials_rejected(ctx, target(section))


def instructions(values: Values, secrets: Secrets) -> list[Instruction]:
    return s3_cors_instructions(host_url(values))


def chart(section: S3CompatibleStorage, out: ChartParts) -> None:
    """MinIO and the like: the chart builds s3://$(BUCKET_ACCESS_KEY):$(BUCKET_SECRET_KEY)@<name>/<path>, so the
    endpoint is the name and the bucket (with the query) the path; the keys are kept URL-encoded in the Secret."""
    params = query([("region", quote(section.region))] + ([("tls", "true")] if section.tls else []))
    out.set("global.bucket.provider", "s3")
    out.set("global.bucket.name", section.endpoint)
    out.set("global.bucket.path", f"{section.bucket}{params}")
    out.set("global.bucket.region", section.region)
    out.set("global.bucket.secret", {"secretName": "wandb-bucket", "accessKeyName": "ACCESS_KEY",
                                     "secretKeyName": "SECRET_KEY"})
    out.secret("wandb-bucket", "ACCESS_KEY", "storage.s3_compatible.access_key", SecretStr(section.access_key),
               url_encoded=True)
    out.secret("wandb-bucket", "SECRET_KEY", "storage.s3_compatible.secret_key", section.secret_key,
               url_encoded=True)
    out.set("app.env.BUCKET_QUEUE", "internal://")


PROVIDER = Provider(
    "storage", "s3-compatible", S3CompatibleStorage, render,
    checks={"storage.access": access, "storage.cors": cors, "storage.preflight": preflight,
            "storage.events": nothing_to_check(result("storage.queue", Status.SKIPPED,
                                                      "S3-compatible stores use the server's internal queue.")),
            "storage.extras": nothing_to_check(result("storage.kms", Status.SKIPPED,
                                                      "Nothing more to check for this kind of storage."))},
    instructions=instructions, credentials_rejected=_rejected, chart=chart)
