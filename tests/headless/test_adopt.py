"""`wandb-local-setup adopt`, against the real Docker Engine and the stand-in server image.

Two containers the wizard did not start: one exactly as `wandb server start` starts it (a volume at /vol, port
8080, LOCAL_USERNAME, no HOST), one with a full external configuration. Adopted into a session, its rendering gives
back the same environment (plus HOST where it was missing); canary secrets are in no session file and no output;
and the wizard's Launch then replaces the adopted container with its rollback, keeping the volume.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import quote

from tests.headless.test_apply import cli, home  # noqa: F401 (fixture)
from tests.headless.test_exports import _parse_env_file
from tests.jws import make_license
from tests.services.docker_engine import docker_client, docker_engine, docker_names  # noqa: F401 (fixtures)
from tests.services.local_process import free_port
from tests.services.standin_image import build_standin, standin_image  # noqa: F401 (fixtures)

LOCAL_USERNAME = "admin@example.com"


def _image_env(client, image: str) -> dict[str, str]:
    return dict(item.partition("=")[::2] for item in client.images.get(image).attrs["Config"]["Env"] or [])


def _own_env(client, container) -> dict[str, str]:
    """The container's environment without its image's defaults (what `docker run -e` gave it)."""
    defaults = _image_env(client, container.attrs["Image"])
    env = dict(item.partition("=")[::2] for item in container.attrs["Config"]["Env"])
    return {k: v for k, v in env.items() if defaults.get(k) != v}


def _rendered(home: Path, tmp_path: Path, session: str) -> dict[str, str]:
    out = tmp_path / f"{session}.env"
    result = cli(home, "export", "--session", session, "--format", "env", "--out", str(out), "--with-secrets")
    assert result.returncode == 0, result.stdout + result.stderr
    return _parse_env_file(out.read_text())


def test_a_server_started_as_wandb_server_start_is_adopted_then_relaunched(tmp_path, home, docker_client,  # noqa: F811
                                                                           docker_names, standin_image,  # noqa: F811
                                                                           monkeypatch):
    port = free_port()
    name, volume, session = docker_names("server"), docker_names("data"), docker_names("session")
    started = docker_client.containers.run(standin_image, name=name, detach=True, ports={"8080/tcp": port},
                                           volumes={volume: {"bind": "/vol", "mode": "rw"}},
                                           environment={"LOCAL_USERNAME": LOCAL_USERNAME})
    result = cli(home, "adopt", "--container", name, "--session", session)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"adopted {name} into the session '{session}' (0 secrets in the keyring)" in result.stdout
    assert "HOST was not set (as `wandb server start` leaves it)" in result.stdout
    assert f"Server options: {standin_image}, port {port}, volume {volume}, restart no, 1 extra option(s)" in \
        result.stdout

    rendered = _rendered(home, tmp_path, session)
    assert rendered.pop("HOST").startswith("http")  # the Host step's suggestion, which it flags to confirm
    assert rendered == _own_env(docker_client, started) == {"LOCAL_USERNAME": LOCAL_USERNAME}

    # The wizard's Launch replaces the adopted container (it was not created by the wizard) and keeps the volume.
    from wizard.flow import WizardFlow
    from wizard.launcher import Options, launch
    from wizard.launcher.spec import LABEL_MANAGED

    monkeypatch.setenv("WANDB_LOCAL_SETUP_HOME", str(home))
    spec = WizardFlow.read(session).launch_spec()  # no secret to read: `wandb server start` gives none
    assert spec.adopted_id == started.id
    relaunched = launch(spec, client=docker_client, options=Options(ready_timeout=30, poll_interval=0.2,
                                                                   stop_timeout=5, after_timeout=2))
    assert relaunched.ok and relaunched.action == "reconfigure", relaunched.message
    now = docker_client.containers.get(name)
    assert now.id != started.id and now.labels.get(LABEL_MANAGED) == "true"
    assert [m.get("Name") for m in now.attrs["Mounts"]] == [volume]
    assert started.id not in {c.id for c in docker_client.containers.list(all=True)}


def test_a_fully_configured_server_is_adopted_with_its_secrets_in_the_keyring(tmp_path, home, docker_client,  # noqa: F811
                                                                              docker_names, standin_image):  # noqa: F811
    tag = uuid.uuid4().hex[:10]
    canaries = {"license": make_license(sub=f"CANARY-{tag}"), "mysql": f"my:c@n/ary {tag}",
                "redis": f"redis/canary+{tag}", "s3": f"s3:canary@{tag}", "oidc": f"oidc-canary-{tag}",
                "slack": uuid.uuid4().hex, "token": f"token-canary-{tag}"}
    ca = tmp_path / "redis-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    port = free_port()
    environment = {
        "HOST": "https://wandb.example.com",
        "LICENSE": canaries["license"],
        "OIDC_ISSUER": "https://acme.okta.com/oauth2/default", "OIDC_CLIENT_ID": "0oa1b2c3d4",
        "OIDC_AUTH_METHOD": "pkce", "GORILLA_OIDC_SECRET": canaries["oidc"],
        "BUCKET": f"s3://AKIDEXAMPLE:{quote(canaries['s3'], safe='')}@minio.internal:9000/wandb?region=us-east-1"
                  "&tls=true",
        "BUCKET_QUEUE": "internal://",
        "MYSQL": f"mysql://wandb_local:{quote(canaries['mysql'], safe='')}@10.0.0.7:3306/wandb_local?tls=preferred",
        "REDIS": f"redis://wandb:{quote(canaries['redis'], safe='')}@10.0.0.8:6380?tls=true&caCertPath="
                 "/etc/wandb-local-setup/redis-ca.pem&ttlInSeconds=604800",
        "SLACK_CLIENT_ID": "1234567890.9876543210", "SLACK_SECRET": canaries["slack"],
        "LOGGING_ENABLED": "true",
        "HTTP_PROXY": "http://proxy.internal:3128", "http_proxy": "http://proxy.internal:3128",
        "GORILLA_CUSTOM": "a b $c #d", "GORILLA_API_TOKEN": canaries["token"],
        "STANDIN_READY_DELAY": "never",
    }
    name, volume, session = docker_names("server"), docker_names("data"), docker_names("session")
    started = docker_client.containers.run(
        standin_image, name=name, detach=True, ports={"8080/tcp": ("127.0.0.1", port)}, environment=environment,
        volumes={volume: {"bind": "/vol", "mode": "rw"},
                 str(ca): {"bind": "/etc/wandb-local-setup/redis-ca.pem", "mode": "ro"}},
        restart_policy={"Name": "unless-stopped"})
    result = cli(home, "adopt", "--container", name, "--session", session)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"adopted {name} into the session '{session}' (7 secrets in the keyring)" in result.stdout
    assert "Not taken as it is" not in result.stdout and "To correct" not in result.stdout, result.stdout

    rendered = _rendered(home, tmp_path, session)
    assert rendered == _own_env(docker_client, started)

    state = [path for path in home.rglob("*") if path.is_file() and path.suffix != ".cfg"]  # the keyring file
    found = [(path.name, key) for path in state for key, value in canaries.items()
             if value in path.read_text(errors="replace") or quote(value, safe="") in path.read_text(errors="replace")]
    assert not found, found
    assert not any(value in result.stdout + result.stderr for value in canaries.values())
    shown = cli(home, "sessions", "show", session)
    assert shown.returncode == 0 and not any(value in shown.stdout for value in canaries.values())


def test_adopt_without_a_choice_lists_the_containers(tmp_path, home, docker_client, docker_names,  # noqa: F811
                                                     standin_image):  # noqa: F811
    result = cli(home, "adopt", "--container", docker_names("nothing"))
    assert result.returncode == 2 and "no container named" in result.stderr
