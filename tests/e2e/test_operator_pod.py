"""Green means the server works on Kubernetes too: the operator export, as W&B's chart turns it into the server
pod's environment and files, gets the faithful stand-in ready.

helm cannot run here, so the chart is a hand-written model (tests/services/operator_chart.py, from the chart's
templates); Kubernetes is the stand-in container on the Docker bridge with that environment and those files and
nothing else (no host.docker.internal, no mount the wizard would add). The services are real and on this machine's
address, as a cluster reaches an external database: MariaDB (TLS offered), a TLS Redis whose default user has a
password (the chart connects as that user) with a private CA, moto as the S3-compatible store. The same
configuration passes `check --target kubernetes` first.
"""

from __future__ import annotations

import os
import time
import urllib.request
from pathlib import Path

import pytest

from tests.services.docker_engine import docker_client, docker_engine, docker_names  # noqa: F401 (fixtures)
from tests.services.host_address import machine_address
from tests.services.local_process import free_port
from tests.services.mariadb import mariadb  # noqa: F401 (fixture)
from tests.services.moto_server import moto_server  # noqa: F401 (fixture)
from tests.services.operator_chart import MYSQL_CA_PATH, REDIS_CA_PATH, pod, secret_values, unexpanded
from tests.services.redis_tls import _redis_tls_password_server, redis_tls_password  # noqa: F401 (fixtures)
from tests.services.standin_image import dependency_errors, received_environment, standin_image  # noqa: F401
from wizard import kubernetes as k8s
from wizard.checks import Status
from wizard.checks.all_steps import check_all
from wizard.checks.engine import KUBERNETES
from wizard.draft import build_config

READY_SECONDS = 40.0
REACHING = ("database.reachable", "database.tls", "database.login", "cache.reachable", "cache.tls", "cache.auth",
            "cache.ping", "storage.endpoint", "storage.credentials", "storage.bucket", "storage.probe")
SLACK_SECRET = "5ec2e7" + "c0ffee" * 4 + "ab"  # 32 hexadecimal characters, as Slack gives them
EXTRA_SECRET = "canary-extra-$(HOME)-7a2c"  # a $( that Kubernetes must not expand


@pytest.fixture
def external(mariadb, redis_tls_password, moto_server, standin_image):  # noqa: F811
    """Draft values and secrets of an external configuration a pod can reach (this machine's address)."""
    account = mariadb.account()
    bucket = moto_server.unique("pod")
    moto_server.client("s3").create_bucket(Bucket=bucket)
    repository, _, tag = standin_image.rpartition(":")
    values = {
        "host": {"url": "https://wandb.example.com"},
        "storage": {"provider": "s3-compatible", "s3_compatible": {
            "endpoint": f"{machine_address()}:{moto_server.port}", "bucket": bucket,
            "access_key": moto_server.access_key_id, "tls": False}},
        "database": {"provider": "mysql", "mysql": {
            "host": mariadb.host, "port": mariadb.port, "user": account.user, "database": account.database,
            "tls": "preferred", "ca_file": str(mariadb.certs.ca)}},
        "cache": {"provider": "redis", "redis": {
            "host": redis_tls_password.host, "port": redis_tls_password.port, "tls": True,
            "ca_file": str(redis_tls_password.certs.ca)}},
        "server": {"image": repository, "tag": tag},
    }
    secrets = {"database.mysql.password": account.password, "cache.redis.password": redis_tls_password.password,
               "storage.s3_compatible.secret_key": moto_server.secret_access_key}
    return values, secrets


def _run_pod(docker_client, docker_names, image: str, the_pod, tmp_path):  # noqa: F811
    """The pod as Docker can give it: its environment, its files (read-only, readable by the server's user) and a
    data volume; published on a free port of 127.0.0.1 to read /ready."""
    from docker.types import Mount

    mounts = [Mount("/vol", docker_names("pod-data"), type="volume")]
    for index, (path, content) in enumerate(sorted(the_pod.files.items())):
        local = tmp_path / f"pod-file-{index}"
        local.write_text(content)
        os.chmod(local, 0o444)
        mounts.append(Mount(path, str(local), type="bind", read_only=True))
    port = free_port()
    container = docker_client.containers.run(
        image, detach=True, name=docker_names("pod"), environment={**the_pod.env, "STANDIN_READY_DELAY": "0.2"},
        mounts=mounts, ports={"8080/tcp": ("127.0.0.1", port)})
    return container, port


def _received_by_the_ready_pod(docker_client, docker_names, image: str, the_pod, tmp_path) -> dict[str, str]:  # noqa: F811
    """Run the pod, require /ready, and return the environment the server received."""
    container, port = _run_pod(docker_client, docker_names, image, the_pod, tmp_path)
    try:
        assert _ready(port, container), (dependency_errors(container.logs()), container.logs()[-2000:])
        return received_environment("127.0.0.1", port)
    finally:
        container.remove(force=True)


def _ready(port: int, container) -> bool:
    end = time.monotonic() + READY_SECONDS
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            container.reload()
            if container.status == "exited":
                return False
        time.sleep(0.3)
    return False


async def test_the_operator_export_checked_green_gets_the_pod_ready(external, docker_client, docker_names,
                                                                   standin_image, tmp_path):  # noqa: F811
    values, secrets = external
    cfg = build_config(values, secrets)
    reports = await check_all(cfg, timeout=30.0, target=KUBERNETES)  # generous: under load a service can be slow
    results = {result.id: result for report in reports for result in report.results}
    for check_id in REACHING:
        assert results[check_id].status is Status.PASS, results[check_id]

    chart = k8s.chart_values(cfg, with_secrets=True)
    assert not chart.cannot, chart.cannot  # nothing of this configuration is left out of the pod
    the_pod = pod(chart.values, secret_values(chart))
    assert unexpanded(the_pod.env) == {}
    assert set(the_pod.files) == {MYSQL_CA_PATH, REDIS_CA_PATH}
    # The Redis password is named in the chart's values as a Secret: its CA must be in that Secret too.
    assert the_pod.files[REDIS_CA_PATH] == Path(values["cache"]["redis"]["ca_file"]).read_text()

    received = _received_by_the_ready_pod(docker_client, docker_names, standin_image, the_pod, tmp_path)
    assert received["REDIS"] == (f"redis://:{secrets['cache.redis.password']}@{values['cache']['redis']['host']}:"
                                 f"{values['cache']['redis']['port']}?caCertPath={REDIS_CA_PATH}&tls=true"
                                 "&ttlInSeconds=604800")
    assert received["MYSQL_CA_CERT_PATH"] == MYSQL_CA_PATH
    assert received["BUCKET"].startswith(f"s3://{values['storage']['s3_compatible']['access_key']}:")


async def test_secrets_without_a_chart_key_reach_the_server(external, docker_client, docker_names,
                                                            standin_image, tmp_path):  # noqa: F811
    """Amazon S3 keys, Slack's secret and a secret extra option have no key in the chart: the values name their
    Secrets in the server container's own env (the chart gives that container nothing from global.extraEnvFrom).
    The stand-in is not ready with an S3 bucket unless both AWS keys are set."""
    values, secrets = external
    values = {**values, "storage": {"provider": "s3", "s3": {"bucket": "acme-wandb", "region": "us-east-1",
                                                             "access_key_id": "AKIAPODTEST0000"}},
              "slack": {"client_id": "1234567890.9876543210"},
              "server": {**values["server"], "extra_env": [{"name": "LDAP_BIND_PW", "value": "", "secret": True}]}}
    secrets = {key: value for key, value in secrets.items() if not key.startswith("storage.")}
    secrets.update({"storage.s3.secret_access_key": "pod/secret+key=", "slack.secret": SLACK_SECRET,
                    "server.extra_env.LDAP_BIND_PW": EXTRA_SECRET})
    cfg = build_config(values, secrets)

    chart = k8s.chart_values(cfg, with_secrets=True)
    the_pod = pod(chart.values, secret_values(chart))
    received = _received_by_the_ready_pod(docker_client, docker_names, standin_image, the_pod, tmp_path)
    assert received["BUCKET"] == "s3://acme-wandb"
    assert received["AWS_ACCESS_KEY_ID"] == "AKIAPODTEST0000"
    assert received["AWS_SECRET_ACCESS_KEY"] == "pod/secret+key="
    assert received["SLACK_CLIENT_ID"] == "1234567890.9876543210"
    assert received["SLACK_SECRET"] == received["GORILLA_SLACK_SECRET"] == SLACK_SECRET
    assert received["LDAP_BIND_PW"] == EXTRA_SECRET
