"""Launching the server on a real Docker Engine, with the busybox stand-in for wandb/local."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.services.bridge_listener import bridge_listener  # noqa: F401 (fixture)
from tests.services.docker_engine import docker_client, docker_engine, docker_names  # noqa: F401 (fixtures)
from tests.services.standin_image import (  # noqa: F401 (fixtures)
    DOCKER_ADDED,
    received_environment,
    standin_image,
    standin_spec,
)
from wizard.checks.engine import Status
from wizard.launcher import (
    MARKERS,
    LayerProgress,
    LogLine,
    MarkerSeen,
    NameConflict,
    Options,
    PortInUse,
    ReadyProbe,
    Step,
    VolumeNotWritable,
    config_hash,
    dry_run,
    fix_bind_path,
    launch,
    secret_values,
)
from wizard.launcher.preflight import check_existing_container, check_existing_volume, check_port
from wizard.launcher.spec import LABEL_CONFIG_HASH, LABEL_MANAGED, LABEL_PREFIX, LABEL_SESSION

FAST = Options(ready_timeout=20, poll_interval=0.2, stop_timeout=5, after_timeout=2)


def _container(client, name):
    return client.containers.get(name)


def _our_labels(container) -> dict[str, str]:
    """The container's labels set by the launcher (a container also inherits the image's labels)."""
    return {k: v for k, v in container.labels.items() if k.startswith(LABEL_PREFIX + ".")}


def test_fresh_launch_is_ready_with_the_exact_environment_labels_ports_and_volume(
        docker_client, docker_names, standin_image, bridge_listener):  # noqa: F811
    spec = standin_spec(docker_names, standin_image)
    events = []
    started = time.monotonic()
    result = launch(spec, client=docker_client, on_event=events.append, options=FAST)
    took = time.monotonic() - started

    assert result.ok, (result.message, result.last_logs)
    assert result.action == "launch"
    assert result.watch.outcome == "ready" and result.watch.markers == MARKERS
    assert [e.marker for e in events if isinstance(e, MarkerSeen)] == list(MARKERS)
    assert any(isinstance(e, ReadyProbe) and e.status == 200 for e in events)
    assert any(isinstance(e, LogLine) and e.text == "*** All services started" for e in events)
    assert [e.phase for e in events if isinstance(e, Step)] == ["image", "volume", "create", "start", "wait"]
    print(f"\nlaunch-to-ready of the stand-in: {took:.2f} s (watch {result.watch.elapsed:.2f} s)")

    # What the server received is exactly the spec's environment, plus only what Docker itself adds.
    received = received_environment("127.0.0.1", spec.port)
    assert {k: received[k] for k in spec.environment} == spec.environment
    assert set(received) - set(spec.environment) <= DOCKER_ADDED

    container = _container(docker_client, spec.container_name)
    attrs = container.attrs
    assert _our_labels(container) == {LABEL_MANAGED: "true", LABEL_SESSION: spec.session_name,
                                LABEL_CONFIG_HASH: config_hash(spec)}
    assert attrs["HostConfig"]["PortBindings"] == {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(spec.port)}]}
    assert attrs["HostConfig"]["RestartPolicy"]["Name"] == "no"
    assert [(m["Type"], m["Name"], m["Destination"]) for m in attrs["Mounts"]] == [("volume", spec.volume, "/vol")]
    assert docker_client.volumes.get(spec.volume).attrs["Labels"][LABEL_MANAGED] == "true"

    # After ready: liveness answers, HOST answers from here, next steps name HOST.
    assert result.after.healthz.status == Status.PASS
    assert result.after.host.status == Status.PASS
    assert any(f"wandb login --host={spec.host_url}" in step for step in result.after.next_steps)
    assert any(f"{spec.host_url}/system-admin" in step for step in result.after.next_steps)

    # The dry run describes exactly what was done (secrets masked).
    plan = dry_run(spec)
    create = next(op for op in plan if op.action == "container create")
    assert create.details["labels"] == _our_labels(container)
    assert create.details["ports"] == f"127.0.0.1:{spec.port} -> 8080/tcp"
    assert create.details["mounts"] == f"volume {spec.volume} -> /vol"
    assert create.details["restart policy"] == "no"
    assert set(create.details["environment"]) == set(spec.environment)
    assert create.details["environment"]["LICENSE"] == "********"
    masked_mysql = f"mysql://wandb_local:********@{bridge_listener.address}/wandb_local"
    assert create.details["environment"]["MYSQL"] == masked_mysql
    assert create.details["environment"]["HOST"] == spec.host_url
    plan_text = "\n".join(line for op in plan for line in op.describe())
    for secret in secret_values(spec.environment, spec.secret_names):
        assert secret not in plan_text

    # Our own container holds the port: preflight says so instead of failing.
    assert check_port(spec, docker_client).status == Status.PASS
    existing = check_existing_container(spec, docker_client)
    assert existing.status == Status.WARN and "reconfigures" in existing.hint
    assert "LICENSE=********" in existing.message


def test_no_secret_reaches_a_command_line_a_label_an_event_or_the_engine_log(
        docker_engine, docker_client, docker_names, standin_image):
    spec = standin_spec(docker_names, standin_image)
    secrets = secret_values(spec.environment, spec.secret_names)
    assert len(secrets) >= 3  # the license, the MySQL URL and its password
    seen_cmdlines: set[bytes] = set()
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        with open(f"/proc/{pid}/cmdline", "rb") as f:
                            seen_cmdlines.add(f.read())
                    except OSError:
                        pass
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    events = []
    try:
        result = launch(spec, client=docker_client, on_event=events.append, options=FAST)
    finally:
        stop.set()
        sampler.join()
    assert result.ok, result.message
    assert any(b"docker-proxy" in c or b"containerd-shim" in c for c in seen_cmdlines)  # the sampler saw the launch
    everything = b"\n".join(seen_cmdlines).replace(b"\0", b" ").decode(errors="replace")
    labels = _container(docker_client, spec.container_name).labels
    event_text = "\n".join(repr(e) for e in events) + repr(result) + repr(spec)
    for secret in secrets:
        assert secret not in everything
        assert all(secret not in value for value in labels.values())
        assert secret not in event_text
        if docker_engine.started_here:
            assert secret not in docker_engine.log_text()
    # ... while the container did get them.
    assert received_environment("127.0.0.1", spec.port)["LICENSE"] == spec.environment["LICENSE"]


def test_a_container_of_the_same_name_not_created_by_us_is_a_clear_conflict(docker_client, docker_names,
                                                                            standin_image):
    spec = standin_spec(docker_names, standin_image)
    foreign = docker_client.containers.create(standin_image, name=spec.container_name,
                                              environment={"LICENSE": "foreign-license-value"})
    with pytest.raises(NameConflict) as raised:
        launch(spec, client=docker_client, options=FAST)
    assert "not created by this wizard" in raised.value.message
    assert f"docker stop {spec.container_name}" in raised.value.hint
    assert _container(docker_client, spec.container_name).id == foreign.id  # left alone

    item = check_existing_container(spec, docker_client)
    assert item.status == Status.FAIL
    assert standin_image in item.message and "LICENSE=********" in item.message
    assert "foreign-license-value" not in item.message + item.hint


def test_port_in_use_fails_preflight_and_launch_and_leaves_nothing_behind(docker_client, docker_names,
                                                                          standin_image):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        spec = standin_spec(docker_names, standin_image, port=holder.getsockname()[1])
        item = check_port(spec, docker_client)
        assert item.status == Status.FAIL and "another program" in item.message
        assert f"sport = :{spec.port}" in item.hint
        with pytest.raises(PortInUse) as raised:
            launch(spec, client=docker_client, options=FAST)
    assert str(spec.port) in raised.value.message
    assert docker_client.containers.list(all=True, filters={"name": spec.container_name}) == []


def test_port_held_by_another_container_is_named(docker_client, docker_names, standin_image):
    spec = standin_spec(docker_names, standin_image)
    docker_client.containers.run(standin_image, name=docker_names("squatter"), detach=True,
                                 ports={"8080/tcp": ("127.0.0.1", spec.port)})
    item = check_port(spec, docker_client)
    assert item.status == Status.FAIL
    assert docker_names("squatter") in item.message


def test_a_server_that_exits_during_start_gives_its_last_logs_and_stops(docker_client, docker_names,
                                                                        standin_image):
    spec = standin_spec(docker_names, standin_image, env={"STANDIN_CRASH": "1"}, restart_policy="unless-stopped")
    result = launch(spec, client=docker_client, options=FAST)
    assert not result.ok
    assert result.watch.outcome == "exited" and result.watch.exit_code == 3
    assert "stopped during start-up with exit code 3" in result.message
    assert "FATAL: stand-in told to crash (STANDIN_CRASH=1)" in result.last_logs
    assert "*** Migrating database..." in result.last_logs
    assert result.watch.markers == ("*** Migrating database",)
    assert "docker logs" in result.hint
    container = _container(docker_client, spec.container_name)
    assert container.status == "exited"  # no crash loop left running (restart policy unless-stopped)


def test_a_server_that_never_gets_ready_times_out_with_advice(docker_client, docker_names, standin_image):
    spec = standin_spec(docker_names, standin_image, env={"STANDIN_READY_DELAY": "never"})
    options = Options(ready_timeout=2, poll_interval=0.2, stop_timeout=5, after_timeout=2)
    result = launch(spec, client=docker_client, options=options)
    assert not result.ok and result.watch.outcome == "timeout"
    assert 2 <= result.watch.elapsed < 6
    assert "did not become ready within 2 s" in result.message
    assert "docker logs -f" in result.hint
    assert "(stand-in) told never to become ready" in result.last_logs
    assert result.after is None


def test_cancel_stops_waiting(docker_client, docker_names, standin_image):
    spec = standin_spec(docker_names, standin_image, env={"STANDIN_READY_DELAY": "never"})
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    result = launch(spec, client=docker_client, options=FAST, cancel=cancel)
    assert result.watch.outcome == "cancelled" and result.watch.elapsed < 5


def test_bind_path_not_writable_by_uid_999_is_explained_then_fixed(docker_client, docker_names, standin_image):
    root = Path(tempfile.mkdtemp(prefix=docker_names("bind-")))
    try:
        os.chmod(root, 0o755)
        data = root / "data"
        data.mkdir(mode=0o755)  # root:root 0755, as `mkdir` as root or Docker's own auto-create would leave it
        spec = standin_spec(docker_names, standin_image, volume=str(data))
        item = check_existing_volume(spec, docker_client)
        assert item.status == Status.FAIL
        assert f"sudo chown -R 999:0 {data}" in item.hint
        with pytest.raises(VolumeNotWritable) as raised:
            launch(spec, client=docker_client, options=FAST)
        assert "UID 999" in raised.value.message and f"chown -R 999:0 {data}" in raised.value.hint
        assert docker_client.containers.list(all=True, filters={"name": spec.container_name}) == []

        fix_bind_path(str(data))
        assert check_existing_volume(spec, docker_client).status == Status.PASS
        result = launch(spec, client=docker_client, options=FAST)
        assert result.ok, (result.message, result.last_logs)
        assert (data / "env").is_dir() and (data / "env").stat().st_uid == 999  # written by the server itself
        mounts = _container(docker_client, spec.container_name).attrs["Mounts"]
        assert [(m["Type"], m["Source"]) for m in mounts] == [("bind", str(data))]
    finally:
        import shutil

        docker_names.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def test_the_stand_in_itself_fails_like_wandb_local_on_an_unwritable_bind_path(docker_client, docker_names,
                                                                             standin_image):
    """Guards the stand-in: without it failing here, the launcher's bind-path check would test nothing real."""
    root = Path(tempfile.mkdtemp(prefix=docker_names("raw-")))
    try:
        os.chmod(root, 0o755)
        container = docker_client.containers.run(standin_image, detach=True, name=docker_names("raw"),
                                                 volumes={str(root): {"bind": "/vol", "mode": "rw"}})
        assert container.wait(timeout=20)["StatusCode"] == 1
        assert b"mkdir: cannot create directory '/vol/env': Permission denied" in container.logs()
    finally:
        import shutil

        docker_names.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def test_progress_events_are_plain_literal_text(docker_client, docker_names, standin_image):
    """Log text reaches the UI as-is: markup-looking text from the container is not altered or interpreted."""
    spec = standin_spec(docker_names, standin_image)
    events = []
    result = launch(spec, client=docker_client, on_event=events.append, options=FAST)
    assert result.ok
    texts = [e.text for e in events if isinstance(e, LogLine)]
    assert "*** Access W&B at http://localhost:8080" in texts
    assert "(stand-in) [bold]markup-looking text[/bold] stays literal" in texts
    assert not any(isinstance(e, LayerProgress) for e in events)  # the image was already here: no pull


def test_a_host_url_that_does_not_answer_from_here_is_a_warning_not_a_failure(docker_client, docker_names,
                                                                             standin_image):
    from tests.services.local_process import closed_port

    unreachable = f"http://127.0.0.1:{closed_port()}"
    spec = standin_spec(docker_names, standin_image, host_url=unreachable)
    result = launch(spec, client=docker_client, options=FAST)
    assert result.ok
    assert result.after.host.status == Status.WARN
    # Nothing listens there: said as such (tests/integration/test_reverse_proxy.py names the other ways).
    assert result.after.host.message == f"Nothing listens at {unreachable}/ready (connection refused)."
    assert "HOST must name the published port" in result.after.host.hint
    assert result.after.healthz.status == Status.PASS


def test_the_engine_going_away_mid_launch_is_explained_not_a_traceback(docker_client, docker_names, standin_image,
                                                                        tmp_path):
    from tests.services.socket_proxy import SocketProxy
    from wizard.launcher import EngineUnavailable

    proxy = SocketProxy(tmp_path / "docker.sock", "/var/run/docker.sock")
    spec = standin_spec(docker_names, standin_image)

    def on_event(event) -> None:
        if isinstance(event, Step) and event.phase == "wait":  # the container runs: the engine goes away now
            proxy.cut()

    with pytest.raises(EngineUnavailable) as caught:
        launch(spec, base_url=proxy.base_url, on_event=on_event, options=FAST)
    error = caught.value
    assert error.message.startswith("Docker Engine stopped answering in the middle of the operation.")
    assert f"nothing answers at {proxy.base_url}" in error.message
    assert "run the same action again" in error.hint
    # The engine itself is fine: the container was created and started before the cut.
    assert _container(docker_client, spec.container_name).status == "running"
