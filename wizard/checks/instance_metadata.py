"""The EC2 instance role's credentials as the server gets them, for the S3 checks when the server gets no keys.

The server container has no AWS keys, no ~/.aws and none of the shell's AWS variables: its SDK asks the instance
metadata service (IMDSv2: a session token first, IMDSv1 where the token is refused as the AWS SDKs fall back) and
reaches it as it reaches everything, through the proxy the server gets unless its NO_PROXY names the address. The
checks do the same, and nothing else: the keys or profile of the admin's shell would make a check pass that the
server fails. Fetched when a client first signs a request, so a failure is reported by the check that needed it.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn

from wizard.checks.engine import CheckContext
from wizard.checks.storage_common import outside

METADATA_HOST, METADATA_PORT = "169.254.169.254", 80  # what the server's SDK asks (it gets no AWS_EC2_METADATA_*)
METADATA_URL = f"http://{METADATA_HOST}"
TOKEN_PATH = "/latest/api/token"
ROLES_PATH = "/latest/meta-data/iam/security-credentials/"
SOURCE = "the instance metadata service"
TOKEN_TTL = "300"  # seconds; a check run needs one token


def metadata_url(ctx: CheckContext) -> str:
    """The metadata service's address; `ctx.extra["aws_metadata_endpoint"]` stands in for it in tests."""
    return str(ctx.extra.get("aws_metadata_endpoint") or METADATA_URL).rstrip("/")


class InstanceRole:
    """A botocore credential provider (the shape its CredentialResolver calls: METHOD, CANONICAL_NAME, `load`)
    giving the role's credentials from the metadata service, fetched at the first signed request."""

    METHOD = "iam-role"
    CANONICAL_NAME = "Ec2InstanceMetadata"

    def __init__(self, ctx: CheckContext, timeout: float):
        self.ctx, self.timeout = ctx, timeout
        self.url = metadata_url(ctx)

    def load(self):
        from botocore.credentials import DeferredRefreshableCredentials

        return DeferredRefreshableCredentials(refresh_using=self.fetch, method=self.METHOD)

    def fetch(self) -> dict[str, Any]:
        """The role's credentials as botocore's refresh expects them; raises CredentialRetrievalError with a message
        that says what the server would meet."""
        if os.environ.get("AWS_EC2_METADATA_DISABLED", "").strip().lower() == "true":
            self._fail("not asked: AWS_EC2_METADATA_DISABLED=true in this shell keeps the wizard from it (the server "
                       "does not get that setting, so this check cannot stand for it)")
        from botocore.httpsession import URLLib3Session

        from wizard.checks.container_view import server_proxies, shown_proxy

        proxies = server_proxies(self.ctx).for_url(self.url)
        http = URLLib3Session(proxies=proxies, timeout=self.timeout)
        via = "".join(f" through the proxy the server gets ({shown_proxy(proxy)})" for proxy in proxies.values())
        try:
            token = self._token(http, via)
            headers = {"X-aws-ec2-metadata-token": token} if token else {}
            status, body = self._send(http, "GET", ROLES_PATH, headers, via)
            roles = body.split() if status == 200 else []
            if status == 401:
                self._fail(f"{SOURCE} at {self.url} wants a session token (IMDSv2 required) and gave none")
            if status == 404 or (status == 200 and not roles):
                self._fail(f"this instance has no IAM role attached ({SOURCE} at {self.url} lists none)")
            if status != 200:
                self._fail(f"{SOURCE} at {self.url}{via} answered HTTP {status} for the role's name")
            status, body = self._send(http, "GET", ROLES_PATH + roles[0], headers, via)
        finally:
            http.close()
        return self._credentials(status, body, roles[0])

    def _token(self, http, via: str) -> str | None:
        """An IMDSv2 session token; None where the service refuses tokens (IMDSv1 only), as the SDKs then go on."""
        status, body = self._send(http, "PUT", TOKEN_PATH, {"X-aws-ec2-metadata-token-ttl-seconds": TOKEN_TTL}, via)
        if status == 200 and body.strip():
            return body.strip()
        if status in (403, 404, 405):
            return None
        self._fail(f"{SOURCE} at {self.url}{via} answered HTTP {status} when asked for a session token")

    def _send(self, http, method: str, path: str, headers: dict[str, str], via: str) -> tuple[int, str]:
        from botocore.awsrequest import AWSRequest
        from botocore.exceptions import BotoCoreError, ConnectTimeoutError, ReadTimeoutError

        request = AWSRequest(method=method, url=self.url + path, headers=headers)
        try:
            response = http.send(request.prepare())
        except BotoCoreError as exc:  # no connection, a timeout, a proxy that refused
            how = (f"did not answer within {self.timeout:g} s" if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError))
                   else "cannot be reached from here")
            self._fail(f"{SOURCE} at {self.url} {how}{via}: this machine is not an EC2 instance, or its metadata "
                       "service is turned off")
        return response.status_code, response.text[:65536]

    def _credentials(self, status: int, body: str, role: str) -> dict[str, Any]:
        try:
            data = json.loads(body) if status == 200 else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict) or not all(data.get(key) for key in ("AccessKeyId", "SecretAccessKey")):
            self._fail(f"{SOURCE} gave no usable credentials for the role {outside(role, 80)} (HTTP {status}"
                       f"{', ' + outside(data.get('Code'), 60) if isinstance(data, dict) and data.get('Code') else ''})")
        try:
            expiry = datetime.fromisoformat(str(data.get("Expiration")).replace("Z", "+00:00"))
        except ValueError:  # the service always says; else good for the few seconds of a check run
            expiry = datetime.now(timezone.utc) + timedelta(hours=1)
        return {"access_key": data["AccessKeyId"], "secret_key": data["SecretAccessKey"],
                "token": data.get("Token") or "", "expiry_time": expiry.isoformat()}

    @staticmethod
    def _fail(message: str) -> NoReturn:
        from botocore.exceptions import CredentialRetrievalError

        raise CredentialRetrievalError(provider="the instance's role", error_msg=message)
