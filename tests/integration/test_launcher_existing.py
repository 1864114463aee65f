"""An existing install: reconfigure, upgrade (with rollback), recover access, destroy. Data must survive."""

from __future__ import annotations

import io
import tarfile
from dataclasses import replace

import pytest

from tests.services.docker_engine import docker_client, docker_engine, docker_names  # noqa: F401 (fixtures)
from tests.services.registry import local_registry  # noqa: F401 (fixtures)
from tests.services.standin_image import (  # noqa: F401 (fixtures)
    RESTORE_USER,
    build_standin,
    received_environment,
    restore_password,
    served_version,
    standin_image,
    standin_spec,
)
from wizard.launcher import (
    ConfirmationMismatch,
    Options,
    PortInUse,
    Step,
    check_for_update,
    config_hash,
    destroy,
    dry_run,
    end_recovery,
    launch,
    reconfigure,
    recover_access,
    upgrade,
)
from wizard.launcher.spec import LABEL_CONFIG_HASH, LABEL_MANAGED

FAST = Options(ready_timeout=20, poll_interval=0.2, stop_timeout=5, after_timeout=2)
SHORT = Options(ready_timeout=2, poll_interval=0.2, stop_timeout=5, after_timeout=2)


def _write_into_volume(container, name: str, content: bytes) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.uid, info.gid = len(content), 999, 0
        tar.addfile(info, io.BytesIO(content))
    assert container.put_archive("/vol", buffer.getvalue())


def _read_from_volume(container, name: str) -> bytes:
    stream, _ = container.get_archive(f"/vol/{name}")
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        return tar.extractfile(name).read()


def _containers(client, spec):
    return sorted(c.name for c in client.containers.list(all=True, filters={"name": spec.container_name}))


def _answers_ready(spec, timeout: float = 15.0) -> bool:
    """A restored server is started, not waited for: wait here before asking it anything."""
    import time

    from wizard.launcher.watch import http_status, ready_url

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http_status(ready_url(spec), 1.0)[0] == 200:
            return True
        time.sleep(0.1)
    return False


def _launched(client, spec):
    result = launch(spec, client=client, options=FAST)
    assert result.ok, (result.message, result.last_logs)
    return client.containers.get(spec.container_name)


def test_reconfigure_recreates_with_the_new_environment_and_keeps_the_volume(docker_client, docker_names,
                                                                            standin_image):
    spec = standin_spec(docker_names, standin_image)
    first = _launched(docker_client, spec)
    _write_into_volume(first, "marker.txt", b"data from the first server")

    changed = spec.with_environment(GORILLA_DISABLE_PERSONAL_ENTITY="true", GORILLA_CORS_ORIGINS=None)
    events = []
    result = reconfigure(changed, client=docker_client, on_event=events.append, options=FAST)
    assert result.ok and result.action == "reconfigure", (result.message, result.last_logs)
    second = docker_client.containers.get(spec.container_name)
    assert second.id != first.id and result.container_id == second.id
    assert received_environment("127.0.0.1", spec.port) .get("GORILLA_DISABLE_PERSONAL_ENTITY") == "true"
    assert "GORILLA_CORS_ORIGINS" not in received_environment("127.0.0.1", spec.port)
    assert _read_from_volume(second, "marker.txt") == b"data from the first server"
    assert second.labels[LABEL_CONFIG_HASH] == config_hash(changed) != config_hash(spec)
    phases = [e.phase for e in events if isinstance(e, Step)]
    assert phases.index("rename") < phases.index("stop") < phases.index("create") < phases.index("cleanup")
    assert _containers(docker_client, spec) == [spec.container_name]  # the previous one is gone
    assert [op.action for op in dry_run(changed, "reconfigure")][:5] == [
        "image pull", "volume create", "container rename", "container update", "container stop"]

    # launch() on an existing install is a reconfigure too.
    again = launch(spec, client=docker_client, options=FAST)
    assert again.ok and again.action == "reconfigure"
    assert "GORILLA_DISABLE_PERSONAL_ENTITY" not in received_environment("127.0.0.1", spec.port)


def test_reconfigure_that_never_gets_ready_restores_the_previous_server(docker_client, docker_names,
                                                                       standin_image):
    spec = standin_spec(docker_names, standin_image, restart_policy="unless-stopped")
    first = _launched(docker_client, spec)
    _write_into_volume(first, "marker.txt", b"keep me")

    broken = spec.with_environment(STANDIN_READY_DELAY="never")
    result = reconfigure(broken, client=docker_client, options=SHORT)
    assert not result.ok and result.watch.outcome == "timeout"
    assert result.restored_previous and "was restored" in result.hint
    assert "(stand-in) told never to become ready" in result.last_logs  # the new server's logs, for the admin
    restored = docker_client.containers.get(spec.container_name)
    assert restored.id == first.id and restored.status == "running"
    assert restored.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert _containers(docker_client, spec) == [spec.container_name]
    assert _answers_ready(spec)
    assert received_environment("127.0.0.1", spec.port)["STANDIN_READY_DELAY"] == "0.5"  # the old server answers
    assert _read_from_volume(restored, "marker.txt") == b"keep me"


def test_reconfigure_that_crashes_restores_the_previous_server(docker_client, docker_names, standin_image):
    spec = standin_spec(docker_names, standin_image)
    first = _launched(docker_client, spec)
    result = reconfigure(spec.with_environment(STANDIN_CRASH="1"), client=docker_client, options=FAST)
    assert not result.ok and result.watch.outcome == "exited" and result.restored_previous
    assert "FATAL: stand-in told to crash (STANDIN_CRASH=1)" in result.last_logs
    assert docker_client.containers.get(spec.container_name).id == first.id


def test_reconfigure_onto_a_taken_port_is_refused_and_the_previous_server_keeps_running(
        docker_client, docker_names, standin_image):
    import socket

    spec = standin_spec(docker_names, standin_image)
    first = _launched(docker_client, spec)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        moved = replace(spec, port=holder.getsockname()[1])
        with pytest.raises(PortInUse) as raised:
            reconfigure(moved, client=docker_client, options=FAST)
    assert "was restored" in raised.value.hint
    restored = docker_client.containers.get(spec.container_name)
    assert restored.id == first.id and restored.status == "running"
    assert _containers(docker_client, spec) == [spec.container_name]
    assert _answers_ready(spec)
    assert received_environment("127.0.0.1", spec.port)["HOST"] == spec.host_url


def test_upgrade_pulls_the_newer_image_keeps_the_data_and_rolls_back_a_broken_one(
        docker_client, docker_names, local_registry):
    repository = docker_names("upgrade")
    versions = {}
    for version, env in (("1", {"STANDIN_VERSION": "1"}), ("2", {"STANDIN_VERSION": "2"}),
                         ("3", {"STANDIN_VERSION": "3", "STANDIN_CRASH": "1"})):
        versions[version] = docker_names.image(build_standin(docker_client, f"up{version}-{docker_names.tag}", env))
    stable = docker_names.image(local_registry.reference(repository, "stable"))
    local_registry.push(docker_client, versions["1"], repository, "stable")
    spec = standin_spec(docker_names, stable)
    first = _launched(docker_client, spec)
    assert served_version("127.0.0.1", spec.port) == "1"
    _write_into_volume(first, "marker.txt", b"runs from version 1")

    check = check_for_update(docker_client, spec)
    assert not check.update_available and check.running_image_id == first.attrs["Image"]
    unchanged = upgrade(spec, client=docker_client, options=FAST)
    assert unchanged.ok and unchanged.action == "unchanged" and "already runs the newest" in unchanged.message
    assert docker_client.containers.get(spec.container_name).id == first.id

    # Version 2 is published under the same tag.
    digest2 = local_registry.push(docker_client, versions["2"], repository, "stable")
    docker_client.images.get(versions["1"]).tag(f"{local_registry.host}/{repository}", "stable")  # local: still 1
    check = check_for_update(docker_client, spec)
    assert check.update_available and check.registry_digest == digest2 != check.local_digest
    result = upgrade(spec, client=docker_client, options=FAST)
    assert result.ok and result.action == "upgrade", (result.message, result.last_logs)
    second = docker_client.containers.get(spec.container_name)
    assert served_version("127.0.0.1", spec.port) == "2"
    assert second.attrs["Image"] == docker_client.images.get(versions["2"]).id
    assert _read_from_volume(second, "marker.txt") == b"runs from version 1"
    assert not check_for_update(docker_client, spec).update_available

    # Version 3 crashes on start: the upgrade rolls back to version 2.
    local_registry.push(docker_client, versions["3"], repository, "stable")
    docker_client.images.get(versions["2"]).tag(f"{local_registry.host}/{repository}", "stable")
    failed = upgrade(spec, client=docker_client, options=FAST)
    assert not failed.ok and failed.restored_previous and failed.watch.outcome == "exited"
    assert docker_client.containers.get(spec.container_name).id == second.id
    assert _answers_ready(spec)
    assert served_version("127.0.0.1", spec.port) == "2"
    assert _read_from_volume(second, "marker.txt") == b"runs from version 1"


def test_recover_access_round_trip(docker_client, docker_names, standin_image):
    spec = standin_spec(docker_names, standin_image)
    first = _launched(docker_client, spec)
    _write_into_volume(first, "marker.txt", b"users and runs")

    recovery = recover_access(spec, client=docker_client, options=FAST, credentials_timeout=5)
    assert recovery.launch.ok, (recovery.message, recovery.launch.last_logs)
    assert recovery.credentials is not None, recovery.message
    assert recovery.credentials.user == RESTORE_USER
    assert recovery.credentials.password == restore_password("127.0.0.1", spec.port)
    assert recovery.credentials.password not in repr(recovery)  # shown once to the admin, never in a repr/log
    assert received_environment("127.0.0.1", spec.port)["LOCAL_RESTORE"] == "true"
    assert "end restore mode" in recovery.message

    ended = end_recovery(spec, client=docker_client, options=FAST)
    assert ended.ok, ended.message
    assert "LOCAL_RESTORE" not in received_environment("127.0.0.1", spec.port)
    final = docker_client.containers.get(spec.container_name)
    assert final.labels[LABEL_CONFIG_HASH] == config_hash(spec)
    assert _read_from_volume(final, "marker.txt") == b"users and runs"


def test_destroy_needs_the_volume_name_typed_exactly(docker_client, docker_names, standin_image):
    spec = standin_spec(docker_names, standin_image)
    _launched(docker_client, spec)
    for typed in ("", spec.volume.upper(), spec.volume + " ", "yes"):
        with pytest.raises(ConfirmationMismatch) as raised:
            destroy(spec, typed, client=docker_client)
        assert f"type exactly: {spec.volume}" in raised.value.hint
        assert docker_client.volumes.get(spec.volume) and _containers(docker_client, spec) == [spec.container_name]
    result = destroy(spec, spec.volume, client=docker_client, stop_timeout=5)
    assert result.removed_containers == (spec.container_name,) and result.removed_volume == spec.volume
    assert _containers(docker_client, spec) == []
    assert docker_client.volumes.list(filters={"name": spec.volume}) == []


def test_an_interrupted_replacement_is_finished_or_undone_at_the_next_start(docker_client, docker_names,  # noqa: F811
                                                                           standin_image):  # noqa: F811
    """What a SIGKILL (or a reboot) mid-replacement leaves, put right by the next launch: the server set aside
    comes back under its name; or, when the new one already answers, only the cleanup is finished."""
    from wizard.launcher.operations import finish_interrupted

    spec = standin_spec(docker_names, standin_image)
    assert launch(spec, client=docker_client, options=FAST).ok
    server = docker_client.containers.get(spec.container_name)
    aside = f"{spec.container_name}-previous-20261201T120000Z"
    server.rename(aside)  # killed right after "Setting the running server aside", before anything else
    events = []
    said = finish_interrupted(docker_client, spec, events.append)
    assert said == (f"An interrupted relaunch had set {spec.container_name} aside as {aside}: it is back under its "
                    "name and running.")
    assert [e.phase for e in events] == ["recover"]
    back = docker_client.containers.get(spec.container_name)
    assert back.id == server.id and back.status == "running"
    assert finish_interrupted(docker_client, spec) == ""  # nothing left to do

    # Killed after the new server got ready, before the cleanup: the new one stays, the old one goes.
    stale = docker_client.containers.run(standin_image, name=aside, detach=True,
                                         labels={LABEL_MANAGED: "true"}, command=["sleep", "600"])
    said = finish_interrupted(docker_client, spec)
    assert said.startswith(f"An interrupted relaunch had replaced {spec.container_name} already: removed ")
    assert [c.name for c in docker_client.containers.list(all=True, filters={"name": spec.container_name})] == [
        spec.container_name]
    assert docker_client.containers.get(spec.container_name).id == server.id
    assert stale.id not in {c.id for c in docker_client.containers.list(all=True)}


def test_the_journal_finishes_what_the_container_names_alone_cannot_tell(docker_client, docker_names,  # noqa: F811
                                                                         standin_image):  # noqa: F811
    """The relaunch journal (the step reached, written before each Docker change) settles the states a SIGKILL
    leaves that Docker's names cannot: a restore cut short (the old server has its name back, stopped, restart
    policy "no"), and a new server that had got ready before the cleanup but is down now (after a reboot)."""
    from wizard.launcher import finish_pending
    from wizard import relaunch_journal as journal
    from wizard.launcher.operations import finish_interrupted
    from wizard.launcher.watch import ready_url

    spec = standin_spec(docker_names, standin_image, restart_policy="unless-stopped")
    assert launch(spec, client=docker_client, options=FAST).ok
    server = docker_client.containers.get(spec.container_name)

    def entry(old_id: str, step: str) -> journal.Entry:
        return journal.Entry(container=spec.container_name, old_id=old_id,
                             previous_name=f"{spec.container_name}-previous-20261201T120000Z",
                             restart_policy="unless-stopped", was_running=True, ready_url=ready_url(spec), step=step)

    # A restore cut short: renamed back, not yet given its restart policy or started.
    server.update(restart_policy={"Name": "no"})
    server.stop(timeout=5)
    assert finish_interrupted(docker_client, spec) == ""  # the names alone: nothing looks unfinished
    journal.record(entry(server.id, "restore"))
    assert journal.pending() == [entry(server.id, "restore")]
    said = finish_pending(client=docker_client)
    assert said == [f"An interrupted relaunch was putting {spec.container_name} back: it is back and running."]
    server.reload()
    assert server.status == "running" and server.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert journal.pending() == [] and finish_pending(client=docker_client) == []

    # The new server had answered /ready (the journal reached the cleanup); a reboot stopped it before the old one
    # was removed. The names alone would bring the old server back: the journal keeps the new one.
    old = docker_client.containers.create(standin_image, name=f"{spec.container_name}-previous-20261201T120000Z",
                                          labels={LABEL_MANAGED: "true"}, command=["sleep", "600"])
    server.stop(timeout=5)
    journal.record(entry(old.id, "cleanup"))
    said = finish_pending(client=docker_client)
    assert said == [f"An interrupted relaunch had replaced {spec.container_name} already: removed what it had set "
                    f"aside ({old.name})."]
    assert _containers(docker_client, spec) == [spec.container_name]
    server.reload()
    assert server.status == "running" and journal.pending() == []

    # An entry whose server is gone from this engine (the replacement had finished): dropped, nothing touched.
    journal.record(entry("0" * 64, "wait"))
    assert finish_pending(client=docker_client) == [] and journal.pending() == []
    assert docker_client.containers.get(spec.container_name).id == server.id


def test_a_relaunch_records_each_step_and_leaves_no_journal_behind(docker_client, docker_names,  # noqa: F811
                                                                   standin_image, monkeypatch):  # noqa: F811
    """Each step of a replacement is in the journal before its Docker change; a finished relaunch and a rolled
    back one both leave none."""
    from wizard import relaunch_journal as journal

    spec = standin_spec(docker_names, standin_image)
    assert launch(spec, client=docker_client, options=FAST).ok
    recorded = []
    write = journal.record

    def record(entry: journal.Entry) -> None:
        write(entry)
        server = docker_client.containers.get(entry.old_id)
        recorded.append((entry.step, server.name, server.status))  # the journal is written before the change

    monkeypatch.setattr(journal, "record", record)
    assert reconfigure(spec.with_environment(RUN="2"), client=docker_client, options=FAST).ok
    aside = f"{spec.container_name}-previous-"
    assert [(step, name.startswith(aside), status) for step, name, status in recorded] == [
        ("rename", False, "running"), ("stop", True, "running"), ("create", True, "exited"),
        ("wait", True, "exited"), ("cleanup", True, "exited")]
    assert journal.pending() == []
    recorded.clear()
    rolled_back = reconfigure(spec.with_environment(STANDIN_CRASH="1"), client=docker_client, options=FAST)
    assert not rolled_back.ok and rolled_back.restored_previous
    assert [step for step, _, _ in recorded] == ["rename", "stop", "create", "wait", "restore"]
    assert journal.pending() == []
