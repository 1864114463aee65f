"""HAND-WRITTEN stand-ins for the cloud instances' metadata services, which cannot run off EC2 or GCE (and tests
never send anything to 169.254.169.254 or metadata.google.internal).

`MetadataService` (EC2's IMDS) answers the requests an AWS SDK makes for the instance role's credentials, as IMDS
documents them: PUT /latest/api/token (IMDSv2 session token, TTL header required), then GET
/latest/meta-data/iam/security-credentials/ (the role's name) and .../<role> (the credentials JSON), with the token
required (HttpTokens=required); or, `v1_only`, refusing tokens (403) and answering without one (IMDSv1). The
credentials are real: a moto STS AssumeRole of a moto IAM role, so moto enforces the role's policy on every call
made with them. `GceMetadata` gives a GCE instance's
default service account and its access token. Both listen on this machine's address (Go never proxies loopback,
and the proxy tests must see the server's proxy carry these requests)."""

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
    v1_only: bool = False
    requests: list[tuple[str, str, bool]] = field(default_factory=list)  # (method, path, sent a valid token)
    tokens: set[str] = field(default_factory=set)
    server: ThreadingHTTPServer | None = None

    @property
    def host_port(self) -> str:
        return _host_port(self.server)

    @property
    def url(self) -> str:
        return f"http://{self.host_port}"

    def answer(self, method: str, path: str, headers) -> tuple[int, str]:
        token = headers.get("X-aws-ec2-metadata-token", "")
        self.requests.append((method, path, token in self.tokens))
        if method == "PUT":
            if self.v1_only:
                return 403, ""
            if path != "/latest/api/token" or not headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                return 400, ""
            issued = secrets.token_urlsafe(24)
            self.tokens.add(issued)
            return 200, issued
        if token not in self.tokens and not self.v1_only:
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


def _serve(answer) -> ThreadingHTTPServer:
    """An HTTP server on this machine's address answering every request with `answer(method, path, headers)`."""

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            status, body = answer(self.command, self.path, self.headers)
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if body.startswith("{") else "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = _reply

        def log_message(self, *args) -> None:  # quiet
            pass

    server = ThreadingHTTPServer((machine_address(), 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _host_port(server: ThreadingHTTPServer | None) -> str:
    assert server is not None
    host, port = server.server_address[:2]
    return f"{host}:{port}"


def _stop(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


@pytest.fixture
def metadata_service() -> Iterator[MetadataService]:
    """The EC2 stand-in with no role yet: a test sets `credentials` (and `role`) as its instance needs."""
    service = MetadataService(credentials=None)
    service.server = _serve(service.answer)
    yield service
    _stop(service.server)


@dataclass
class GceMetadata:
    """A HAND-WRITTEN stand-in for a GCE instance's metadata server (it cannot run off Google Cloud): the default
    service account's identity and an access token (asked by the alias "default" or by the account's email), with the Metadata-Flavor header required as Google requires it.
    Its address goes to google-auth by GCE_METADATA_HOST (read when google-auth loads: give it to a new process)."""

    email: str = "wandb-node@wandb-test.iam.gserviceaccount.com"
    token: str = field(default_factory=lambda: "ya29.stand-in-" + secrets.token_urlsafe(12))
    requests: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def host_port(self) -> str:
        return _host_port(self.server)

    def answer(self, method: str, path: str, headers) -> tuple[int, str]:
        self.requests.append(path)
        if headers.get("Metadata-Flavor") != "Google":
            return 403, ""
        accounts = "/computeMetadata/v1/instance/service-accounts/"
        name, _, rest = path.removeprefix(accounts).partition("/")
        if not path.startswith(accounts) or name not in ("default", self.email):  # the alias, or the account itself
            return 404, ""
        if rest.startswith("token"):
            return 200, json.dumps({"access_token": self.token, "expires_in": 3599, "token_type": "Bearer"})
        if rest == "" or rest.startswith("?"):
            return 200, json.dumps({"email": self.email, "aliases": ["default"],
                                    "scopes": ["https://www.googleapis.com/auth/cloud-platform"]})
        return 404, ""


@pytest.fixture
def gce_metadata() -> Iterator[GceMetadata]:
    service = GceMetadata()
    service.server = _serve(service.answer)
    yield service
    _stop(service.server)
