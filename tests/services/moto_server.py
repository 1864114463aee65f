"""A real moto server (S3, SQS, STS, IAM, KMS) on a free loopback port, WITH request authentication.

moto checks signatures only when started with INITIAL_NO_AUTH_ACTION_COUNT: the first calls (unsigned) create an
IAM user with an allow-all policy and an access key; every later call must be signed with that key, so a wrong
secret fails as on AWS. One server per test session; tests use unique bucket and queue names.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import unavailable
from tests.services.host_address import machine_address
from tests.services.local_process import free_port, log_tail, stop, wait_for_port

SERVICE = "moto server (S3/SQS)"
SETUP_CALLS = 3  # create_user, put_user_policy, create_access_key
REGION = "us-east-1"


@dataclass
class MotoServer:
    endpoint: str
    port: int
    access_key_id: str
    secret_access_key: str
    process: subprocess.Popen

    def client(self, service: str, region: str = REGION):
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=region,
                            aws_access_key_id=self.access_key_id, aws_secret_access_key=self.secret_access_key)

    def limited_key(self, denied: list[str]) -> tuple[str, str]:
        """An access key of a new IAM user allowed everything except `denied` actions (moto enforces IAM)."""
        import json

        iam, user = self.client("iam"), self.unique("limited")
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="limited", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                                                   {"Effect": "Deny", "Action": denied, "Resource": "*"}]}))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    @staticmethod
    def unique(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"


def start(folder: Path) -> MotoServer:
    binary = str(Path(sys.executable).parent / "moto_server")  # this venv's moto, not another on PATH
    if not Path(binary).exists():
        unavailable(SERVICE, "moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    log = folder / "moto.log"
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(SETUP_CALLS), AWS_DEFAULT_REGION=REGION)
    with open(log, "w") as out:
        process = subprocess.Popen([binary, "-H", machine_address(), "-p", str(port)], stdout=out, stderr=subprocess.STDOUT,
                                   env=env, cwd=folder)
    if not wait_for_port(process, port, 20, machine_address()):
        stop(process)
        unavailable(SERVICE, f"moto_server did not start: {log_tail(log)}")
    import boto3

    endpoint = f"http://{machine_address()}:{port}"  # not loopback: the server container reaches it there too
    iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION,
                       aws_access_key_id="setup", aws_secret_access_key="setup")
    iam.create_user(UserName="wizard")
    iam.put_user_policy(UserName="wizard", PolicyName="all", PolicyDocument=(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'))
    key = iam.create_access_key(UserName="wizard")["AccessKey"]
    return MotoServer(endpoint, port, key["AccessKeyId"], key["SecretAccessKey"], process)


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory) -> Iterator[MotoServer]:
    server = start(tmp_path_factory.mktemp("moto"))
    yield server
    stop(server.process)

