"""A HAND-WRITTEN stand-in for the EC2 instance metadata service (IMDS), which cannot run off EC2 (and tests never
send anything to 169.254.169.254). It answers the requests an AWS SDK makes for the instance role's credentials, as
IMDS documents them: PUT /latest/api/token (IMDSv2 session token, TTL header required), then GET
/latest/meta-data/iam/security-credentials/ (the role's name) and .../<role> (the credentials JSON), with the token
required (HttpTokens=required) unless `tokens_optional`. The credentials are real: a moto STS AssumeRole of a moto
IAM role, so moto enforces the role's policy on every call made with them. Listens on this machine's address (Go
never proxies loopback, and the proxy tests must see the server's proxy carry these requests)."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.services.host_address import machine_address
from tests.services.moto_server import MotoServer

ROLES = "/latest/meta-data/iam/security-credentials/"


@dataclass
class MetadataService:
    credentials: dict | None  # None: no role attached to the instance
    role: str = "wandb-node"
    tokens_optional: bool = False
    requests: list[tuple[str, str, bool]] = field(default_factory=list)  # (method, path, sent a valid token)
    tokens: set[str] = field(default_factory=set)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def host_port(self) -> str:
        return self.url.removeprefix("http://")

    def answer(self, method: str, path: str, headers) -> tuple[int, str]:
        token = headers.get("X-aws-ec2-metadata-token", "")
        self.requests.append((method, path, token in self.tokens))
        if method == "PUT":
            if path != "/latest/api/token" or not headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                return 400, ""
            issued = secrets.token_urlsafe(24)
            self.tokens.add(issued)
            return 200, issued
        if token not in self.tokens and not self.tokens_optional:
            return 401, ""
        if path == ROLES and self.credentials is not None:
            return 200, self.role
        if path == ROLES + self.role and self.credentials is not None:
            return 200, json.dumps({"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": self.credentials["AccessKeyId"],
                                    "SecretAccessKey": self.credentials["SecretAccessKey"],
                                    "Token": self.credentials["SessionToken"],
                                    "Expiration": self.credentials["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ"),
                                    "LastUpdated": "2026-01-01T00:00:00Z"})
        return 404, ""


def role_credentials(moto: MotoServer, denied: tuple[str, ...] = ()) -> dict:
    """Temporary credentials of a new moto IAM role allowed everything but `denied` (STS AssumeRole, as EC2 does)."""
    iam, sts, name = moto.client("iam"), moto.client("sts"), moto.unique("wandb-node")
    trust = {"Version": "2012-10-17", "Statement": [  # moto checks the trust policy against its caller (a user)
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    statements = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    if denied:
        statements.append({"Effect": "Deny", "Action": list(denied), "Resource": "*"})
    iam.put_role_policy(RoleName=name, PolicyName="wandb", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": statements}))
    return sts.assume_role(RoleArn=arn, RoleSessionName="i-0123456789abcdef0")["Credentials"]


@pytest.fixture
def metadata_service() -> Iterator[MetadataService]:
    """The stand-in with no role yet: a test sets `credentials` (and `role`) as its instance needs."""
    service = MetadataService(credentials=None)

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            status, body = service.answer(self.command, self.path, self.headers)
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = _reply

        def log_message(self, *args) -> None:  # quiet
            pass

    service.server = ThreadingHTTPServer((machine_address(), 0), Handler)
    thread = threading.Thread(target=service.server.serve_forever, daemon=True)
    thread.start()
    yield service
    service.server.shutdown()
    service.server.server_close()
