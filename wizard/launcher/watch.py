"""Watch a starting server: stream its logs, probe /ready until HTTP 200, notice when it exits or takes too long."""

from __future__ import annotations

import queue
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable

from wizard.launcher.events import EventCallback, LogLine, MarkerSeen, ReadyProbe, emit
from wizard.launcher.spec import LaunchSpec, secret_values
from wizard.text import printable, redact

# Start-up milestones printed by wandb/local, in order.
MARKERS = ("*** Migrating database", "*** All services started", "*** Access W&B at")
DEFAULT_READY_TIMEOUT = 600.0  # first start migrates the database: minutes on a small machine
DEFAULT_POLL_INTERVAL = 1.0
LAST_LINES = 50


@dataclass(frozen=True)
class WatchResult:
    ready: bool
    outcome: str  # "ready", "exited", "timeout", "cancelled", "gone"
    elapsed: float  # seconds from the start of the watch
    markers: tuple[str, ...]  # the MARKERS seen, in order
    exit_code: int | None
    last_logs: tuple[str, ...]  # the last lines of the container's output (secrets of the spec masked), literal
    message: str
    hint: str = ""


def http_status(url: str, timeout: float = 3.0) -> tuple[int | None, str]:
    """(status, detail) of a GET; status None when nothing answered. Never through a proxy from the environment:
    the probes are about this machine's own view (a proxy would answer for the server, or not at all)."""
    import http.client
    import socket
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.reason if isinstance(exc.reason, str) else ""
    except urllib.error.URLError as exc:
        reason = exc.reason
        return None, str(reason.strerror if isinstance(reason, OSError) and reason.strerror else reason)
    except (http.client.HTTPException, ConnectionError, socket.timeout, OSError) as exc:
        return None, type(exc).__name__ if not str(exc) else str(exc)


def ready_url(spec: LaunchSpec, path: str = "/ready") -> str:
    address = spec.probe_address
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{spec.port}{path}"


class _LogFollower:
    """Reads the container's output in a thread and hands complete lines to the watcher through a queue."""

    def __init__(self, container: Any) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self._stream = container.logs(stream=True, follow=True, stdout=True, stderr=True)
        self._thread = threading.Thread(target=self._run, name="launcher-logs", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pending = b""
        try:
            for chunk in self._stream:
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for raw in complete:
                    self.lines.put(raw.decode("utf-8", errors="replace").rstrip("\r"))
        except Exception:  # the stream closes when the container is removed or when we stop following
            pass
        if pending:
            self.lines.put(pending.decode("utf-8", errors="replace").rstrip("\r"))

    def stop(self) -> None:
        try:
            self._stream.close()
        except Exception:
            pass
        self._thread.join(timeout=2)


def tail_logs(container: Any, lines: int = LAST_LINES, secrets: Iterable[str] = ()) -> tuple[str, ...]:
    from docker.errors import APIError, NotFound

    try:
        raw = container.logs(stdout=True, stderr=True, tail=lines)
    except (NotFound, APIError):
        return ()
    secrets = list(secrets)
    text = raw.decode("utf-8", errors="replace")
    return tuple(redact(line.rstrip("\r"), secrets) for line in text.splitlines())


def _state(container: Any) -> dict:
    from docker.errors import NotFound

    try:
        container.reload()
    except NotFound:
        return {"Status": "gone"}
    return container.attrs.get("State", {})


def _last_exit_code(container: Any) -> int | None:
    """The exit code of the container's last stop, from Docker's events (a restart resets State.ExitCode)."""
    import datetime

    created = container.attrs.get("Created", "")[:19]
    try:
        since = int(datetime.datetime.fromisoformat(created).replace(tzinfo=datetime.timezone.utc).timestamp())
        until = int(time.time()) + 1
        events = container.client.events(since=since, until=until, decode=True,
                                         filters={"container": container.id, "event": "die"})
        codes = [event.get("Actor", {}).get("Attributes", {}).get("exitCode") for event in events]
    except Exception:  # events are a nicety here: without them the code is unknown
        return None
    known = [int(code) for code in codes if code is not None and str(code).lstrip("-").isdigit()]
    return known[-1] if known else None


def wait_until_ready(
    container: Any,
    spec: LaunchSpec,
    *,
    timeout: float = DEFAULT_READY_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    on_event: EventCallback | None = None,
    cancel: threading.Event | None = None,
) -> WatchResult:
    """Probe /ready until 200 while streaming the logs (LogLine, MarkerSeen, ReadyProbe events, in this thread)."""
    secrets = secret_values(spec.environment, spec.secret_names)
    cancel = cancel or threading.Event()
    started = time.monotonic()
    follower = _LogFollower(container)
    markers: list[str] = []
    url = ready_url(spec)
    outcome, exit_code, detail = "timeout", None, ""

    def drain() -> None:
        while True:
            try:
                line = follower.lines.get_nowait()
            except queue.Empty:
                return
            line = redact(line, secrets)
            emit(on_event, LogLine(line))
            stripped = line.strip()
            for marker in MARKERS:
                if marker in stripped and marker not in markers:
                    markers.append(marker)
                    emit(on_event, MarkerSeen(marker, line, time.monotonic() - started))

    try:
        while True:
            drain()
            elapsed = time.monotonic() - started
            status, detail = http_status(url, timeout=min(3.0, max(poll_interval, 0.5)))
            emit(on_event, ReadyProbe(elapsed, status, detail))
            if status == 200:
                outcome = "ready"
                break
            state = _state(container)
            if state.get("Status") == "gone":
                outcome = "gone"
                break
            if state.get("Status") in ("exited", "dead") or state.get("Restarting") or (
                    container.attrs.get("RestartCount", 0) > 0):
                outcome, exit_code = "exited", state.get("ExitCode")
                if state.get("Status") == "running":  # restarted already: the state no longer holds the exit code
                    exit_code = _last_exit_code(container)
                detail = "killed for lack of memory" if state.get("OOMKilled") else state.get("Error", "")
                break
            if elapsed >= timeout:
                break
            if cancel.wait(poll_interval):
                outcome = "cancelled"
                break
    finally:
        follower.stop()
        drain()
    elapsed = time.monotonic() - started
    last = () if outcome == "ready" else tail_logs(container, LAST_LINES, secrets)
    message, hint = _explain(outcome, spec, elapsed, timeout, exit_code, detail)
    named = dependency_problems(last)
    if named:
        hint = ("The log names a problem with " + "; ".join(f"{step} ({line})" for step, line in named.items())
                + ": correct it on that step, check it again (ctrl+r, or `wandb-local-setup check`), then launch "
                  "again. " + hint)
    return WatchResult(outcome == "ready", outcome, elapsed, tuple(markers), exit_code, last, message, hint)


# A log line about a dependency: the step that configures it, and words that tie the line to it.
_DEPENDENCIES = (
    ("Database", re.compile(r"\bmysql\b|MYSQL", re.IGNORECASE)),
    ("Cache", re.compile(r"\bredis\b", re.IGNORECASE)),
    ("File storage", re.compile(r"\bBUCKET\b|\bs3\b|gs://|\bgcs\b|\bazure\b|GOOGLE_APPLICATION_CREDENTIALS|"
                                r"AWS_(ACCESS|SECRET)", re.IGNORECASE)),
    ("SSO", re.compile(r"\boidc\b|\bissuer\b", re.IGNORECASE)),
    ("License", re.compile(r"\blicen[sc]e\b", re.IGNORECASE)),
)
_TROUBLE = re.compile(r"error|fail|refused|denied|timed? ?out|cannot|unable|no such host|x509|unreachable|"
                      r"not readable|does not (resolve|exist)", re.IGNORECASE)


def dependency_problems(lines: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Step title -> the first log line that reports trouble with what the step configures (already redacted)."""
    found: dict[str, str] = {}
    for line in lines:
        if not _TROUBLE.search(line):
            continue
        for step, words in _DEPENDENCIES:
            if step not in found and words.search(line):
                found[step] = printable(line.strip(), 160)
                break
    return found


def _explain(outcome: str, spec: LaunchSpec, elapsed: float, timeout: float, exit_code: int | None,
             detail: str) -> tuple[str, str]:
    name = spec.container_name
    if outcome == "ready":
        return f"W&B is ready ({elapsed:.1f} s).", ""
    if outcome == "cancelled":
        return ("Waiting was cancelled; the server keeps starting in the background.",
                f"Follow it with `docker logs -f {name}`; it is ready when {ready_url(spec)} answers.")
    if outcome == "gone":
        return (f"The container {name} was removed while it was starting.",
                "Something else removed it (another tool or person): launch again.")
    if outcome == "exited":
        why = f" ({detail})" if detail else ""
        code = f" with exit code {exit_code}" if exit_code is not None else ""
        memory = (" The machine ran out of memory: W&B needs about 8 GB." if "memory" in detail else "")
        return (f"The server stopped during start-up{code}{why}, after {elapsed:.0f} s.{memory}",
                "Its last log lines are below and usually name the cause. Common ones: /vol not writable by "
                f"UID 999 (`sudo chown -R 999:0 PATH`), a malformed LICENSE, an unreachable MYSQL, REDIS or "
                f"BUCKET. Fix that setting and launch again; `docker logs {name}` shows the whole output.")
    return (f"The server did not become ready within {timeout:.0f} s.",
            f"A first start migrates the database and can take several minutes on a small machine: follow "
            f"`docker logs -f {name}` and launch again with a longer wait if it is still progressing. If the log "
            "lines below show errors, fix the setting they name.")
