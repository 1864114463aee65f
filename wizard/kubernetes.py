"""W&B's Kubernetes operator: values for its chart (operator-wandb), a WeightsAndBiases resource, and the Secrets
they name.

Each section gives its part in the chart's own keys (`Section.chart`, by its provider), from the same settings the
container's environment is rendered from; what the chart cannot express is said in the file's header and on the
Review step, never dropped. Secret values are never in the values: without `with_secrets` the export writes the
`kubectl create secret` commands that make the Secrets from files the admin controls; with it, Secret manifests
(`stringData`) in a separate 0600 file.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable

from wizard.providers.base import ChartParts, SecretKey
from wizard.render import ORDER, container_inputs, mask

if TYPE_CHECKING:
    from wizard.config import InstallConfig

API_VERSION = "apps.wandb.com/v1"  # the operator's resource (spec.chart, spec.values)
KIND = "WeightsAndBiases"
CHART = {"url": "https://charts.wandb.ai", "name": "operator-wandb"}
RESOURCE_NAME = "wandb"
MAX_FILE_BYTES = 64 * 1024  # a CA certificate given as a value: far smaller


@dataclass(frozen=True)
class ChartValues:
    values: dict[str, Any]
    secrets: tuple[SecretKey, ...]  # the Secrets' keys the values name (values only when asked for)
    cannot: tuple[str, ...]  # what the chart cannot express, one sentence each, naming the setting


def pod_problem(host: str) -> str:
    """Why a pod could not reach `host` as the container would ("" when it can, as far as a name tells)."""
    from wizard.container import HOST_ALIAS
    from wizard.validators import is_loopback_host

    if is_loopback_host(host.strip("[]")):
        return (f"{host} is the pod itself inside a pod: give an address or DNS name the pods can reach (a "
                "Service name, or the machine's address)")
    if host.lower() == HOST_ALIAS:
        return f"{HOST_ALIAS} is Docker's name for this machine: pods cannot resolve it; give its address or DNS name"
    return ""


def read_file(source: str, setting: str) -> str:
    """A file whose content becomes a value (a CA certificate). ValueError naming the setting."""
    from wizard.small_files import read_small

    try:
        return read_small(source, MAX_FILE_BYTES).decode("utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{setting}: {exc}") from None


def chart_values(cfg: InstallConfig, with_secrets: bool = False,
                 read: Callable[[str, str], str] | None = None) -> ChartValues:
    """The chart's values for `cfg`; the files they hold are read with `read` (source, setting; default read_file)."""
    read = read or read_file
    out = ChartParts(with_secrets)
    for step in ORDER:
        getattr(cfg, step).chart(out)
    for endpoint in container_inputs(cfg, mask).endpoints:  # the container's-eye rules, for pods
        problem = pod_problem(endpoint.host)
        if problem:
            out.cannot.append(f"{endpoint.setting}: {problem}")
    for path, (source, setting) in out.files.items():
        out.set(path, read(source, setting))
    secrets = tuple(replace(item, value=read(item.source, item.setting)) if item.source and with_secrets else item
                    for item in out.secrets)
    return ChartValues(out.values, secrets, tuple(out.cannot))


def secret_data(chart: ChartValues) -> dict[str, dict[str, SecretKey]]:
    """The Secrets by name, each with its keys (a Secret holds several: the bucket's access and secret key)."""
    secrets: dict[str, dict[str, SecretKey]] = {}
    for item in chart.secrets:
        secrets.setdefault(item.secret, {}).setdefault(item.key, item)
    return secrets


def resource(chart: ChartValues, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": RESOURCE_NAME, "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": "wandb-local-setup"}},
        "spec": {"chart": dict(CHART), "values": chart.values},
    }


def secret_manifests(chart: ChartValues, namespace: str) -> list[dict[str, Any]]:
    """Secret manifests with the values (only for an export asked for secrets)."""
    return [{"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
             "metadata": {"name": name, "namespace": namespace},
             "stringData": {key: item.value for key, item in keys.items()}}
            for name, keys in secret_data(chart).items()]


def secret_commands(chart: ChartValues, namespace: str) -> list[str]:
    """Shell lines that create each Secret from files the admin writes (no value here), one file per key."""
    lines = []
    for name, keys in secret_data(chart).items():
        for key, item in keys.items():
            if item.source:
                lines.append(f"#   {key} is read from {item.source} ({item.setting})")
                continue
            encoded = " URL-encoded (the chart puts it into a URL as it is)" if item.url_encoded else ""
            lines.append(f"#   ./{name}/{key}: {item.setting}{encoded}")
        files = " ".join("--from-file=" + shlex.quote(f"{key}={item.source or f'./{name}/{key}'}")
                         for key, item in keys.items())
        lines.append(f"kubectl -n {shlex.quote(namespace)} create secret generic {shlex.quote(name)} {files}")
    return lines


def header(chart: ChartValues, what: str) -> list[str]:
    lines = [f"# {what}, written by wandb-local-setup."]
    if chart.cannot:
        lines.append("# The chart cannot express these settings (set them up as said, or change them in the wizard):")
        lines += [f"#   - {note}" for note in chart.cannot]
    return lines
