"""A support bundle: the facts support asks for after launch, in one `.tar.gz` (0600), redacted.

It holds the versions (wizard, Python, Docker Engine, the image), this machine's facts, the preflight and every
step's check report, the session's settings and the container's environment (masked), the container's inspect
output, the last lines of the server's log and of Docker's events for it, and a README.txt that says what each
file is and what was redacted. What cannot be had (Docker Engine not reachable, no container) is said there.

Redaction is one mechanism for every file (`Redactor`): each known secret of the session, with its URL-encoded and
base64 forms, and what looks like a secret in a log (JWTs and license tokens, `user:password@` in URLs, AWS keys,
`Authorization:` values, PEM private keys, `password=...`).
"""

from __future__ import annotations

import base64
import io
import json
import os
import platform
import re
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable
from urllib.parse import quote

from wizard.text import MASK

if TYPE_CHECKING:
    from wizard.config import InstallConfig
    from wizard.launcher.spec import LaunchSpec
    from wizard.report import StepReport

LOG_LINES = 2000  # of the server's log and of Docker's events
EVENTS_SINCE = 7 * 86400  # seconds of Docker events looked at

# What looks like a secret in a log, whoever wrote it (each with what replaces the match).
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.S),
     rf"-----BEGIN \1PRIVATE KEY----- {MASK} -----END \1PRIVATE KEY-----"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), MASK),  # JWTs, W&B licenses
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s@/]+@"), rf"\1{MASK}@"),  # user:password@ in URLs
    (re.compile(r"(?i)(\bauthorization\b[\"']?\s*[:=]\s*[\"']?)(?:(basic|bearer|token)\s+)?[^\s\"',;]+"),
     rf"\1\2 {MASK}"),
    (re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16}\b"), MASK),  # AWS access key ids
    # A value given to a secret-looking name (not JSON's true/false/null: the bundle's JSON files stay valid).
    (re.compile(r"(?i)(\b(?:aws_secret_access_key|secret_?access_?key|account_?key|client_?secret|password|passwd"
                r"|secret|token|api_?key)\b[\"']?\s*[:=]\s*[\"']?)(?!(?:true|false|null)\b)[^\s\"',;&]+"),
     rf"\1{MASK}"),
)


def secret_forms(secret: str) -> set[str]:
    """A secret as it may appear elsewhere: itself, URL-encoded, base64 (standard and URL-safe, padded or not)."""
    raw = secret.encode()
    forms = {secret, quote(secret, safe=""), quote(secret)}
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        forms.update({encoded, encoded.rstrip("=")})
    return {form for form in forms if len(form) >= 4}


@dataclass(frozen=True)
class Redactor:
    secrets: tuple[str, ...]  # every form of every known secret, longest first

    @classmethod
    def for_secrets(cls, secrets: Iterable[str]) -> Redactor:
        forms = set().union(*(secret_forms(s) for s in secrets if s)) if secrets else set()
        return cls(tuple(sorted(forms, key=len, reverse=True)))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        for pattern, replacement in PATTERNS:
            text = pattern.sub(replacement, text)
        return text


def known_secrets(cfg: InstallConfig) -> list[str]:
    """Every secret the configuration holds: each secret field, and what the container gets as secret."""
    from pydantic import BaseModel, SecretStr

    from wizard.launcher.spec import secret_values
    from wizard.render import container_inputs

    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(cfg)
    inputs = container_inputs(cfg)
    found += [item.value for item in inputs.env if item.secret]
    found += secret_values(inputs.environment(), inputs.secret_names)
    return [value for value in found if value]


@dataclass
class Bundle:
    redactor: Redactor
    files: dict[str, bytes] = field(default_factory=dict)  # name in the bundle -> redacted content
    said: dict[str, str] = field(default_factory=dict)  # name -> what it is (README.txt)
    missing: list[str] = field(default_factory=list)  # what could not be had, and why

    def add(self, name: str, text: str, what: str) -> None:
        self.files[name] = self.redactor(text).encode("utf-8")
        self.said[name] = what

    def add_json(self, name: str, data: Any, what: str) -> None:
        self.add(name, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", what)

    def archive(self) -> bytes:
        """The .tar.gz: every member 0600, owned by root:root, dated now."""
        buffer = io.BytesIO()
        now = time.time()
        with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
            for name, data in self.files.items():
                info = tarfile.TarInfo(f"wandb-local-support/{name}")
                info.size, info.mode, info.mtime = len(data), 0o600, now
                tar.addfile(info, io.BytesIO(data))
        return buffer.getvalue()


def _host_facts(paths: dict[str, str]) -> dict[str, Any]:
    import shutil

    facts: dict[str, Any] = {"os": platform.platform(), "kernel": platform.release(),
                             "architecture": platform.machine(), "cpus": os.cpu_count()}
    try:
        release = dict(line.split("=", 1) for line in open("/etc/os-release", encoding="utf-8").read().splitlines()
                       if "=" in line)
        facts["distribution"] = release.get("PRETTY_NAME", "").strip('"')
    except OSError:
        pass
    try:
        meminfo = dict(line.split(":", 1) for line in open("/proc/meminfo", encoding="utf-8"))
        facts["memory_total"] = meminfo["MemTotal"].strip()
        facts["memory_available"] = meminfo.get("MemAvailable", "").strip()
    except (OSError, KeyError, ValueError):
        pass
    for label, path in paths.items():
        try:
            usage = shutil.disk_usage(path)
            facts[f"disk_free_{label}"] = {"path": path, "free_gb": round(usage.free / 1e9, 1),
                                           "total_gb": round(usage.total / 1e9, 1)}
        except OSError as exc:
            facts[f"disk_free_{label}"] = {"path": path, "error": exc.strerror or str(exc)}
    return facts


def _masked_attrs(attrs: dict[str, Any], secret_names: frozenset[str]) -> dict[str, Any]:
    from wizard.launcher.spec import masked_environment

    shown = json.loads(json.dumps(attrs, default=str))
    config = shown.get("Config") or {}
    env = dict(item.partition("=")[::2] for item in config.get("Env") or [])
    config["Env"] = [f"{name}={value}" for name, value in masked_environment(env, secret_names).items()]
    return shown


def _docker_parts(bundle: Bundle, spec: LaunchSpec, versions: dict[str, Any]) -> dict[str, str]:
    """The Docker Engine's and the container's parts; the disk paths to look at. What fails is said, not fatal."""
    from wizard.launcher import LauncherError, connect
    from wizard.launcher.errors import docker_error_text
    from wizard.launcher.existing import get_container

    paths: dict[str, str] = {}
    if spec.volume_is_bind:
        paths["volume"] = spec.volume
    try:
        client = connect()
        engine = client.version()
        info = client.info()
    except LauncherError as exc:
        bundle.missing.append(f"Docker Engine: not reachable ({exc.message}): no container, log or events.")
        return paths
    versions["docker_engine"] = {"version": engine.get("Version"), "api": engine.get("ApiVersion"),
                                 "os": engine.get("Os"), "arch": engine.get("Arch")}
    paths["docker_root"] = info.get("DockerRootDir", "/var/lib/docker")
    try:
        container = get_container(client, spec.container_name)
    except Exception as exc:  # the engine went away meanwhile
        bundle.missing.append(f"The container {spec.container_name}: {docker_error_text(exc)}")
        return paths
    if container is None:
        bundle.missing.append(f"No container named {spec.container_name}: nothing was launched yet (or it was "
                              "removed), so there is no inspect output, log or events.")
        return paths
    attrs = container.attrs
    for mount in attrs.get("Mounts") or []:
        if mount.get("Destination") == "/vol" and mount.get("Source") and "volume" not in paths:
            paths["volume"] = mount["Source"]
    try:
        image = client.images.get(attrs.get("Image", ""))
        versions["image"] = {"reference": attrs.get("Config", {}).get("Image"), "id": image.id,
                             "tags": image.tags, "digests": image.attrs.get("RepoDigests", [])}
    except Exception as exc:
        versions["image"] = {"reference": attrs.get("Config", {}).get("Image"), "error": docker_error_text(exc)}
    bundle.add_json("container/inspect.json", _masked_attrs(attrs, spec.secret_names),
                    f"`docker inspect {spec.container_name}`, its environment masked")
    logs = container.logs(tail=LOG_LINES, timestamps=True).decode("utf-8", "replace")
    bundle.add("container/server.log", logs, f"the last {LOG_LINES} lines of the server's log (stdout and stderr)")
    now = int(time.time())
    events = client.events(since=now - EVENTS_SINCE, until=now, filters={"container": container.id}, decode=True)
    lines = [json.dumps(event, default=str) for event in events][-LOG_LINES:]
    bundle.add("container/docker-events.log", "\n".join(lines) + ("\n" if lines else ""),
               f"Docker's events for the container over the last {EVENTS_SINCE // 86400} days (at most "
               f"{LOG_LINES}), one JSON object per line")
    return paths


def collect(cfg: InstallConfig, spec: LaunchSpec, session: dict[str, Any], reports: list[StepReport]) -> Bundle:
    """Everything the bundle holds, redacted. `session`: the session's name, values and last launch."""
    from wizard import __version__
    from wizard.launcher.spec import masked_environment
    from wizard.report import as_json

    bundle = Bundle(Redactor.for_secrets(known_secrets(cfg)))
    versions: dict[str, Any] = {"wandb_local_setup": __version__, "python": sys.version.split()[0],
                                "platform": platform.platform()}
    paths = _docker_parts(bundle, spec, versions)
    bundle.add_json("versions.json", versions, "versions: the wizard, Python, Docker Engine and API, the image "
                                               "(tag, id, digests)")
    bundle.add_json("host.json", _host_facts(paths), "this machine: OS, CPUs, memory, architecture, free disk on "
                                                     "Docker's data root and on the data volume")
    bundle.add("checks.json", as_json(reports), "the preflight and every step's live checks, as "
                                                "`wandb-local-setup check --json` reports them")
    bundle.add_json("session.json", {**session, "environment": masked_environment(spec.environment,
                                                                                  spec.secret_names)},
                    "the session's settings (secrets are never in them) and the server's environment, masked")
    bundle.add("README.txt", readme(bundle, reports, session), "this file")
    return bundle


def bundle_for(cfg: InstallConfig, spec: LaunchSpec, session: dict[str, Any], **check_options: Any) -> Bundle:
    """`collect` after running every step's checks (`check_options` go to check_all: timeout, ca_file, insecure,
    progress) and the preflight. Blocking: for a command or a worker thread."""
    from wizard.checks.all_steps import check_all
    from wizard.checks.engine import run_blocking
    from wizard.launcher import preflight_report

    reports = run_blocking(check_all(cfg, **check_options))
    reports.append(preflight_report(spec))
    return collect(cfg, spec, session, reports)


def default_path(folder: str | os.PathLike[str] = ".") -> Path:
    return Path(folder) / time.strftime("wandb-local-support-%Y%m%dT%H%M%SZ.tar.gz", time.gmtime())


def write(bundle: Bundle, out: Path) -> int:
    """The bundle at `out` (a regular file or a new path), 0600, atomically; returns its size in bytes."""
    from wizard.atomic import atomic_write
    from wizard.exports import check_destination

    check_destination(out)
    data = bundle.archive()
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, data, mode=0o600)
    return len(data)


def readme(bundle: Bundle, reports: list[StepReport], session: dict[str, Any]) -> str:
    from wizard.checks.engine import Status

    failing = [f"{report.step}: {result.title}: {result.message}" for report in reports for result in report.results
               if result.status in (Status.FAIL, Status.ERROR)]
    last = session.get("last_launch") or {}
    lines = ["W&B Local Server support bundle, written by wandb-local-setup " + time.strftime("%Y-%m-%d %H:%M UTC",
                                                                                              time.gmtime()), ""]
    if last:
        lines.append(f"Last launch: {last.get('action', '?')} {'succeeded' if last.get('ok') else 'FAILED'} at "
                     f"{last.get('at', '?')}: {last.get('message', '')}")
    lines.append(f"Failing checks ({len(failing)})" + (":" if failing else ": none."))
    lines += [f"  - {line}" for line in failing]
    lines += ["", "Files:"]
    lines += [f"  {name}: {what}" for name, what in {**bundle.said, "README.txt": "this file"}.items()]
    if bundle.missing:
        lines += ["", "Not in this bundle:"] + [f"  - {line}" for line in bundle.missing]
    lines += ["", "Redacted everywhere: the session's secrets (license, passwords, keys, client secrets, secret extra "
              "options) in their plain, URL-encoded and base64 forms, and what looks like a secret in a log: JWTs "
              "and license tokens, user:password@ in URLs, AWS access keys, Authorization values, PEM private keys, "
              f"values given to a password, secret or token. Each is shown as {MASK}.", ""]
    return "\n".join(lines)
