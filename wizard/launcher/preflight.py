"""Preflight: is this machine ready to run the server? Each item is a CheckResult (pass / warn / fail / skipped).

Resources below the recommendation warn, they do not fail: W&B starts on less, only slowly.
"""

from __future__ import annotations

import errno
import os
import platform
import re
import shutil
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

from wizard.checks.engine import CheckResult, Status
from wizard.launcher.engine import connect, engine_address
from wizard.launcher.errors import LauncherError
from wizard.launcher.existing import (
    containers_publishing,
    describe_container,
    get_container,
    get_volume,
    is_ours,
    previous_containers,
)
from wizard.launcher.run import port_hint
from wizard.launcher.spec import LaunchSpec
from wizard.launcher.volume import bind_path_problem, check_bind_path

if TYPE_CHECKING:
    from wizard.report import StepReport

GB = 1024 ** 3


@dataclass(frozen=True)
class Minimums:
    cpus: int = 4
    memory_bytes: int = 8 * GB
    disk_bytes: int = 20 * GB
    # A machine sold as "8 GB" reports a little less: warn only below this share of the recommendation.
    memory_slack: float = 0.93


def _item(check_id: str, title: str, status: Status, message: str, hint: str = "") -> CheckResult:
    return CheckResult(check_id, title, status, message, hint)


def _gb(value: float) -> str:
    return f"{value / GB:.1f} GB"


ENGINE_TIMEOUT = 15  # seconds: a preflight must not hang on an engine that accepts but does not answer


def check_engine(base_url: str | None = None) -> tuple[CheckResult, Any | None]:
    """(item, client): the client is None when the engine cannot be used."""
    title = "Docker Engine reachable"
    try:
        client = connect(base_url, timeout=ENGINE_TIMEOUT)
    except LauncherError as exc:
        return _item("docker.engine", title, Status.FAIL, exc.message, exc.hint), None
    return _item("docker.engine", title, Status.PASS, f"Docker Engine answers at {engine_address(base_url)}."), client


def check_versions(client: Any) -> CheckResult:
    title = "Docker Engine version"
    version = client.version()
    engine, api = version.get("Version", "?"), version.get("ApiVersion", "?")
    message = f"Docker Engine {engine} (API {api}, {version.get('Os', '?')}/{version.get('Arch', '?')})."
    try:
        major = int(str(engine).split(".")[0])
    except ValueError:
        major = 99
    if major < 20:
        return _item("docker.version", title, Status.WARN, message,
                     "This engine is old (before 20.10): upgrade Docker if anything misbehaves.")
    return _item("docker.version", title, Status.PASS, message)


def check_architecture(info: dict | None) -> CheckResult:
    title = "CPU architecture"
    machine = (info or {}).get("Architecture") or platform.machine()
    if machine.lower() in ("x86_64", "amd64"):
        return _item("host.arch", title, Status.PASS, f"{machine}: wandb/local runs natively.")
    return _item(
        "host.arch", title, Status.WARN,
        f"{machine}: wandb/local is published for x86-64 (linux/amd64) only.",
        "Docker will warn that the platform does not match and run it under emulation if available (slow, "
        "unsupported). Use an x86-64 machine for anything beyond a trial.",
    )


def check_cpus(info: dict | None, minimums: Minimums) -> CheckResult:
    count = (info or {}).get("NCPU") or os.cpu_count() or 0
    title = "CPUs"
    if count >= minimums.cpus:
        return _item("host.cpus", title, Status.PASS, f"{count} CPUs (recommended: {minimums.cpus}).")
    return _item("host.cpus", title, Status.WARN, f"{count} CPUs; {minimums.cpus} are recommended.",
                 "W&B will start, but slowly, and may lag under load.")


def _host_memory() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def check_memory(info: dict | None, minimums: Minimums) -> CheckResult:
    total = (info or {}).get("MemTotal") or _host_memory()
    title = "Memory"
    if total >= minimums.memory_bytes * minimums.memory_slack:
        return _item("host.memory", title, Status.PASS,
                     f"{_gb(total)} (recommended: {_gb(minimums.memory_bytes)}).")
    return _item("host.memory", title, Status.WARN,
                 f"{_gb(total)} of memory; {_gb(minimums.memory_bytes)} are recommended.",
                 "The embedded MySQL, Redis and MinIO share it: expect slow starts, or the server being killed "
                 "for lack of memory.")


def _existing_ancestor(path: str) -> str:
    while path and not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path or "/"


def check_disk(info: dict | None, spec: LaunchSpec, minimums: Minimums, local_engine: bool) -> CheckResult:
    title = "Free disk space"
    if spec.volume_is_bind:
        path, what = spec.volume, "the data directory"
    elif local_engine:
        path, what = (info or {}).get("DockerRootDir") or "/var/lib/docker", "Docker's data root"
    else:
        return _item("host.disk", title, Status.SKIPPED, "The engine runs on another machine: check its disk there.")
    where = _existing_ancestor(path)
    try:
        free = shutil.disk_usage(where).free
    except OSError as exc:
        return _item("host.disk", title, Status.WARN, f"Free space on {where} cannot be read ({exc.strerror}).")
    message = f"{_gb(free)} free on {what} ({path})"
    if free >= minimums.disk_bytes:
        return _item("host.disk", title, Status.PASS, f"{message}; recommended: {_gb(minimums.disk_bytes)}.")
    return _item("host.disk", title, Status.WARN, f"{message}; {_gb(minimums.disk_bytes)} are recommended.",
                 "The image takes a few GB and the database and files grow with use: free space or move Docker's "
                 "data root (`data-root` in /etc/docker/daemon.json).")


def port_is_free(address: str, port: int) -> tuple[bool, str]:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT leftovers
        try:
            probe.bind((address.strip("[]") or "0.0.0.0", port))
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                return False, "not-local"
            if exc.errno == errno.EACCES:
                return False, "privileged"
            return False, "in-use"
    return True, ""


def check_port(spec: LaunchSpec, client: Any | None) -> CheckResult:
    title = "Published port free"
    where = f"{spec.bind_address}:{spec.port}"
    free, why = port_is_free(spec.bind_address, spec.port)
    if free:
        return _item("host.port", title, Status.PASS, f"{where} is free.")
    if why == "not-local":
        return _item("host.port", title, Status.FAIL, f"{spec.bind_address} is not an address of this machine.",
                     "Use 0.0.0.0 (all interfaces) or one of this machine's addresses (`ip -brief address`).")
    if why == "privileged":
        return _item("host.port", title, Status.PASS,
                     f"Port {spec.port} is privileged; Docker Engine (root) can publish it.")
    holders = containers_publishing(client, spec.port) if client is not None else []
    for holder in holders:
        info = describe_container(holder)
        if info.name == spec.container_name and is_ours(holder, spec):
            return _item("host.port", title, Status.PASS,
                         f"{where} is held by this install's own container {info.name}, which a relaunch replaces.")
        if info.managed and info.name.startswith(f"{spec.container_name}-previous-"):
            return _item("host.port", title, Status.PASS,
                         f"{where} is held by {info.name}, this install's server set aside by an interrupted "
                         f"relaunch: the launch puts it back under its name first, then replaces it.")
    if holders:
        names = ", ".join(f"{h.name} ({describe_container(h).image})" for h in holders)
        return _item("host.port", title, Status.FAIL, f"{where} is taken by the container {names}.",
                     "Stop that container (`docker stop NAME`) or choose another published port.")
    return _item("host.port", title, Status.FAIL, f"{where} is taken by another program.", port_hint(spec.port))


def check_existing_container(spec: LaunchSpec, client: Any) -> CheckResult:
    title = "Existing container"
    container = get_container(client, spec.container_name)
    leftovers = [c.name for c in previous_containers(client, spec.container_name)]
    aside = (f"\nAlso found, set aside by an interrupted relaunch: {', '.join(leftovers)}: the launch finishes or "
             "undoes that relaunch first." if leftovers else "")
    if container is None:
        if leftovers:
            return _item("existing.container", title, Status.WARN,
                         f"No container named {spec.container_name}: a relaunch was interrupted after setting the "
                         f"server aside.{aside}",
                         f"The launch puts {sorted(leftovers)[-1]} back under its name, then relaunches it with "
                         "these settings.")
        return _item("existing.container", title, Status.PASS, f"No container named {spec.container_name} yet.")
    info = describe_container(container, spec.secret_names)
    details = "\n".join(info.summary()) + aside
    if not is_ours(container, spec):
        return _item(
            "existing.container", title, Status.FAIL,
            f"A container named {spec.container_name} exists and was not created by this wizard:\n{details}",
            f"It may hold your data. Choose another container name, or retire it: `docker stop {info.name}` then "
            f"`docker rename {info.name} {info.name}-old`. Its volume ({info.data_mount or 'none'}) is kept; "
            "configure the same volume to keep using that data.",
        )
    return _item("existing.container", title, Status.WARN,
                 f"This install already runs here:\n{details}",
                 "Launching reconfigures it: the container is recreated with the new settings and the data volume "
                 "is kept; the old container is restored if the new one does not start.")


def check_existing_volume(spec: LaunchSpec, client: Any | None) -> CheckResult:
    title = "Data volume"
    if spec.volume_is_bind:
        problem = bind_path_problem(spec.volume)
        if problem is None:
            contents = len(os.listdir(spec.volume))
            kind = f"holds {contents} entries: existing data is used" if contents else "is empty"
            return _item("existing.volume", title, Status.PASS, f"{spec.volume} is writable by the server and {kind}.")
        try:
            check_bind_path(spec.volume)
        except LauncherError as exc:
            return _item("existing.volume", title, Status.FAIL, exc.message, exc.hint)
    if client is None:
        return _item("existing.volume", title, Status.SKIPPED, "Needs Docker Engine.")
    volume = get_volume(client, spec.volume)
    if volume is None:
        return _item("existing.volume", title, Status.PASS, f"The volume {spec.volume} will be created.")
    used = f"; used by {', '.join(volume.used_by)}" if volume.used_by else ""
    return _item("existing.volume", title, Status.WARN,
                 f"The volume {spec.volume} already exists (created {volume.created or 'at an unknown time'}{used}).",
                 "It holds data from an earlier install (users, runs, settings): the server will use it. Choose "
                 "another volume name for a fresh start.")


def check_host_gateway(spec: LaunchSpec, client: Any) -> CheckResult:
    """`--add-host NAME:host-gateway` exists since Docker 20.10: older engines refuse to create the container."""
    title = "Host entries for the server"
    entries = ", ".join(entry.option for entry in spec.extra_hosts)
    engine = str(client.version().get("Version", "0"))
    numbers = [int(part) for part in re.findall(r"\d+", engine)[:2]] + [0, 0]
    if any(entry.address == "host-gateway" for entry in spec.extra_hosts) and tuple(numbers[:2]) < (20, 10):
        return _item("server.hosts", title, Status.FAIL, f"Docker Engine {engine} does not know host-gateway, which "
                     f"the server's host entry uses ({entries}).",
                     "Upgrade Docker Engine to 20.10 or newer, or give the service's IP address instead of "
                     "host.docker.internal.")
    return _item("server.hosts", title, Status.PASS, f"The container gets the host entries {entries}.")


def check_files(spec: LaunchSpec) -> CheckResult:
    from wizard.launcher.files import check_sources

    title = "Files for the server"
    problems = check_sources(spec.mounts)
    if problems:
        return _item("server.files", title, Status.FAIL, " ".join(problems),
                     "Correct the path on its step: the server gets a copy readable by its user (UID 999).")
    names = ", ".join(f"{mount.source} -> {mount.target}" for mount in spec.mounts)
    return _item("server.files", title, Status.PASS, f"Given to the server read-only (a copy its user, UID 999, "
                 f"can read): {names}.")


def run_preflight(spec: LaunchSpec, minimums: Minimums = Minimums(),
                  base_url: str | None = None) -> Iterator[CheckResult]:
    """Yield the preflight items one by one (each takes milliseconds, the engine check up to its timeout)."""
    engine_item, client = check_engine(base_url)
    yield engine_item
    info = None
    if client is not None:
        yield check_versions(client)
        info = client.info()
    else:
        yield _item("docker.version", "Docker Engine version", Status.SKIPPED, "Needs Docker Engine.")
    local_engine = engine_address(base_url).startswith("unix://")
    yield check_architecture(info)
    yield check_cpus(info, minimums)
    yield check_memory(info, minimums)
    yield check_disk(info, spec, minimums, local_engine)
    yield check_port(spec, client)
    if client is not None:
        yield check_existing_container(spec, client)
    else:
        yield _item("existing.container", "Existing container", Status.SKIPPED, "Needs Docker Engine.")
    yield check_existing_volume(spec, client)
    if spec.mounts:
        yield check_files(spec)
    if spec.extra_hosts and client is not None:
        yield check_host_gateway(spec, client)
    if client is not None:
        client.close()


def preflight_report(spec: LaunchSpec) -> StepReport:
    """This machine's preflight for a launch as a report's step (what `check`, `apply` and `doctor` print)."""
    from wizard.report import PREFLIGHT, StepReport

    return StepReport(PREFLIGHT, list(run_preflight(spec)))
