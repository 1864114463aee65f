"""Exports: env file, compose, docker run script, Kubernetes operator values and resource; secrets only with
--with-secrets."""

from __future__ import annotations

import os
import stat
import subprocess
import uuid

import pytest
import yaml

from wizard import draft, exports, render

CANARY = f"CANARY-{uuid.uuid4().hex}"
TRICKY = "a b 'q' \"dq\" $HOME ${X} #hash =eq ü ✓"


def _cfg(**server):
    values = {
        "host": {"url": "https://wandb.example.com"},
        "database": {"provider": "mysql", "mysql": {"host": "db.internal"}},
        "slack": {"client_id": "1234567890.9876543210"},
        "server": {"extra_env": [{"name": "GORILLA_TRICKY", "value": TRICKY}], **server},
    }
    secrets = {"database.mysql.password": CANARY, "slack.secret": "0123456789abcdef0123456789abcdef",
               "license.key": None}
    return draft.build_config(values, {k: v for k, v in secrets.items() if v})


def _parse_env_file(text: str) -> dict[str, str]:
    """The way `docker run --env-file` reads it: NAME=rest of the line, literally; # lines are comments."""
    env = {}
    for line in text.split("\n"):
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        env[name] = value
    return env


def test_env_file_reads_back_to_the_rendered_environment():
    cfg = _cfg()
    text = exports.env_file(cfg, with_secrets=True)
    assert _parse_env_file(text) == render.environment_dict(cfg)
    assert _parse_env_file(text)["GORILLA_TRICKY"] == TRICKY


def test_env_file_without_secrets_has_placeholders_only():
    text = exports.env_file(_cfg(), with_secrets=False)
    assert CANARY not in text
    env = _parse_env_file(text)
    assert env["MYSQL"] == "mysql://wandb_local:${DATABASE_MYSQL_PASSWORD}@db.internal:3306/wandb_local?tls=preferred"
    assert env["SLACK_SECRET"] == "${SLACK_SECRET}"


@pytest.mark.parametrize("fmt", exports.FORMATS)
def test_no_secret_in_any_export_without_with_secrets(tmp_path, fmt):
    files = exports.build(_cfg(), fmt, tmp_path / f"out.{fmt}", with_secrets=False)
    exports.write(files)
    for item in files:
        assert CANARY not in item.path.read_text()
        assert not item.secret


@pytest.mark.parametrize("fmt", exports.FORMATS)
def test_with_secrets_files_are_private(tmp_path, fmt):
    old = os.umask(0)
    try:
        files = exports.build(_cfg(), fmt, tmp_path / f"out.{fmt}", with_secrets=True)
        exports.write(files)
    finally:
        os.umask(old)
    secret_files = [item for item in files if item.secret]
    assert secret_files
    for item in secret_files:
        assert CANARY in item.path.read_text()
        assert stat.S_IMODE(item.path.stat().st_mode) & 0o077 == 0, oct(item.path.stat().st_mode)


def test_compose_project(tmp_path):
    cfg = _cfg(port=9090, bind_address="127.0.0.1", restart_policy="always")
    files = exports.build(cfg, "compose", tmp_path / "docker-compose.yml", with_secrets=False)
    assert [item.path.name for item in files] == ["docker-compose.yml"]
    data = yaml.safe_load(files[0].text)
    service = data["services"]["wandb"]
    assert service["image"] == "wandb/local:latest"
    assert service["ports"] == ["127.0.0.1:9090:8080"]
    assert service["volumes"] == ["wandb:/vol"]
    assert service["restart"] == "always"
    assert data["volumes"] == {"wandb": {"name": "wandb"}}
    env = service["environment"]
    assert env["GORILLA_TRICKY"] == TRICKY.replace("$", "$$")  # Compose turns $$ back into $
    assert env["MYSQL"] == ("mysql://wandb_local:${DATABASE_MYSQL_PASSWORD:?export DATABASE_MYSQL_PASSWORD first}"
                            "@db.internal:3306/wandb_local?tls=preferred")


def test_compose_with_a_bind_path_declares_no_volume(tmp_path):
    files = exports.build(_cfg(volume="/srv/wandb"), "compose", tmp_path / "c.yml", with_secrets=False)
    data = yaml.safe_load(files[0].text)
    assert data["services"]["wandb"]["volumes"] == ["/srv/wandb:/vol"]
    assert "volumes" not in data


def test_the_removed_helm_format_is_refused_naming_the_new_ones(tmp_path):
    with pytest.raises(exports.ExportRefused, match="the helm format was removed") as refused:
        exports.build(_cfg(), "helm", tmp_path / "values.yaml", with_secrets=False)
    assert "--format operator-values" in str(refused.value) and "--format operator " in str(refused.value)
    assert not (tmp_path / "values.yaml").exists()


def test_operator_values_give_extra_options_literally_to_kubernetes(tmp_path):
    """Kubernetes expands $(NAME) in a variable's value and reads $$ as $: the server must still get the value
    exactly as typed (the expansion done here as Kubernetes does it)."""
    import re

    (values, *_) = exports.build(_cfg(extra_env=[{"name": "GORILLA_TRICKY", "value": TRICKY + " $(HOST) $$"}]),
                                 "operator-values", tmp_path / "v.yaml", with_secrets=False)
    written = yaml.safe_load(values.text)["global"]["extraEnv"]["GORILLA_TRICKY"]
    expanded = re.sub(r"\$(\$|\((\w+)\))", lambda m: "$" if m[1] == "$" else f"<{m[2]} expanded>", written)
    assert expanded == TRICKY + " $(HOST) $$"


def test_docker_run_script_keeps_secrets_off_the_command_line(tmp_path):
    script = exports.docker_run_script(_cfg(), with_secrets=True)
    run_line = script[script.index("docker run"):]
    assert CANARY not in run_line
    assert "-e MYSQL \\" in run_line and "-e SLACK_SECRET \\" in run_line
    assert "export MYSQL=" in script
    # The script is valid shell: `sh -n` parses it.
    path = tmp_path / "run.sh"
    path.write_text(script)
    assert subprocess.run(["sh", "-n", str(path)]).returncode == 0


def test_docker_run_script_without_secrets_refuses_to_run_unset(tmp_path):
    script = exports.docker_run_script(_cfg(), with_secrets=False)
    assert CANARY not in script
    path = tmp_path / "run.sh"
    path.write_text(script.replace("docker run", "echo docker run"))
    result = subprocess.run(["sh", str(path)], capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    assert result.returncode != 0
    assert "set MYSQL first" in result.stderr


def test_docker_run_script_quotes_tricky_values(tmp_path):
    script = exports.docker_run_script(_cfg(), with_secrets=False)
    path = tmp_path / "run.sh"
    # Replace docker with a printer of its arguments to see what the shell passes.
    path.write_text("docker() { for a in \"$@\"; do printf '%s\\n' \"$a\"; done; }\n"
                    + script.replace("#!/bin/sh\n", "").replace(': "${', '# '))
    result = subprocess.run(["sh", str(path)], capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    assert result.returncode == 0, result.stderr
    assert f"GORILLA_TRICKY={TRICKY}" in result.stdout.splitlines()


def test_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="unknown export format"):
        exports.build(_cfg(), "xml", tmp_path / "x", with_secrets=False)
