"""`wandb-local-setup doctor`: the support bundle, against the real Docker Engine and the stand-in server.

Canary secrets in every secret field, and a server that prints them in its log (the stand-in's STANDIN_LEAK=1: the
environment raw, base64 of each value, a URL with its password, an Authorization header, a PEM private key): the
unpacked bundle holds none of them, in any form.
"""

from __future__ import annotations

import base64
import io
import json
import stat
import tarfile
import textwrap
import uuid
from pathlib import Path
from urllib.parse import quote

from tests.headless.test_apply import cli, home  # noqa: F401 (fixture)
from tests.jws import make_license
from tests.services.bridge_listener import bridge_listener  # noqa: F401 (fixture)
from tests.services.docker_engine import docker_client, docker_engine, docker_names  # noqa: F401 (fixtures)
from tests.services.local_process import closed_port, free_port
from tests.services.standin_image import build_standin, standin_image, standin_server_toml  # noqa: F401

FILES = {"README.txt", "versions.json", "host.json", "checks.json", "session.json"}
CONTAINER_FILES = {"container/inspect.json", "container/server.log", "container/docker-events.log"}


def _unpack(path: Path) -> dict[str, str]:
    with tarfile.open(path, "r:gz") as tar:
        members = tar.getmembers()
        assert all(member.mode == 0o600 and member.isfile() for member in members)
        return {member.name.removeprefix("wandb-local-support/"): tar.extractfile(member).read().decode()
                for member in members}


def _forms(secret: str) -> set[str]:
    raw = secret.encode()
    forms = {secret, quote(secret, safe="")}
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        forms |= {encoded, encoded.rstrip("=")}
    return forms


def _answers(tmp_path: Path, names, image_ref: str, port: int, listener: str, mysql: str, key_id: str) -> Path:
    path = tmp_path / "answers.toml"
    path.write_text(textwrap.dedent(f"""
        session = "{names('session')}"
        [license]
        key = "env:T_LICENSE"
        [host]
        url = "http://127.0.0.1:{port}"
        [sso]
        provider = "oidc"
        issuer = "http://{listener}/idp"
        client_id = "wandb"
        auth_method = "pkce"
        client_secret = "env:T_OIDC"
        [storage]
        provider = "s3-compatible"
        endpoint = "{listener}"
        bucket = "wandb"
        access_key = "{key_id}"
        secret_key = "env:T_S3_SECRET"
        tls = false
        [database]
        provider = "mysql"
        host = "{mysql.rpartition(':')[0]}"
        port = {mysql.rpartition(':')[2]}
        password = "env:T_DB"
        tls = "disabled"
        [cache]
        provider = "redis"
        host = "{listener.rpartition(':')[0]}"
        port = {listener.rpartition(':')[2]}
        password = "env:T_REDIS"
        tls = false
        [slack]
        client_id = "1234567890.9876543210"
        secret = "env:T_SLACK"
        """).lstrip() + standin_server_toml(names, image_ref, port) + textwrap.dedent("""
        [[server.extra_env]]
        name = "STANDIN_LEAK"
        value = "1"
        [[server.extra_env]]
        name = "STANDIN_READY_DELAY"
        value = "0.5"
        [[server.extra_env]]
        name = "GORILLA_EXTRA_TOKEN"
        value = "env:T_EXTRA"
        secret = true
        """).lstrip())
    return path


def _key_id() -> str:
    """An AWS access key id: no secret field of the wizard, but masked in logs as what it looks like."""
    return "AKIA" + uuid.uuid4().hex.upper()[:16]


def _canaries() -> dict[str, str]:
    """A canary in every secret field (the environment variables the answers file reads them from)."""
    tag = uuid.uuid4().hex[:12]
    return {
        "T_LICENSE": make_license(sub=f"CANARY-{tag}"),
        "T_OIDC": f"oidc-canary-{tag}",
        "T_S3_SECRET": f"s3/canary+{tag}" + "x" * 16,
        "T_DB": f"db:c@n/ary {tag}",  # characters that a URL encodes
        "T_REDIS": f"redis-canary-{tag}",
        "T_SLACK": uuid.uuid4().hex,  # a Slack client secret is 32 hexadecimal characters
        "T_EXTRA": f"extra-canary-{tag}",
    }


def test_the_bundle_of_a_running_server_holds_no_secret_in_any_form(tmp_path, home, docker_client,  # noqa: F811
                                                                    docker_names, standin_image,  # noqa: F811
                                                                    bridge_listener):  # noqa: F811
    port, canaries, key_id = free_port(), _canaries(), _key_id()
    path = _answers(tmp_path, docker_names, standin_image, port, bridge_listener.address, bridge_listener.address,
                    key_id)
    applied = cli(home, "apply", "--answers", str(path), "--skip-checks", env_extra=canaries)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    logs = docker_client.containers.get(docker_names("server")).logs().decode()
    # The server did leak them (the password URL-encoded in MYSQL), so the bundle has something to hide.
    assert quote(canaries["T_DB"], safe="") in logs and canaries["T_OIDC"] in logs and "PRIVATE KEY" in logs
    assert base64.b64encode(canaries["T_EXTRA"].encode()).decode() in logs

    out = tmp_path / "support" / "bundle.tar.gz"
    result = cli(home, "doctor", "--session", docker_names("session"), "--out", str(out), "--timeout", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"wrote {out} (") and "mode 0600" in result.stdout
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    files = _unpack(out)
    assert set(files) == FILES | CONTAINER_FILES
    for name in (n for n in files if n.endswith(".json")):  # redaction leaves them valid JSON
        json.loads(files[name])
    assert json.loads(files["session.json"])["values"]["server"]["extra_env"][-1]["secret"] is True
    hits = [(name, secret) for name, text in files.items() for value in canaries.values()
            for secret in _forms(value) if secret in text]
    assert not hits, hits
    assert not any(value in result.stdout + result.stderr for value in canaries.values())
    log = files["container/server.log"]
    assert "(stand-in leak) env MYSQL=********" in log and "(stand-in leak) b64 ********" in log
    assert "(stand-in leak) env BUCKET=********" in log and key_id not in "".join(files.values())
    assert "Authorization: Bearer ********" in log and "*** All services started" in log
    assert "-----BEGIN RSA PRIVATE KEY----- ******** -----END RSA PRIVATE KEY-----" in log
    assert "standinleakedprivatekeymaterial" not in log
    assert '"Action": "start"' in files["container/docker-events.log"] or '"status": "start"' in \
        files["container/docker-events.log"]
    assert "Last launch: launch succeeded" in files["README.txt"]
    assert "docker_engine" in files["versions.json"] and standin_image.split(":")[0] in files["versions.json"]

    listed = cli(home, "doctor", "--session", docker_names("session"), "--print", "--timeout", "3")
    assert listed.returncode == 0
    assert {line.split()[-1] for line in listed.stdout.splitlines()} == FILES | CONTAINER_FILES


def test_the_bundle_of_a_server_that_never_got_ready_names_the_failing_step(tmp_path, home, docker_client,  # noqa: F811
                                                                             docker_names, standin_image,  # noqa: F811
                                                                             bridge_listener):  # noqa: F811
    port, canaries, key_id = free_port(), _canaries(), _key_id()
    bridge = bridge_listener.address.rpartition(':')[0]
    closed = f"{bridge}:{closed_port(bridge)}"  # nothing listens: MySQL is down
    path = _answers(tmp_path, docker_names, standin_image, port, bridge_listener.address, closed,
                    key_id)
    applied = cli(home, "apply", "--answers", str(path), "--skip-checks", "--ready-timeout", "5", env_extra=canaries)
    assert applied.returncode != 0
    out = tmp_path / "bundle.tar.gz"
    result = cli(home, "doctor", "--session", docker_names("session"), "--out", str(out), "--timeout", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    files = _unpack(out)
    readme = files["README.txt"]
    assert "Last launch: launch FAILED" in readme, readme
    assert "  - database: MySQL server: " in readme, readme
    assert "ERROR dependency MYSQL" in files["container/server.log"]
    assert not [(n, v) for n, text in files.items() for v in canaries.values() for f in _forms(v) if f in text]


def test_without_docker_the_bundle_is_still_written_and_says_why(tmp_path, home):  # noqa: F811
    path = tmp_path / "answers.toml"
    path.write_text('[database]\nprovider = "mysql"\nhost = "db.internal"\npassword = "env:T_DB"\n')
    out = tmp_path / "bundle.tar.gz"
    result = cli(home, "doctor", "--answers", str(path), "--out", str(out), "--timeout", "2",
                 env_extra={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock", "T_DB": "canary-no-docker-pw"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not included: Docker Engine: not reachable" in result.stdout
    files = _unpack(out)
    assert set(files) == FILES
    assert "Not in this bundle:\n  - Docker Engine: not reachable" in files["README.txt"]
    assert "canary-no-docker-pw" not in "".join(files.values())
    refused = cli(home, "doctor", "--answers", str(path), "--out", str(tmp_path), env_extra={"T_DB": "x"})
    assert refused.returncode == 2 and "is a directory" in refused.stderr


def test_the_redactor_masks_what_looks_like_a_secret():
    from wizard.doctor import Redactor

    redact = Redactor.for_secrets(["hunter2!"])
    text = ("pw hunter2! / aHVudGVyMiE= / hunter2%21 | postgres://app:pa55@db:5432/x | Authorization: Basic dXNlcg== "
            "| key AKIAIOSFODNN7EXAMPLE | password=letmein token: abc123 | eyJhbGciOi.eyJzdWIiOi.c2ln | "
            "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----")
    assert redact(text) == ("pw ******** / ******** / ******** | postgres://app:********@db:5432/x | Authorization: "
                            "Basic ******** | key ******** | password=******** token: ******** | ******** | "
                            "-----BEGIN PRIVATE KEY----- ******** -----END PRIVATE KEY-----")
