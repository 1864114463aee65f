"""Dry run: the exact Docker operations an action would perform, secrets masked, without touching Docker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wizard.launcher.image import registry_of
from wizard.launcher.run import create_options
from wizard.launcher.spec import LaunchSpec
from wizard.launcher.volume import SERVER_GID, SERVER_UID
from wizard.launcher.watch import DEFAULT_READY_TIMEOUT, ready_url

ACTIONS = ("launch", "reconfigure", "upgrade", "recover", "end-recovery", "destroy")


@dataclass(frozen=True)
class PlannedOperation:
    action: str  # Docker's verb: "image pull", "volume create", "container create", ...
    target: str
    details: dict[str, Any] = field(default_factory=dict)  # never a secret value

    def describe(self) -> list[str]:
        lines = [f"{self.action} {self.target}"]
        for key, value in self.details.items():
            if isinstance(value, dict):
                lines.append(f"  {key}:")
                lines += [f"    {k}={v}" for k, v in value.items()]
            else:
                lines.append(f"  {key}: {value}")
        return lines


def _image(spec: LaunchSpec, always: bool) -> PlannedOperation:
    when = "always (newest for the tag)" if always else "only if not already on this machine"
    return PlannedOperation("image pull", spec.image_ref, {"from": registry_of(spec.image), "when": when})


def _volume(spec: LaunchSpec) -> PlannedOperation:
    if spec.volume_is_bind:
        return PlannedOperation("check bind path", spec.volume,
                                {"requirement": f"a directory writable by UID {SERVER_UID} / GID {SERVER_GID}"})
    return PlannedOperation("volume create", spec.volume, {"when": "only if missing; existing data is kept"})


def _create_and_start(spec: LaunchSpec, ready_timeout: float) -> list[PlannedOperation]:
    options = create_options(spec, mask_secrets=True)
    host_ip, host_port = options["ports"]["8080/tcp"]
    mount = options["mounts"][0]
    return [
        PlannedOperation("container create", spec.container_name, {
            "image": options["image"],
            "environment": options["environment"],
            "ports": f"{host_ip}:{host_port} -> 8080/tcp",
            "mounts": f"{mount['Type']} {mount['Source']} -> {mount['Target']}",
            **({"files (read-only, copied for UID 999)": "; ".join(
                f"{item['Source']} -> {item['Target']}" for item in options["mounts"][1:])}
               if len(options["mounts"]) > 1 else {}),
            **({"extra hosts": ", ".join(f"{name}:{address}" for name, address in options["extra_hosts"].items())}
               if options["extra_hosts"] else {}),
            "labels": options["labels"],
            "restart policy": options["restart_policy"]["Name"],
        }),
        PlannedOperation("container start", spec.container_name),
        PlannedOperation("wait", ready_url(spec), {"until": "HTTP 200", "timeout": f"{ready_timeout:.0f} s"}),
        PlannedOperation("check", ready_url(spec, "/healthz")),
        PlannedOperation("check", (spec.host_url.rstrip("/") + "/ready") if spec.host_url else "HOST (not set)"),
    ]


def _replace(spec: LaunchSpec, ready_timeout: float, pull_always: bool) -> list[PlannedOperation]:
    previous = f"{spec.container_name}-previous-<UTC time>"
    return [
        _image(spec, pull_always),
        _volume(spec),
        PlannedOperation("container rename", spec.container_name, {"new name": previous}),
        PlannedOperation("container update", previous, {"restart policy": "no"}),
        PlannedOperation("container stop", previous),
        *_create_and_start(spec, ready_timeout),
        PlannedOperation("container remove", previous, {"when": "the new server is ready; the volume stays"}),
        PlannedOperation("restore", previous, {
            "when": "the new server does not become ready",
            "steps": f"remove the new container, rename {previous} back to {spec.container_name}, restore its "
                     "restart policy, start it",
        }),
    ]


def dry_run(spec: LaunchSpec, action: str = "launch", ready_timeout: float = DEFAULT_READY_TIMEOUT
            ) -> list[PlannedOperation]:
    """The operations of `action` for `spec`, in order. "launch" is a first install; when this wizard's container
    already exists, a launch performs the "reconfigure" plan."""
    if action == "launch":
        return [_image(spec, False), _volume(spec), *_create_and_start(spec, ready_timeout)]
    if action == "reconfigure":
        return _replace(spec, ready_timeout, False)
    if action == "upgrade":
        return [PlannedOperation("registry inspect", spec.image_ref, {"compare": "registry digest vs RepoDigests"}),
                *_replace(spec, ready_timeout, True)]
    if action == "recover":
        return _replace(spec.with_environment(LOCAL_RESTORE="true"), ready_timeout, False) + [
            PlannedOperation("read logs", spec.container_name, {"looking for": "the temporary credentials line"})]
    if action == "end-recovery":
        return _replace(spec.with_environment(LOCAL_RESTORE=None), ready_timeout, False)
    if action == "destroy":
        volume = (PlannedOperation("keep directory", spec.volume, {"note": "bind paths are never deleted"})
                  if spec.volume_is_bind else PlannedOperation("volume remove", spec.volume, {"data": "ALL DELETED"}))
        return [PlannedOperation("container remove", spec.container_name, {"force": True}),
                PlannedOperation("container remove", f"{spec.container_name}-previous-*", {"force": True}),
                volume]
    raise ValueError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
