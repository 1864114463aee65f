"""Exports of a configuration: an env file, a docker-compose project, a `docker run` script, and for W&B's
Kubernetes operator its chart's values or a WeightsAndBiases resource (wizard.kubernetes).

Without `with_secrets`, secrets are placeholders such as ${DATABASE_MYSQL_PASSWORD} (Kubernetes: references to
Secrets, made by the `kubectl create secret` commands written beside); with it, the files holding them are 0600.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.lazy import lazy_module

if TYPE_CHECKING:
    from wizard import config as c
    from wizard import render
else:  # `FORMATS` is read when the command line is parsed: the models load only when a file is exported
    c = lazy_module("wizard.config")
    render = lazy_module("wizard.render")

FORMATS = ("env", "compose", "docker-run", "operator-values", "operator")
DEFAULT_NAMESPACE = "wandb"  # of the operator formats (the Namespace and the resource)
DEFAULT_FILES = {"env": "wandb-local.env", "compose": "docker-compose.yml", "docker-run": "run-wandb-local.sh",
                 "operator-values": "wandb-operator-values.yaml", "operator": "wandb-operator.yaml"}
FORMAT_LABELS = {"env": "env file (docker run --env-file)", "compose": "docker-compose project",
                 "docker-run": "docker run script", "operator-values": "Kubernetes: operator-wandb chart values",
                 "operator": "Kubernetes: WeightsAndBiases resource"}
REMOVED_FORMATS = {  # formats older versions wrote, with what replaces them
    "helm": "the helm format was removed: its values were valid for neither of W&B's charts. Use --format "
            "operator-values (values for W&B's operator-wandb chart) or --format operator (a WeightsAndBiases "
            "resource for W&B's Kubernetes operator)",
}


class ExportRefused(ValueError):
    """An export that cannot be written as asked (where, or a value the format cannot carry), said plainly."""


@dataclass(frozen=True)
class ExportFile:
    path: Path
    text: str
    secret: bool  # holds real secret values: written 0600
    notes: tuple[str, ...] = ()  # what the admin must know or do (said by the CLI and the Review step)


def _view(with_secrets: bool) -> render.SecretView:
    return render.reveal if with_secrets else render.placeholder


def _needs_lines(inputs) -> list[str]:
    """What an env file cannot carry: the files and host entries `docker run` must be given as options."""
    lines = []
    if inputs.mounts or inputs.extra_hosts:
        lines.append("# The server also needs these docker run options (an env file cannot carry them):")
        lines += [f"#   -v {mount.source}:{mount.target}:ro   (readable by UID 999)" for mount in inputs.mounts]
        lines += [f"#   --add-host {entry.option}" for entry in inputs.extra_hosts]
    return lines


def env_file(cfg: c.InstallConfig, with_secrets: bool) -> str:
    """`docker run --env-file` format: NAME=value, taken literally (no quotes, no expansion)."""
    inputs = render.container_inputs(cfg, _view(with_secrets))
    lines = ["# W&B Local Server environment, written by wandb-local-setup."]
    if not with_secrets:
        lines.append("# Secrets are placeholders (${...}): replace them (URL-encoded inside URLs), or export again")
        lines.append("# with --with-secrets.")
    lines += _needs_lines(inputs)
    lines += [f"{item.name}={_literal(item.name, item.value, 'an env file')}" for item in inputs.env]
    return "\n".join(lines) + "\n"


def _literal(name: str, value: str, where: str) -> str:
    """`value` as it is, or ExportRefused when `where` cannot carry it literally (a line break would start another
    variable). The settings refuse such values already: this holds for any configuration given to an export."""
    from wizard.validators import control_character

    problem = control_character(value)
    if problem:
        raise ExportRefused(f"{name} cannot be written to {where}: its value {problem.split(':', 1)[0]}")
    return value


def _yaml(data) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)


def _port_mapping(server: c.ServerOptions) -> str:
    address = f"[{server.bind_address}]" if ":" in server.bind_address else server.bind_address
    return f"{address}:{server.port}:8080"


def compose_file(cfg: c.InstallConfig, with_secrets: bool) -> str:
    """A docker-compose project. The environment is inline, not an env_file: Compose reads env files with dotenv
    rules (quotes, `#` comments, `${}` expansion) that would change values, while in the YAML only `$` needs
    escaping (`$$`). Without secrets, each secret is `${NAME:?...}`, which Compose takes from the shell or .env."""
    import re

    server = cfg.server

    def view(secret_id: str, value: str) -> str:
        return value if with_secrets else f"\0{render.placeholder_name(secret_id)}\0"

    inputs = render.container_inputs(cfg, view)
    environment = {}
    for item in inputs.env:
        text = item.value.replace("$", "$$")
        environment[item.name] = re.sub(r"\0(\w+)\0", lambda m: "${%s:?export %s first}" % (m[1], m[1]), text)
    service = {
        "image": server.image_ref,
        "container_name": server.container_name,
        "environment": environment,
        "ports": [_port_mapping(server)],
        "volumes": [f"{server.volume}:/vol"] + [f"{mount.source}:{mount.target}:ro" for mount in inputs.mounts],
        "restart": server.restart_policy,
    }
    if inputs.extra_hosts:
        service["extra_hosts"] = [entry.option for entry in inputs.extra_hosts]
    data = {"version": "3.8", "services": {"wandb": service}}
    if not server.volume.startswith("/"):
        data["volumes"] = {server.volume: {"name": server.volume}}
    header = "# W&B Local Server, written by wandb-local-setup. Start with: docker-compose up -d\n"
    if inputs.mounts:
        header += "# The files under volumes (:ro) must be readable by the server's user, UID 999.\n"
    if not with_secrets:
        header += "# Export the ${...} secrets first (URL-encoded where they sit inside a URL).\n"
    return header + _yaml(data)


def docker_run_script(cfg: c.InstallConfig, with_secrets: bool) -> str:
    """A shell script: secrets travel in exported variables (`-e NAME`), never on docker's command line."""
    server = cfg.server
    inputs = render.container_inputs(cfg, _view(with_secrets))
    items = inputs.env
    lines = ["#!/bin/sh", "# W&B Local Server, written by wandb-local-setup.", "set -e"]
    if inputs.mounts:
        lines.append("# The files given with -v ...:ro must be readable by the server's user, UID 999.")
    secret_items = [item for item in items if item.secret]
    if secret_items:
        if with_secrets:
            lines.append("# Secrets are passed through the environment so they stay off the process list.")
            lines += [f"export {item.name}={shlex.quote(item.value)}" for item in secret_items]
        else:
            lines.append("# Set these before running (they stay off the process list):")
            lines += [f"# export {item.name}={shlex.quote(item.value)}" for item in secret_items]
            lines += [f': "${{{item.name}:?set {item.name} first}}"' for item in secret_items]
    options = [("--name", server.container_name), ("-p", _port_mapping(server)), ("-v", f"{server.volume}:/vol"),
               ("--restart", server.restart_policy)]
    options += [("-v", f"{mount.source}:{mount.target}:ro") for mount in inputs.mounts]
    options += [("--add-host", entry.option) for entry in inputs.extra_hosts]
    options += [("-e", item.name if item.secret else f"{item.name}={item.value}") for item in items]
    words = ["docker run -d", *(f"{flag} {shlex.quote(value)}" for flag, value in options), shlex.quote(server.image_ref)]
    lines.append(" \\\n    ".join(words))
    return "\n".join(lines) + "\n"


def _operator_files(cfg: c.InstallConfig, fmt: str, out: Path, with_secrets: bool,
                    namespace: str) -> list[ExportFile]:
    """The values (or the resource holding them), and beside them the Secrets: their manifests (0600) with
    `with_secrets`, else the commands that create them from files."""
    from wizard import kubernetes as k8s

    try:
        chart = k8s.chart_values(cfg, with_secrets)
    except ValueError as exc:  # a file the values hold (a CA certificate) cannot be read: the setting is named
        raise ExportRefused(str(exc)) from None
    beside = out.with_name(f"{out.stem}-secrets" + (".yaml" if with_secrets else ".sh"))
    if fmt == "operator":
        what = f"A WeightsAndBiases resource for W&B's operator (namespace {namespace})"
        docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
                k8s.resource(chart, namespace)]
        body = "---\n".join(_yaml(doc) for doc in docs)
        apply = f"kubectl apply -f {shlex.quote(str(out))}"
    else:
        what = "Values for W&B's operator-wandb chart"
        body = _yaml(chart.values)
        apply = (f"helm upgrade --install wandb operator-wandb --repo {k8s.CHART['url']} -n {shlex.quote(namespace)} "
                 f"--create-namespace -f {shlex.quote(str(out))}")
    lines = k8s.header(chart, what)
    notes = [f"cannot carry: {note}" for note in chart.cannot]
    files = []
    if chart.secrets:
        secrets_step = (f"kubectl apply -f {shlex.quote(str(beside))}" if with_secrets
                        else f"sh {shlex.quote(str(beside))}")
        lines.append(f"# The Secrets it names come first: {secrets_step}")
        notes.append(f"create the Secrets first: {secrets_step}")
        if with_secrets:
            text = "# Secrets for W&B's operator, written by wandb-local-setup: keep this file private.\n"
            text += "---\n".join(_yaml(doc) for doc in k8s.secret_manifests(chart, namespace))
        else:
            text = ("#!/bin/sh\n# The Secrets W&B's operator values name, written by wandb-local-setup. Put each "
                    "secret in the file\n# named below (one value, no line break; umask 077), run this, then "
                    "delete the files.\nset -e\n") + "\n".join(k8s.secret_commands(chart, namespace)) + "\n"
        files.append(ExportFile(beside, text, with_secrets))
    lines.append(f"# Then: {apply}")
    notes.append(f"then: {apply}")
    return [ExportFile(out, "\n".join(lines) + "\n" + body, False, tuple(notes)), *files]


def build(cfg: c.InstallConfig, fmt: str, out: Path, with_secrets: bool,
          namespace: str = DEFAULT_NAMESPACE) -> list[ExportFile]:
    if fmt in REMOVED_FORMATS:
        raise ExportRefused(REMOVED_FORMATS[fmt])
    if fmt == "env":
        return [ExportFile(out, env_file(cfg, with_secrets), with_secrets)]
    if fmt == "compose":
        return [ExportFile(out, compose_file(cfg, with_secrets), with_secrets)]
    if fmt == "docker-run":
        return [ExportFile(out, docker_run_script(cfg, with_secrets), with_secrets)]
    if fmt in ("operator-values", "operator"):
        return _operator_files(cfg, fmt, out, with_secrets, namespace)
    raise ValueError(f"unknown export format {fmt!r}: expected one of {', '.join(FORMATS)}")


def write(files: list[ExportFile]) -> None:
    """Write atomically; files holding secrets are created 0600 (never briefly readable by others)."""
    from wizard.atomic import atomic_write

    for item in files:
        check_destination(item.path)
    for item in files:
        item.path.parent.mkdir(parents=True, exist_ok=True)
        mode = 0o600 if item.secret else 0o644
        if item.text.startswith("#!"):  # the docker run script
            mode |= 0o100 if item.secret else 0o111
        atomic_write(item.path, item.text.encode("utf-8"), mode=mode)


def check_destination(path: Path) -> None:
    """An export goes to a regular file (replaced) or a new path, nothing else: as root, `--out /dev/null` once
    replaced /dev/null with a file holding the secrets."""
    import os
    import stat

    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ExportRefused(f"{path} cannot be written: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ExportRefused(f"{path} is a directory: give the path of the file to write inside it")
    if stat.S_ISLNK(info.st_mode):
        raise ExportRefused(f"{path} is a symbolic link: give the path of the file itself (an export replaces the "
                            "file it writes)")
    if not stat.S_ISREG(info.st_mode):
        raise ExportRefused(f"{path} is not a regular file (a device, FIFO or socket): exports write only to a "
                            "regular file or a new path")


def as_json(cfg: c.InstallConfig) -> str:
    """The masked environment as JSON (for reports)."""
    return json.dumps(render.environment_dict(cfg, render.mask), indent=2)
