"""Preflight against a real Docker Engine, a dead socket, and a socket this user may not use."""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from tests.services import unavailable
from tests.services.bridge_listener import bridge_listener  # noqa: F401 (fixture)
from tests.services.docker_engine import docker_client, docker_engine, docker_names  # noqa: F401 (fixtures)
from tests.services.standin_image import standin_image, standin_spec  # noqa: F401 (fixtures)
from wizard.checks.engine import Status
from wizard.launcher import EngineUnavailable, LaunchSpec, Minimums, Options, connect, launch, run_preflight
from wizard.launcher.preflight import check_engine

GB = 1024 ** 3


def _by_id(items):
    return {item.id: item for item in items}


def test_preflight_on_a_working_engine_reports_every_item(docker_client, docker_names, standin_image):
    spec = standin_spec(docker_names, standin_image)
    items = list(run_preflight(spec))
    assert [i.id for i in items] == ["docker.engine", "docker.version", "host.arch", "host.cpus", "host.memory",
                                     "host.disk", "host.port", "existing.container", "existing.volume"]
    found = _by_id(items)
    version = docker_client.version()
    assert found["docker.engine"].status == Status.PASS
    assert f"Docker Engine {version['Version']} (API {version['ApiVersion']}" in found["docker.version"].message
    info = docker_client.info()
    assert found["host.arch"].status == (Status.PASS if info["Architecture"] in ("x86_64", "amd64") else Status.WARN)
    # Statuses follow the machine's real figures against the recommendation (warn, never fail).
    assert found["host.cpus"].status == (Status.PASS if info["NCPU"] >= 4 else Status.WARN)
    assert f"{info['NCPU']} CPUs" in found["host.cpus"].message
    assert found["host.memory"].status == (Status.PASS if info["MemTotal"] >= 8 * GB * 0.93 else Status.WARN)
    free = shutil.disk_usage(info["DockerRootDir"]).free
    assert info["DockerRootDir"] in found["host.disk"].message
    assert found["host.disk"].status == (Status.PASS if free >= 20 * GB else Status.WARN)
    assert found["host.port"].status == Status.PASS
    assert found["existing.container"].status == Status.PASS
    assert found["existing.volume"].status == Status.PASS and "will be created" in found["existing.volume"].message
    assert all(item.status != Status.FAIL for item in items)


def test_minimums_decide_between_pass_and_warn(docker_client, docker_names, standin_image):
    spec = standin_spec(docker_names, standin_image)
    info = docker_client.info()
    generous = _by_id(run_preflight(spec, Minimums(cpus=1, memory_bytes=1, disk_bytes=1)))
    strict = _by_id(run_preflight(spec, Minimums(cpus=info["NCPU"] + 1, memory_bytes=info["MemTotal"] * 2,
                                                 disk_bytes=10 ** 15)))
    for item_id in ("host.cpus", "host.memory", "host.disk"):
        assert generous[item_id].status == Status.PASS
        assert strict[item_id].status == Status.WARN and strict[item_id].hint


def test_an_existing_volume_and_container_are_described_with_secrets_masked(docker_client, docker_names,
                                                                          standin_image, bridge_listener):  # noqa: F811
    spec = standin_spec(docker_names, standin_image)
    assert launch(spec, client=docker_client, options=Options(20, 0.2, 5, 2)).ok
    found = _by_id(run_preflight(spec))
    volume, container = found["existing.volume"], found["existing.container"]
    assert volume.status == Status.WARN and spec.volume in volume.message and spec.container_name in volume.message
    assert container.status == Status.WARN
    for expected in (f"container {spec.container_name} (running", f"image {spec.image_ref}",
                     f"data at /vol: {spec.volume}", "LICENSE=********",
                     f"MYSQL=mysql://wandb_local:********@{bridge_listener.address}/wandb_local",
                     f"session {spec.session_name}"):
        assert expected in container.message
    assert spec.environment["LICENSE"] not in container.message
    assert "s3cr3t" not in container.message


def test_engine_down_is_explained_for_a_missing_and_a_stale_socket(tmp_path, monkeypatch):
    missing = f"unix://{tmp_path}/nothing-here.sock"
    stale_path = tmp_path / "stale.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(stale_path))  # a socket file nobody listens on: what a crashed daemon leaves
    stale.close()
    for address in (missing, f"unix://{stale_path}"):
        item, client = check_engine(address)
        assert client is None
        assert item.status == Status.FAIL
        assert item.message == f"Docker Engine is not running: nothing answers at {address}."
        assert ("systemctl start docker" in item.hint) or ("service docker start" in item.hint)
    # The same through DOCKER_HOST, and from an operation: a clear error, never the SDK's exception.
    monkeypatch.setenv("DOCKER_HOST", missing)
    with pytest.raises(EngineUnavailable) as raised:
        connect()
    assert missing in raised.value.message
    with pytest.raises(EngineUnavailable):
        launch(LaunchSpec(host_url="http://127.0.0.1:8080"))
    items = _by_id(run_preflight(LaunchSpec(port=1)))
    assert items["docker.engine"].status == Status.FAIL
    assert items["docker.version"].status == Status.SKIPPED and items["existing.container"].status == Status.SKIPPED
    assert items["host.cpus"].status in (Status.PASS, Status.WARN)  # host items still run without the engine


_AS_NOBODY = r"""
import json, os, sys
import docker, docker.errors, requests  # imported as root; everything after runs as nobody
from wizard.launcher.preflight import check_engine
from wizard.launcher import connect, EnginePermissionDenied
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
item, client = check_engine(sys.argv[1])
try:
    connect(sys.argv[1])
    raised = None
except EnginePermissionDenied as exc:
    raised = type(exc).__name__
print(json.dumps({"status": item.status.value, "message": item.message, "hint": item.hint, "raised": raised,
                  "uid": os.getuid()}))
"""


def test_permission_denied_on_the_socket_explains_the_docker_group(tmp_path):
    if os.geteuid() != 0:
        unavailable("root", "dropping to an unprivileged user needs root")
    directory = Path(tempfile.mkdtemp(prefix="wlst-perm-"))
    try:
        os.chmod(directory, 0o755)
        path = directory / "docker.sock"
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(path))
        os.chmod(path, 0o600)  # root only, like a Docker socket without the docker group
        listener.listen()
        accepted = []

        def accept() -> None:
            try:
                accepted.append(listener.accept())
            except OSError:  # closed at the end of the test
                pass

        threading.Thread(target=accept, daemon=True).start()
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and os.stat(path).st_uid == 0
        env = {"PATH": os.environ.get("PATH", ""), "USER": "nobody", "HOME": "/nonexistent",
               "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        run = subprocess.run([sys.executable, "-c", _AS_NOBODY, f"unix://{path}"], capture_output=True, text=True,
                             env=env, timeout=60)
        listener.close()
        assert run.returncode == 0, run.stderr
        report = json.loads(run.stdout)
        assert report["uid"] == 65534
        assert report["status"] == "fail"
        assert report["raised"] == "EnginePermissionDenied"
        assert f"permission denied on {path}" in report["message"]
        assert "sudo usermod -aG docker nobody" in report["hint"] and "log out and back in" in report["hint"]
        assert accepted == []  # refused by the kernel before any connection
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_architecture_item_warns_off_x86_64():
    from wizard.launcher.preflight import check_architecture

    assert check_architecture({"Architecture": "aarch64"}).status == Status.WARN
    assert "x86-64" in check_architecture({"Architecture": "aarch64"}).message
    assert check_architecture({"Architecture": "x86_64"}).status == Status.PASS
    assert check_architecture(None).status == (
        Status.PASS if platform.machine().lower() in ("x86_64", "amd64") else Status.WARN)


def test_files_and_host_entries_are_checked_before_any_docker_change(docker_client, docker_names, standin_image,
                                                                     tmp_path):
    from wizard.container import HostEntry, Mount

    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    os.chmod(ca, 0o600)
    spec = standin_spec(docker_names, standin_image, mounts=(Mount(str(ca), "/etc/wandb-local-setup/redis-ca.pem",
                                                                   "cache.redis.ca_file"),),
                        extra_hosts=(HostEntry("host.docker.internal", "host-gateway"),))
    found = _by_id(run_preflight(spec))
    assert found["server.files"].status == Status.PASS and "a copy its user, UID 999, can read" in \
        found["server.files"].message
    assert found["server.hosts"].status == Status.PASS and "host.docker.internal:host-gateway" in \
        found["server.hosts"].message  # this engine is 20.10 or newer
    missing = standin_spec(docker_names, standin_image, mounts=(
        Mount(str(tmp_path / "gone.pem"), "/etc/wandb-local-setup/mysql-ca.pem", "database.mysql.ca_file"),
        Mount("/dev/zero", "/etc/wandb-local-setup/gcs-key.json", "storage.gcs.credentials_file", secret=True)))
    files = _by_id(run_preflight(missing))["server.files"]
    assert files.status == Status.FAIL
    assert f"database.mysql.ca_file: {tmp_path / 'gone.pem'} does not exist." in files.message
    assert "storage.gcs.credentials_file: /dev/zero is not a regular file" in files.message
