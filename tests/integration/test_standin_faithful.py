"""The stand-in server is faithful to wandb/local where the wizard depends on it: it gets ready only when its
dependencies hold, as seen from inside its container (a real Docker Engine, real connections, real file modes).

Dependencies a container can reach are TCP listeners on the Docker bridge's gateway (`bridge_listener`); names
resolve only through the container's /etc/hosts (`extra_hosts`), never DNS. Every test also checks that the
stand-in's log holds no secret of its environment.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.services.bridge_listener import BridgeListener, bridge_gateway, bridge_listener  # noqa: F401 (fixtures)
from tests.services.docker_engine import docker_client, docker_engine, docker_names  # noqa: F401 (fixtures)
from tests.services.local_process import free_port
from tests.services.standin_image import (  # noqa: F401 (fixtures)
    DEPENDENCY_ERROR,
    dependency_errors,
    received_environment,
    standin_image,
    standin_spec,
)

READY_DELAY = "0.2"
_COUNTER = itertools.count()
WAIT = 10.0  # for a verdict: ready, or the dependency lines printed


class Started:
    """A stand-in container run directly with the Docker SDK, its port published on loopback."""

    def __init__(self, client: Any, names: Any, image: str, env: dict[str, str], **run: Any) -> None:
        self.port = free_port()
        self.env = {"STANDIN_READY_DELAY": READY_DELAY, **env}
        self.container = client.containers.run(image, detach=True, name=names(f"faithful-{next(_COUNTER)}"),
                                               environment=self.env, ports={"8080/tcp": ("127.0.0.1", self.port)},
                                               **run)

    def logs(self) -> str:
        return self.container.logs().decode(errors="replace")

    def ready_status(self) -> int | None:
        """GET /ready: its status, None when nothing answers yet."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"http://127.0.0.1:{self.port}/ready", timeout=2) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return None

    def wait_ready(self) -> None:
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            if self.ready_status() == 200:
                assert "*** All services started" in self.logs()
                assert not dependency_errors(self.logs()), self.logs()
                return
            self.container.reload()
            assert self.container.status in ("created", "running"), self.logs()
            time.sleep(0.1)
        raise AssertionError(f"the stand-in did not get ready within {WAIT} s:\n{self.logs()}")

    def wait_stuck(self, *expected: str) -> dict[str, list[str]]:
        """Waits for the dependency lines of `expected` (VARNAMEs), then checks it stays running and unready past
        its readiness delay. Returns the dependency problems printed."""
        end = time.monotonic() + WAIT
        while not set(expected) <= set(dependency_errors(self.logs())):
            assert time.monotonic() < end, f"no dependency error for {expected} within {WAIT} s:\n{self.logs()}"
            time.sleep(0.1)
        time.sleep(float(READY_DELAY) + 0.8)
        self.container.reload()
        logs = self.logs()
        assert self.container.status == "running", logs  # stuck retrying, not exited
        assert self.ready_status() == 404, logs  # httpd answers (received-env stays readable) but not /ready ...
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with pytest.raises(urllib.error.HTTPError) as healthz:
            opener.open(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
        assert healthz.value.code == 404  # ... nor /healthz
        assert "*** Migrating database" not in logs and "*** All services started" not in logs, logs
        for line in logs.splitlines():
            if DEPENDENCY_ERROR in line:
                assert line.startswith(DEPENDENCY_ERROR), line
        found = dependency_errors(logs)
        assert set(found) == set(expected), logs
        return found

    def assert_no_secret(self, *secrets: str) -> None:
        logs = self.logs()
        for secret in secrets:
            assert secret and secret not in logs, f"a secret is in the stand-in's log:\n{logs}"

    @property
    def address(self) -> str:
        self.container.reload()
        return self.container.attrs["NetworkSettings"]["IPAddress"]


@pytest.fixture
def start(docker_client, docker_names, standin_image):  # noqa: F811
    def run(env: dict[str, str], **kwargs: Any) -> Started:
        return Started(docker_client, docker_names, standin_image, env, **kwargs)
    return run


@pytest.fixture
def second_listener(bridge_gateway):  # noqa: F811
    listener = BridgeListener.start(bridge_gateway)
    yield listener
    listener.close()


def test_ready_when_mysql_and_redis_answer_at_the_gateway(start, bridge_listener, second_listener,  # noqa: F811
                                                          docker_names):
    password, redis_password = f"s3cr3t-{docker_names.tag}-pw", f"r3d1s-{docker_names.tag}"
    mysql = f"mysql://wandb_local:{password}@{bridge_listener.address}/wandb_local?tls=preferred"
    redis = f"redis://wandb:{redis_password}@{second_listener.address}?ttlInSeconds=604800"
    server = start({"MYSQL": mysql, "REDIS": redis})
    server.wait_ready()
    # It really connected to each, from its own address on the bridge.
    assert bridge_listener.connections_from(server.address) >= 1
    assert second_listener.connections_from(server.address) >= 1
    assert received_environment("127.0.0.1", server.port)["MYSQL"] == mysql
    server.assert_no_secret(password, redis_password, mysql, redis)


def test_mysql_at_127_0_0_1_is_the_container_itself_and_never_ready(start, docker_names):
    password = f"s3cr3t-{docker_names.tag}-pw"
    mysql = f"mysql://wandb_local:{password}@127.0.0.1:3306/wandb_local"
    server = start({"MYSQL": mysql})
    found = server.wait_stuck("MYSQL")
    [line] = found["MYSQL"]
    assert line.startswith("cannot connect to 127.0.0.1:3306 from inside the container"), line
    assert "the container itself" in line
    server.assert_no_secret(password, mysql)


def test_mysql_without_a_port_is_3306_and_localhost_is_loopback(start, docker_names):
    password = f"s3cr3t-{docker_names.tag}-pw"
    server = start({"MYSQL": f"mysql://wandb_local:{password}@localhost/wandb_local"})
    [line] = server.wait_stuck("MYSQL")["MYSQL"]
    assert line.startswith("cannot connect to localhost:3306 (127.0.0.1") and "from inside the container" in line
    server.assert_no_secret(password)


def test_a_name_resolves_only_through_the_containers_hosts_file(start, bridge_listener, bridge_gateway,  # noqa: F811
                                                                docker_names):
    password = f"s3cr3t-{docker_names.tag}-pw"
    mysql = f"mysql://wandb_local:{password}@db.test:{bridge_listener.port}/wandb_local"
    unknown = start({"MYSQL": mysql})  # no DNS in the stand-in: db.test is nowhere
    [line] = unknown.wait_stuck("MYSQL")["MYSQL"]
    assert line.startswith("host db.test does not resolve inside the container"), line
    unknown.assert_no_secret(password, mysql)

    known = start({"MYSQL": mysql}, extra_hosts={"db.test": bridge_gateway})
    known.wait_ready()
    assert bridge_listener.connections_from(known.address) >= 1
    known.assert_no_secret(password, mysql)


def test_a_listener_that_is_gone_is_reported_with_its_address(start, bridge_gateway, docker_names):  # noqa: F811
    closed = BridgeListener.start(bridge_gateway)
    address = closed.address
    closed.close()
    secret = f"r3d1s-{docker_names.tag}"
    server = start({"REDIS": f"redis://:{secret}@{address}?tls=true"})
    [line] = server.wait_stuck("REDIS")["REDIS"]
    assert line.startswith(f"cannot connect to {address} from inside the container"), line
    server.assert_no_secret(secret)


def test_amazon_s3_needs_keys_in_the_environment(start, docker_names):
    failing = start({"BUCKET": "s3://wandb-files", "AWS_REGION": "us-east-1"})
    [line] = failing.wait_stuck("BUCKET")["BUCKET"]
    assert "AWS_ACCESS_KEY_ID" in line and "AWS_SECRET_ACCESS_KEY" in line and "wandb-files" in line, line

    only_id = start({"BUCKET": "s3://wandb-files", "AWS_ACCESS_KEY_ID": "AKIAFAITHFUL"})
    only_id.wait_stuck("BUCKET")

    secret = f"aws-secret-{docker_names.tag}"
    passing = start({"BUCKET": "s3://wandb-files", "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIAFAITHFUL",
                     "AWS_SECRET_ACCESS_KEY": secret})
    passing.wait_ready()
    passing.assert_no_secret(secret)


def test_an_s3_compatible_store_is_connected_to_and_its_keys_never_shown(start, second_listener, docker_names):
    secret = f"s3c/secret+{docker_names.tag}"
    encoded = secret.replace("/", "%2F").replace("+", "%2B")
    bucket = f"s3://FAITHFULKEY:{encoded}@{second_listener.address}/files?region=us-east-1"
    server = start({"BUCKET": bucket})
    server.wait_ready()
    assert second_listener.connections_from(server.address) >= 1
    server.assert_no_secret(secret, encoded, bucket)

    # With tls=true and no port: 443 on that host, where nothing listens.
    tls = f"s3://FAITHFULKEY:{encoded}@{second_listener.host}/files?region=us-east-1&tls=true"
    stuck = start({"BUCKET": tls})
    [line] = stuck.wait_stuck("BUCKET")["BUCKET"]
    assert line.startswith(f"cannot connect to {second_listener.host}:443 from inside the container"), line
    stuck.assert_no_secret(secret, encoded, "FAITHFULKEY")


def test_gcs_needs_a_service_account_key(start, tmp_path, docker_names):
    server = start({"BUCKET": "gs://wandb-files"})
    [line] = server.wait_stuck("BUCKET")["BUCKET"]
    assert "GOOGLE_APPLICATION_CREDENTIALS" in line, line

    private_key = f"-----BEGIN PRIVATE KEY-----\\nfaithful-{docker_names.tag}\\n-----END PRIVATE KEY-----\\n"
    key = tmp_path / "gcs-key.json"
    key.write_text(json.dumps({"type": "service_account", "client_email": "wandb@p.iam.gserviceaccount.com",
                               "private_key": private_key}))
    os.chmod(key, 0o444)
    mounted = {str(key): {"bind": "/etc/wandb/gcs-key.json", "mode": "ro"}}
    env = {"BUCKET": "gs://wandb-files", "GOOGLE_APPLICATION_CREDENTIALS": "/etc/wandb/gcs-key.json"}
    with_key = start(env, volumes=mounted)
    with_key.wait_ready()
    with_key.assert_no_secret(private_key, f"faithful-{docker_names.tag}")

    not_a_key = tmp_path / "notes.json"
    not_a_key.write_text('{"hello": "world"}')
    os.chmod(not_a_key, 0o444)
    wrong = start(env, volumes={str(not_a_key): {"bind": "/etc/wandb/gcs-key.json", "mode": "ro"}})
    [line] = wrong.wait_stuck("GOOGLE_APPLICATION_CREDENTIALS")["GOOGLE_APPLICATION_CREDENTIALS"]
    assert "/etc/wandb/gcs-key.json does not look like a service-account key" in line, line

    missing = start(env)
    [line] = missing.wait_stuck("GOOGLE_APPLICATION_CREDENTIALS")["GOOGLE_APPLICATION_CREDENTIALS"]
    assert line == "/etc/wandb/gcs-key.json does not exist in the container", line


def test_gcs_with_the_key_in_the_url_and_azure_with_its_key(start, docker_names):
    secret = f"gcs-key-{docker_names.tag}"
    inline = start({"BUCKET": f"gs://wandb%40p.iam.gserviceaccount.com:{secret}@wandb-files"})
    inline.wait_ready()
    inline.assert_no_secret(secret)
    half = start({"BUCKET": f"gs://:{secret}/with-a-raw-slash@wandb-files"})  # no email: refused, key unshown
    [line] = half.wait_stuck("BUCKET")["BUCKET"]
    assert "needs both the service account's email and its key" in line, line
    half.assert_no_secret(secret, "with-a-raw-slash")

    azure = start({"BUCKET": "az://wandbaccount/files", "AZURE_STORAGE_ACCOUNT": "wandbaccount"})
    [line] = azure.wait_stuck("BUCKET")["BUCKET"]
    assert "AZURE_STORAGE_KEY" in line, line
    azure_secret = f"azure-key-{docker_names.tag}"
    keyed = start({"BUCKET": "az://wandbaccount/files", "AZURE_STORAGE_KEY": azure_secret})
    keyed.wait_ready()
    keyed.assert_no_secret(azure_secret)


def _ca_file(directory: Path, mode: int) -> Path:
    directory.mkdir(mode=0o755)
    path = directory / "redis-ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\nMIIB-faithful\n-----END CERTIFICATE-----\n")
    os.chown(path, 0, 0)
    os.chmod(path, mode)
    return path


def test_a_ca_file_the_server_cannot_read_is_named(start, second_listener, tmp_path, docker_names):
    secret = f"r3d1s-{docker_names.tag}"
    target = "/etc/wandb/redis-ca.pem"
    redis = (f"redis://wandb:{secret}@{second_listener.address}?tls=true&caCertPath={target.replace('/', '%2F')}"
             f"&ttlInSeconds=604800")
    private = _ca_file(tmp_path / "private", 0o600)  # root:root 0600, mounted read-only: UID 999 cannot read it
    unreadable = start({"REDIS": redis}, volumes={str(private): {"bind": target, "mode": "ro"}})
    [line] = unreadable.wait_stuck("REDIS")["REDIS"]
    assert line == f"caCertPath {target} is not readable by UID 999", line
    unreadable.assert_no_secret(secret, redis)

    shared = _ca_file(tmp_path / "shared", 0o444)
    readable = start({"REDIS": redis}, volumes={str(shared): {"bind": target, "mode": "ro"}})
    readable.wait_ready()
    readable.assert_no_secret(secret, redis)

    mysql_ca = start({"MYSQL_CA_CERT_PATH": "/etc/wandb/mysql-ca.pem"},
                     volumes={str(private): {"bind": "/etc/wandb/mysql-ca.pem", "mode": "ro"}})
    [line] = mysql_ca.wait_stuck("MYSQL_CA_CERT_PATH")["MYSQL_CA_CERT_PATH"]
    assert line == "/etc/wandb/mysql-ca.pem is not readable by UID 999", line


def test_the_oidc_issuer_is_connected_to(start, bridge_listener, bridge_gateway):  # noqa: F811
    ok = start({"OIDC_ISSUER": f"http://idp.test:{bridge_listener.port}/realms/wandb"},
               extra_hosts={"idp.test": bridge_gateway})
    ok.wait_ready()
    assert bridge_listener.connections_from(ok.address) >= 1
    stuck = start({"OIDC_ISSUER": "https://idp.test/realms/wandb"}, extra_hosts={"idp.test": bridge_gateway})
    [line] = stuck.wait_stuck("OIDC_ISSUER")["OIDC_ISSUER"]
    assert line.startswith(f"cannot connect to idp.test:443 ({bridge_gateway}) from inside the container"), line


def test_every_problem_gets_its_line_and_no_secret_is_printed(start, docker_names):
    tag = docker_names.tag
    env = {
        "MYSQL": f"mysql://wandb_local:mysql-{tag}@127.0.0.1/wandb_local",
        "REDIS": f"redis://:redis-{tag}@cache.nowhere.test:6380?caCertPath=/etc/wandb/none.pem",
        "BUCKET": f"s3://KEY{tag}:bucket-{tag}@minio.nowhere.test:9000/files?region=x",
        "MYSQL_CA_CERT_PATH": "/etc/wandb/mysql-ca.pem",
        "LICENSE": f"license-{tag}",
    }
    server = start(env)
    found = server.wait_stuck("MYSQL", "REDIS", "BUCKET", "MYSQL_CA_CERT_PATH")
    assert found["REDIS"] == ["caCertPath /etc/wandb/none.pem does not exist in the container",
                              "host cache.nowhere.test does not resolve inside the container (it is not an IP address "
                              "and not in the container's /etc/hosts: add it with --add-host/extra_hosts)"]
    assert found["BUCKET"][0].startswith("host minio.nowhere.test does not resolve inside the container")
    assert found["MYSQL_CA_CERT_PATH"] == ["/etc/wandb/mysql-ca.pem does not exist in the container"]
    server.assert_no_secret(f"mysql-{tag}", f"redis-{tag}", f"bucket-{tag}", f"KEY{tag}", f"license-{tag}",
                            env["MYSQL"], env["REDIS"], env["BUCKET"], env["LICENSE"])


def test_the_launcher_sees_a_stuck_server_time_out_with_the_reason_in_its_last_logs(  # noqa: F811
        docker_client, docker_names, standin_image):  # noqa: F811
    from wizard.launcher import Options, launch

    spec = standin_spec(docker_names, standin_image,
                        env={"MYSQL": f"mysql://wandb_local:s3cr3t-{docker_names.tag}-pw@127.0.0.1:3306/wandb_local"})
    result = launch(spec, client=docker_client, options=Options(ready_timeout=3, poll_interval=0.2, stop_timeout=5,
                                                                 after_timeout=2))
    assert not result.ok and result.watch.outcome == "timeout", result.message
    assert any(line.startswith("ERROR dependency MYSQL: cannot connect to 127.0.0.1:3306 from inside the container")
               for line in result.last_logs), result.last_logs
    assert all(f"s3cr3t-{docker_names.tag}-pw" not in line for line in result.last_logs)


def test_standin_spec_gives_a_reachable_mysql(docker_names, standin_image, bridge_listener):  # noqa: F811
    spec = standin_spec(docker_names, standin_image)
    assert f"@{bridge_listener.address}/" in spec.environment["MYSQL"]
    assert f"s3cr3t-{docker_names.tag}-pw" in spec.environment["MYSQL"]  # the canary the leak tests look for
