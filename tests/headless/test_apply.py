"""`apply` end to end on a real Docker Engine with the stand-in server image; exports read back by real consumers."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from tests.cli_runner import run_wizard
from tests.jws import make_license
from tests.services import unavailable
from tests.services.bridge_listener import bridge_listener  # noqa: F401 (fixture)
from tests.services.docker_engine import docker_client, docker_engine, docker_names  # noqa: F401 (fixtures)
from tests.services.local_process import free_port
from tests.services.standin_image import (  # noqa: F401
    DOCKER_ADDED,
    received_environment,
    standin_image,
    standin_server_toml,
)
from wizard import answers, render
from wizard.flow import WizardFlow
from wizard.session import SessionStore
from wizard.steps import StepStatus

PASS = "apply passphrase"


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "state"


def cli(home: Path, *args: str, env_extra: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return run_wizard(*args, state=home, home=home.parent, passphrase=PASS, env_extra=env_extra, timeout=timeout)


def _answers(tmp_path: Path, names, image_ref: str, port: int, **extra_server) -> Path:
    server = "".join(f"{key} = {value!r}\n".replace("'", '"') for key, value in extra_server.items())
    path = tmp_path / "answers.toml"
    path.write_text(textwrap.dedent(f"""
        session = "{names('session')}"
        [license]
        key = "env:T_LICENSE"
        [host]
        url = "http://127.0.0.1:{port}"
        """).lstrip() + standin_server_toml(names, image_ref, port) + server + textwrap.dedent("""
        [[server.extra_env]]
        name = "GORILLA_CUSTOM"
        value = "a b $c #d 'e' \\"f\\" =g ü"
        """).lstrip())
    return path


def test_apply_launches_the_server_with_the_rendered_environment(tmp_path, home, docker_client, docker_names,  # noqa: F811
                                                                standin_image):  # noqa: F811
    port = free_port()
    license_key = make_license(sub=f"CANARY-{uuid.uuid4().hex}")
    path = _answers(tmp_path, docker_names, standin_image, port)
    result = cli(home, "apply", "--answers", str(path), "--ready-timeout", "60", env_extra={"T_LICENSE": license_key})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Open http://127.0.0.1:" in result.stdout
    container = docker_client.containers.get(docker_names("server"))
    assert container.status == "running"

    # The server received exactly the environment the wizard renders.
    os.environ["T_LICENSE"] = license_key
    try:
        _, cfg, _ = answers.load(path)
    finally:
        del os.environ["T_LICENSE"]
    received = received_environment("127.0.0.1", port)
    expected = render.environment_dict(cfg)
    assert {k: v for k, v in received.items() if k not in DOCKER_ADDED} == expected
    assert received["LICENSE"] == license_key

    # The session holds the values (no secret) and the check results.
    store = SessionStore(home / "sessions")
    session = store.load(docker_names("session"))
    assert session.values["host"] == {"url": f"http://127.0.0.1:{port}"}
    assert session.status("license").value == "checked-ok"
    assert session.status("host").value in ("checked-ok", "checked-warn")
    for file in home.rglob("*"):
        if file.is_file():
            assert license_key.encode() not in file.read_bytes(), file
    assert license_key not in result.stdout + result.stderr


def test_apply_dry_run_changes_nothing(tmp_path, home, docker_client, docker_names, standin_image):  # noqa: F811
    port = free_port()
    license_key = make_license()
    path = _answers(tmp_path, docker_names, standin_image, port)
    result = cli(home, "apply", "--answers", str(path), "--dry-run", env_extra={"T_LICENSE": license_key})
    assert result.returncode == 0, result.stderr
    assert "Dry run" in result.stdout
    assert "Preflight (this machine)" in result.stdout and "Published port free: 127.0.0.1:" in result.stdout
    assert f"container create {docker_names('server')}" in result.stdout
    assert "GORILLA_CUSTOM=" in result.stdout
    assert license_key not in result.stdout
    assert not docker_client.containers.list(all=True, filters={"name": docker_names("server")})


def test_apply_dry_run_runs_the_preflight_and_says_where_a_real_apply_stops(tmp_path, home, docker_client,  # noqa: F811
                                                                           docker_names, standin_image):  # noqa: F811
    # The published port is taken, and the bind path is a file: found by --dry-run, not only by a real apply.
    port = free_port()
    not_a_directory = tmp_path / "data"
    not_a_directory.write_text("")
    path = _answers(tmp_path, docker_names, standin_image, port)
    path.write_text(path.read_text().replace(f'volume = "{docker_names("data")}"', f'volume = "{not_a_directory}"'))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = cli(home, "apply", "--answers", str(path), "--dry-run", env_extra={"T_LICENSE": make_license()})
    assert result.returncode == 8, result.stdout + result.stderr
    preflight = result.stdout.split("Preflight (this machine)", 1)[1]
    assert f"[✗ fail] Published port free: 127.0.0.1:{port} is taken by another program." in preflight
    assert re.search(r"\[✗ fail\] Data volume: .*" + re.escape(str(not_a_directory)), preflight), preflight
    assert "Dry run" in result.stdout  # the operations are still shown
    assert "A real apply would stop at the preflight" in result.stderr
    assert not docker_client.containers.list(all=True, filters={"name": docker_names("server")})


def test_apply_refuses_to_launch_when_checks_fail(tmp_path, home, docker_client, docker_names, standin_image):  # noqa: F811
    port = free_port()
    expired = make_license(days_valid=-10)
    path = _answers(tmp_path, docker_names, standin_image, port)
    result = cli(home, "apply", "--answers", str(path), env_extra={"T_LICENSE": expired})
    assert result.returncode == 8
    assert "Not launched" in result.stderr
    assert not docker_client.containers.list(all=True, filters={"name": docker_names("server")})
    session = SessionStore(home / "sessions").load(docker_names("session"))
    assert session.status("license") is StepStatus.FAILED
    assert (session.step_message("license") or "").startswith("checks: ")  # recorded as the TUI records checks
    flow = WizardFlow.open(docker_names("session"), store=SessionStore(home / "sessions"))
    try:  # the TUI keeps what apply recorded (it once reset a headless failure to "edited" on leaving the step)
        assert flow.leave_step("license") is StepStatus.FAILED
    finally:
        flow.close()


def test_env_export_read_back_by_docker_run(tmp_path, home, docker_client, docker_names, standin_image):  # noqa: F811
    """`docker run --env-file` of the export gives the server the same environment as the launcher would."""
    port = free_port()
    license_key = make_license()
    path = _answers(tmp_path, docker_names, standin_image, port)
    out = tmp_path / "wandb.env"
    result = cli(home, "export", "--answers", str(path), "--format", "env", "--out", str(out), "--with-secrets",
                 env_extra={"T_LICENSE": license_key})
    assert result.returncode == 0, result.stderr
    name = docker_names("envfile")
    subprocess.run(["docker", "run", "-d", "--name", name, "--env-file", str(out), "-p", f"127.0.0.1:{port}:8080",
                    "-e", "STANDIN_READY_DELAY=0", standin_image], check=True, capture_output=True)
    os.environ["T_LICENSE"] = license_key
    try:
        _, cfg, _ = answers.load(path)
    finally:
        del os.environ["T_LICENSE"]
    received = _wait_for_env(port)
    expected = render.environment_dict(cfg)
    assert {k: v for k, v in received.items() if k not in DOCKER_ADDED | {"STANDIN_READY_DELAY"}} == expected


def _wait_for_env(port: int) -> dict[str, str]:
    end = time.monotonic() + 20
    while True:
        try:
            return received_environment("127.0.0.1", port, timeout=2)
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def test_compose_export_passes_docker_compose_config(tmp_path, home, docker_names, standin_image):  # noqa: F811
    """docker-compose accepts the project and resolves every value to exactly the rendered environment."""
    if not shutil.which("docker-compose"):
        unavailable("docker-compose", "the docker-compose package is not installed")
    import yaml

    license_key = make_license()
    path = _answers(tmp_path, docker_names, standin_image, free_port())
    os.environ["T_LICENSE"] = license_key
    try:
        _, cfg, _ = answers.load(path)
    finally:
        del os.environ["T_LICENSE"]
    expected = render.environment_dict(cfg)
    for with_secrets in (False, True):
        out = tmp_path / f"project-{with_secrets}" / "docker-compose.yml"
        args = ["export", "--answers", str(path), "--format", "compose", "--out", str(out)]
        result = cli(home, *args, *(["--with-secrets"] if with_secrets else []), env_extra={"T_LICENSE": license_key})
        assert result.returncode == 0, result.stderr
        assert (license_key in out.read_text()) is with_secrets
        env = {k: v for k, v in os.environ.items() if k != "LICENSE_KEY"}
        if not with_secrets:
            # Without the secret exported, Compose refuses to resolve the project and says which one is missing.
            refused = subprocess.run(["docker-compose", "-f", str(out), "config"], capture_output=True, text=True,
                                     cwd=out.parent, env=env)
            assert refused.returncode != 0 and "LICENSE_KEY" in refused.stderr
            env["LICENSE_KEY"] = license_key
        checked = subprocess.run(["docker-compose", "-f", str(out), "config"], capture_output=True, text=True,
                                 cwd=out.parent, env=env)
        assert checked.returncode == 0, checked.stderr
        service = yaml.safe_load(checked.stdout)["services"]["wandb"]
        resolved = {k: v.replace("$$", "$") for k, v in service["environment"].items()}
        assert resolved == expected


def test_compose_export_with_files_and_host_entries_gets_the_stand_in_ready(tmp_path, home, docker_client,  # noqa: F811
                                                                           docker_names, standin_image,
                                                                           bridge_listener):  # noqa: F811
    """The compose export carries what the launcher gives: the CA file read-only, the host.docker.internal entry.
    `docker-compose up` of it starts the faithful stand-in, which gets ready only when it reaches REDIS through the
    host entry and can read caCertPath as UID 999."""
    if not shutil.which("docker-compose"):
        unavailable("docker-compose", "the docker-compose package is not installed")
    ca = tmp_path / "redis-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nnot checked by the stand-in\n-----END CERTIFICATE-----\n")
    os.chmod(ca, 0o644)  # an export mounts the admin's own file: UID 999 must be able to read it (the header says)
    port = free_port()
    path = _answers(tmp_path, docker_names, standin_image, port)
    path.write_text(path.read_text().replace("[server]", textwrap.dedent(f"""
        [cache]
        provider = "redis"
        host = "host.docker.internal"
        port = {bridge_listener.port}
        tls = true
        ca_file = "{ca}"
        [server]""").lstrip()))
    out = tmp_path / "project" / "docker-compose.yml"
    result = cli(home, "export", "--answers", str(path), "--format", "compose", "--out", str(out), "--with-secrets",
                 env_extra={"T_LICENSE": make_license()})
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert f"{ca}:/etc/wandb-local-setup/redis-ca.pem:ro" in text and "host.docker.internal:host-gateway" in text
    project = docker_names("compose")
    compose = ["docker-compose", "-p", project, "-f", str(out)]
    try:
        up = subprocess.run([*compose, "up", "-d"], capture_output=True, text=True, cwd=out.parent, timeout=120)
        assert up.returncode == 0, up.stderr
        received = _wait_for_env(port)
        assert "caCertPath=/etc/wandb-local-setup/redis-ca.pem" in received["REDIS"]
        import urllib.request

        end = time.monotonic() + 30
        while True:  # ready only once the stand-in reached REDIS through the host entry and read the CA file
            try:
                with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                        f"http://127.0.0.1:{port}/ready", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                if time.monotonic() > end:
                    logs = docker_client.containers.get(docker_names("server")).logs()[-2000:]
                    raise AssertionError(f"the exported project never got ready: {logs!r}") from None
                time.sleep(0.3)
        assert bridge_listener.connections_from(docker_client.containers.get(docker_names("server")).attrs[
            "NetworkSettings"]["Networks"][f"{project}_default"]["IPAddress"]) >= 1
    finally:
        subprocess.run([*compose, "down", "-v"], capture_output=True, cwd=out.parent, timeout=120)


def test_a_plaintext_keyring_named_explicitly_works_for_every_command_with_a_warning(tmp_path, home, docker_client,  # noqa: F811
                                                                                     docker_names, standin_image):
    """WANDB_LOCAL_SETUP_KEYRING=plaintext used to mean "yes" to check and "no" to apply: naming it is the
    confirmation, the same for every command, and each says so on stderr."""
    license_key = make_license()
    path = _answers(tmp_path, docker_names, standin_image, free_port())
    env = {"T_LICENSE": license_key, "WANDB_LOCAL_SETUP_KEYRING": "plaintext"}
    applied = cli(home, "apply", "--answers", str(path), "--dry-run", env_extra=env)
    assert applied.returncode == 0, applied.stderr
    assert "warning: secrets are kept in a plain-text file, NOT encrypted" in applied.stderr
    shown = cli(home, "sessions", "show", docker_names("session"), env_extra=env)
    assert shown.returncode == 0, shown.stderr
    assert "NOT encrypted" in shown.stderr and license_key not in shown.stdout + shown.stderr
    assert (home / "keyring" / "plaintext-secrets.cfg").exists()


RELAUNCH_STEPS = {  # what `apply` prints as it reaches each step of a replacement
    "rename": "- Setting the running server aside as ",
    "stop": "- Stopping ",
    "create": "- Creating the container ",
    "start": "- Starting ",
    "wait": "- Waiting for the new ",
}


def test_a_relaunch_interrupted_at_any_step_by_any_signal_leaves_the_server_running(
        tmp_path, home, docker_client, docker_names, standin_image, monkeypatch):  # noqa: F811
    """A relaunch (`apply` on a running install) killed right after each step it prints, by SIGINT, SIGTERM,
    SIGHUP or SIGKILL. It once left the server renamed `<name>-previous-<time>` (and the next apply stopped on "port
    taken"), or down after a failed restore. Now: after a signal it can handle, the old server is back at once;
    after SIGKILL, the next start finishes or undoes the replacement. Either way one server runs, under its name,
    with its volume. Last, a relaunch whose new server crashes, killed while it restores the old one: what the TUI
    does when it opens (the relaunch journal) brings the old server back, running."""
    import signal

    from wizard.launcher import finish_pending
    from wizard.relaunch_journal import pending

    port = free_port()
    license_key = make_license()
    name, volume = docker_names("server"), docker_names("data")
    env = {"WANDB_LOCAL_SETUP_HOME": str(home), "WANDB_LOCAL_SETUP_KEYRING": "cryptfile", "HOME": str(home.parent),
           "WANDB_LOCAL_SETUP_PASSPHRASE": PASS, "T_LICENSE": license_key}
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("WANDB_LOCAL_SETUP", "DBUS_"))}, **env}

    def answers(run: int, crash: str = "0") -> Path:
        path = _answers(tmp_path, docker_names, standin_image, port)
        path.write_text(path.read_text() + textwrap.dedent(f"""
            [[server.extra_env]]
            name = "STANDIN_READY_DELAY"
            value = "2"
            [[server.extra_env]]
            name = "GORILLA_RUN"
            value = "{run}"
            [[server.extra_env]]
            name = "STANDIN_CRASH"
            value = "{crash}"
            """))
        return path

    def interrupted(run: int, marker: str, sig: int, crash: str = "0") -> tuple[bool, subprocess.Popen]:
        relaunch = subprocess.Popen([sys.executable, "-m", "wizard", "apply", "--answers", str(answers(run, crash)),
                                     "--skip-checks"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
        reached = False
        for line in relaunch.stdout:
            if line.startswith(marker):
                relaunch.send_signal(sig)
                reached = True
                break
        relaunch.communicate(timeout=120)
        return reached, relaunch

    def one_server_runs(run: int | None) -> None:
        ours = docker_client.containers.list(all=True, filters={"name": name})
        assert [c.name for c in ours] == [name], [c.name for c in ours]  # no `-previous-` left, no second one
        (container,) = ours
        assert container.status == "running"
        assert [m.get("Name") for m in container.attrs["Mounts"]] == [volume]
        if run is not None:
            assert f"GORILLA_RUN={run}" in container.attrs["Config"]["Env"]

    first = cli(home, "apply", "--answers", str(answers(0)), "--skip-checks", env_extra={"T_LICENSE": license_key})
    assert first.returncode == 0, first.stdout + first.stderr
    run = 0
    problems = []
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL):
        for step, marker in RELAUNCH_STEPS.items():
            run += 1
            reached, relaunch = interrupted(run, marker, sig)
            case = f"{signal.Signals(sig).name} at {step}"
            try:
                assert reached, f"{case}: never reached"
                if sig != signal.SIGKILL:
                    assert relaunch.returncode == 128 + sig, f"{case}: exit {relaunch.returncode}"
                    one_server_runs(run - 1)  # the old server is back, as it was
                # The next start: finishes or undoes what was cut short, then relaunches with the new settings.
                again = cli(home, "apply", "--answers", str(answers(run)), "--skip-checks",
                            env_extra={"T_LICENSE": license_key})
                assert again.returncode == 0, f"{case}: next apply: {again.stdout}{again.stderr}"
                one_server_runs(run)
            except AssertionError as problem:
                problems.append(str(problem))
    monkeypatch.setenv("WANDB_LOCAL_SETUP_HOME", str(home))  # this process reads the CLI's journal
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL):
        reached, relaunch = interrupted(run + 1, "- Restoring the previous ", sig, crash="1")
        case = f"{signal.Signals(sig).name} while restoring"
        try:
            assert reached, f"{case}: never reached"
            if sig != signal.SIGKILL:  # held until the old server is back, then obeyed
                assert relaunch.returncode == 128 + sig, f"{case}: exit {relaunch.returncode}"
                one_server_runs(run)
                assert pending() == [], f"{case}: {pending()}"
            said = finish_pending()  # the TUI's start
            assert pending() == [], f"{case}: {pending()}"
            assert all(s.startswith("An interrupted relaunch ") for s in said), f"{case}: {said}"
            one_server_runs(run)  # the old server, as it was
        except AssertionError as problem:
            problems.append(str(problem))
    assert not problems, "\n".join(problems)
