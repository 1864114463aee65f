"""What the launch step does: launch, reconfigure, upgrade, recover access, destroy.

Every replacement keeps the data volume and goes: new image ready → old container renamed `<name>-previous-<time>`
and stopped → new container created and started → ready? remove the old one : remove the new one and restore the
old (renamed back, started). The volume is removed only by `destroy`, with its name typed exactly.

These are blocking functions meant for a worker thread; progress goes to `on_event` in that same thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from wizard.launcher.after_ready import AfterReady, after_ready
from wizard.launcher.credentials import TemporaryCredentials, find_credentials
from wizard.launcher.engine import connect, engine_errors
from wizard.launcher.errors import ConfirmationMismatch, LauncherError, OperationFailed, docker_error_text
from wizard.launcher.events import EventCallback, Step, emit
from wizard.launcher.existing import describe_container, get_container, is_ours, previous_containers
from wizard import relaunch_journal as journal
from wizard.launcher.image import check_for_update, ensure_image
from wizard.launcher.run import conflict_error, create_container, remove_quietly, start_container
from wizard.launcher.spec import LaunchSpec, secret_values
from wizard.launcher.volume import prepare_volume
from wizard.launcher.watch import DEFAULT_POLL_INTERVAL, DEFAULT_READY_TIMEOUT, WatchResult, ready_url, wait_until_ready
from wizard.text import redact

DEFAULT_STOP_TIMEOUT = 60  # seconds Docker waits for the server to shut down (MySQL flushes) before killing it
RESTORE_VARIABLE = "LOCAL_RESTORE"
_RECOVERY = threading.Lock()


@dataclass(frozen=True)
class Options:
    """How long to wait and how often to look; tests shorten them."""

    ready_timeout: float = DEFAULT_READY_TIMEOUT
    poll_interval: float = DEFAULT_POLL_INTERVAL
    stop_timeout: int = DEFAULT_STOP_TIMEOUT
    after_timeout: float = 5.0
    ca_file: str | None = None  # a CA bundle to trust for HOST's certificate (a proxy's private CA)


@dataclass(frozen=True)
class LaunchResult:
    ok: bool
    action: str  # "launch", "reconfigure", "upgrade", "unchanged"
    container_name: str
    container_id: str | None
    image_id: str | None
    watch: WatchResult | None
    after: AfterReady | None  # liveness, HOST reachability, next steps (when ready)
    previous_name: str | None = None  # the old container while it was set aside
    restored_previous: bool = False  # the new server failed and the old one was put back
    message: str = ""
    hint: str = ""

    @property
    def last_logs(self) -> tuple[str, ...]:
        return self.watch.last_logs if self.watch else ()


@dataclass(frozen=True)
class RecoveryResult:
    launch: LaunchResult
    credentials: TemporaryCredentials | None
    message: str
    hint: str = ""


@dataclass(frozen=True)
class DestroyResult:
    removed_containers: tuple[str, ...]
    removed_volume: str | None
    kept_path: str | None  # a bind path is never deleted by the wizard
    message: str


def _client(client: Any, base_url: str | None) -> Any:
    return client if client is not None else connect(base_url)


def _finish(spec: LaunchSpec, container: Any, watch: WatchResult, action: str, options: Options) -> LaunchResult:
    after = after_ready(spec, options.after_timeout, options.ca_file) if watch.ready else None
    return LaunchResult(
        ok=watch.ready, action=action, container_name=spec.container_name, container_id=container.id,
        image_id=container.attrs.get("Image"), watch=watch, after=after, message=watch.message, hint=watch.hint,
    )


@engine_errors
def launch(spec: LaunchSpec, *, client: Any = None, base_url: str | None = None,
           on_event: EventCallback | None = None, options: Options = Options(),
           cancel: threading.Event | None = None, pull: str = "missing") -> LaunchResult:
    """Start the server for `spec`. If this wizard's container already exists, this is `reconfigure`."""
    client = _client(client, base_url)
    finish_interrupted(client, spec, on_event)
    existing = get_container(client, spec.container_name)
    if existing is not None:
        if not is_ours(existing, spec):
            raise conflict_error(client, spec.container_name)
        return _replace(client, spec, existing, "reconfigure", on_event, options, cancel, pull)
    ensure_image(client, spec, on_event, pull=pull)
    prepare_volume(client, spec, on_event)
    container = create_container(client, spec, on_event)
    start_container(client, container, spec, on_event)
    emit(on_event, Step("wait", f"Waiting for {spec.container_name} to answer /ready"))
    watch = wait_until_ready(container, spec, timeout=options.ready_timeout, poll_interval=options.poll_interval,
                             on_event=on_event, cancel=cancel)
    if watch.outcome == "exited":
        # Stop a crash loop (restart policy); keep the container for `docker logs`.
        _stop_quietly(container, 5)
    container.reload()
    return _finish(spec, container, watch, "launch", options)


@engine_errors
def reconfigure(spec: LaunchSpec, *, client: Any = None, base_url: str | None = None,
                on_event: EventCallback | None = None, options: Options = Options(),
                cancel: threading.Event | None = None) -> LaunchResult:
    """Recreate the container with `spec` (new environment, same volume); the old one comes back on failure."""
    client = _client(client, base_url)
    finish_interrupted(client, spec, on_event)
    existing = get_container(client, spec.container_name)
    if existing is None:
        return launch(spec, client=client, on_event=on_event, options=options, cancel=cancel)
    if not is_ours(existing, spec):
        raise conflict_error(client, spec.container_name)
    return _replace(client, spec, existing, "reconfigure", on_event, options, cancel, "missing")


@engine_errors
def upgrade(spec: LaunchSpec, *, client: Any = None, base_url: str | None = None,
            on_event: EventCallback | None = None, options: Options = Options(),
            cancel: threading.Event | None = None) -> LaunchResult:
    """Pull the newest image for the spec's tag; if the container runs another image, recreate it (with rollback)."""
    client = _client(client, base_url)
    finish_interrupted(client, spec, on_event)
    existing = get_container(client, spec.container_name)
    if existing is not None and not is_ours(existing, spec):
        raise conflict_error(client, spec.container_name)
    emit(on_event, Step("image", f"Asking the registry for the current digest of {spec.image_ref}"))
    update = check_for_update(client, spec)
    pull = "always" if update.update_available else "missing"
    if existing is None:
        return launch(spec, client=client, on_event=on_event, options=options, cancel=cancel, pull=pull)
    if update.running_newest:
        return LaunchResult(
            ok=True, action="unchanged", container_name=spec.container_name, container_id=existing.id,
            image_id=update.running_image_id, watch=None, after=None,
            message=f"{spec.container_name} already runs the newest {spec.image_ref} "
                    f"({update.registry_digest[:19]}).",
        )
    if update.update_available:
        emit(on_event, Step("image", f"The registry has a newer {spec.image_ref} ({update.registry_digest[:19]})"))
    return _replace(client, spec, existing, "upgrade", on_event, options, cancel, pull)


def _stop_quietly(container: Any, timeout: int) -> None:
    from docker.errors import APIError

    try:
        container.stop(timeout=timeout)
    except APIError:
        pass


def _set_restart_policy(container: Any, policy: str) -> None:
    from docker.errors import APIError

    try:
        container.update(restart_policy={"Name": policy})
    except APIError:
        pass  # an old engine may refuse; the container is stopped anyway


def _replace(client: Any, spec: LaunchSpec, old: Any, action: str, on_event: EventCallback | None,
             options: Options, cancel: threading.Event | None, pull: str) -> LaunchResult:
    old_info = describe_container(old, spec.secret_names)
    if old_info.data_mount and old_info.data_mount != spec.volume:
        emit(on_event, Step("volume", f"Note: /vol changes from {old_info.data_mount} to {spec.volume}; the old "
                                      f"data stays in {old_info.data_mount}"))
    # Everything that can be done with the old server still running comes first (the pull can take minutes).
    ensure_image(client, spec, on_event, pull=pull)
    prepare_volume(client, spec, on_event)
    previous_name = f"{spec.container_name}-previous-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    entry = journal.Entry(container=spec.container_name, old_id=old.id, previous_name=previous_name,
                          restart_policy=old_info.restart_policy, was_running=old_info.running,
                          ready_url=ready_url(spec), step="rename")
    emit(on_event, Step("rename", f"Setting the running server aside as {previous_name}"))
    new = None
    ready = False
    try:  # from here on, any interruption (Ctrl-C, SIGTERM, SIGHUP) ends with one server running
        journal.record(entry)  # before each change: a SIGKILL from here on is finished or undone at the next start
        try:
            old.rename(previous_name)
        except Exception as exc:
            raise OperationFailed(f"{spec.container_name} could not be renamed: {docker_error_text(exc)}",
                                  "Nothing was changed. Try again; `docker ps -a` shows the container.") from None
        _set_restart_policy(old, "no")  # a daemon restart must not bring it back on the same port meanwhile
        emit(on_event, Step("stop", f"Stopping {previous_name} (up to {options.stop_timeout} s)"))
        entry = entry.at("stop")
        _stop_quietly(old, options.stop_timeout)
        entry = entry.at("create")
        new = create_container(client, spec, on_event)
        start_container(client, new, spec, on_event)  # removes `new` itself when it cannot start
        emit(on_event, Step("wait", f"Waiting for the new {spec.container_name} to answer /ready"))
        entry = entry.at("wait")
        watch = wait_until_ready(new, spec, timeout=options.ready_timeout, poll_interval=options.poll_interval,
                                 on_event=on_event, cancel=cancel)
        if watch.ready:
            ready = True
            emit(on_event, Step("cleanup", f"Removing the previous container {previous_name} (the volume stays)"))
            _clean_up(old, entry)
            new.reload()
            return _finish(spec, new, watch, action, options)
        remove_quietly(new)
        restored = _restore(client, old, entry, spec, on_event)
    except BaseException as exc:  # a refusal, an interruption: the old server comes back (or the new one stays)
        if ready:
            _clean_up(old, entry)  # the new server answered: it stays
            raise
        if new is not None:
            remove_quietly(new)
        _restore(client, old, entry, spec, on_event)
        if isinstance(exc, LauncherError):
            exc.hint = (exc.hint + " " if exc.hint else "") + f"The previous {spec.container_name} was restored."
        raise
    hint = watch.hint + (f" The previous {spec.container_name} was restored and keeps serving." if restored else "")
    return LaunchResult(
        ok=False, action=action, container_name=spec.container_name, container_id=old.id,
        image_id=old_info.image_id, watch=watch, after=None, previous_name=previous_name,
        restored_previous=restored, message=watch.message, hint=hint,
    )


def _clean_up(old: Any, entry: journal.Entry) -> None:
    """The new server answered /ready: the old one goes (its volume stays)."""
    with _signals_held():
        entry.at("cleanup")
        remove_quietly(old)
        journal.clear(entry.container)


def _restore(client: Any, old: Any, entry: journal.Entry, spec: LaunchSpec, on_event: EventCallback | None) -> bool:
    with _signals_held():
        emit(on_event, Step("restore", f"Restoring the previous {spec.container_name}"))
        try:
            entry.at("restore")
        except OSError:
            pass  # the journal could not be written (the disk is full?): putting the server back matters more
        try:
            _put_back(client, old, spec.container_name, entry.restart_policy, start=entry.was_running)
        except Exception as exc:  # the entry stays: the next start tries again
            emit(on_event, Step("restore", f"The previous container could not be restored "
                                           f"({docker_error_text(exc)}): run `docker rename {old.name} "
                                           f"{spec.container_name}` and `docker start {spec.container_name}`"))
            return False
        journal.clear(spec.container_name)
        return True


@contextmanager
def _signals_held() -> Iterator[None]:
    """Putting the old server back is not cut short by Ctrl-C, SIGTERM or SIGHUP: in the main thread (where Python
    runs signal handlers) they wait until it is back, then end the command as they would have. SIGKILL cannot
    wait: the journal is for that."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _put_back(client: Any, old: Any, name: str, restart_policy: str, start: bool) -> None:
    """`old` under `name` again (removing a container of ours that took the name), with its restart policy."""
    from docker.errors import APIError

    old.reload()
    for attempt in range(3):  # a create interrupted in flight can still reach the engine a moment later
        leftover = get_container(client, name)
        if leftover is not None and leftover.id != old.id:
            remove_quietly(leftover)
        if old.name == name:
            break
        try:
            old.rename(name)
            break
        except APIError:
            if attempt == 2:
                raise
            time.sleep(0.5)
    _set_restart_policy(old, restart_policy)
    if start:
        old.start()


def finish_interrupted(client: Any, spec: LaunchSpec, on_event: EventCallback | None = None) -> str:
    """Finish or undo a replacement of `spec`'s server that was cut short (the wizard killed, the machine rebooted).
    Says what it did ("" when there was nothing to do)."""
    done = _finish_replacement(client, spec.container_name, ready_url(spec), spec.restart_policy)
    if done:
        emit(on_event, Step("recover", done))
    return done


@engine_errors
def finish_pending(*, client: Any = None, base_url: str | None = None) -> list[str]:
    """What the TUI does when it opens: every replacement the journal holds as unfinished is finished or undone.
    Says what it did, one sentence per server (no Docker call when the journal is empty)."""
    entries = journal.pending()
    if not entries:
        return []
    client = _client(client, base_url)
    said = []
    for entry in entries:
        try:
            said.append(_finish_replacement(client, entry.container, entry.ready_url, entry.restart_policy))
        except LauncherError:
            raise  # the engine went away: said as for any operation
        except Exception as exc:  # the entry stays: the next start (or Launch) tries again
            said.append(f"An interrupted relaunch of {entry.container} could not be finished "
                        f"({docker_error_text(exc)}): `docker ps -a --filter name={entry.container}` shows what is "
                        "there; Launch puts it right.")
    return [s for s in said if s]


def _finish_replacement(client: Any, name: str, ready: str, restart_policy: str) -> str:
    with _RECOVERY:  # the TUI's start and a Launch at once: one of them does it, the other finds it done
        return _finish_locked(client, name, ready, restart_policy)


def _finish_locked(client: Any, name: str, ready: str, restart_policy: str) -> str:
    """The old server (the journal's, else the newest `<name>-previous-<time>`) comes back under its name, unless the
    new one got ready (the journal reached the cleanup) or answers /ready now: then only the cleanup was missing."""
    from docker.errors import NotFound

    from wizard.launcher.watch import http_status

    entry = journal.read(name)
    previous = sorted(previous_containers(client, name), key=lambda c: c.name, reverse=True)
    old = None
    if entry is not None:
        try:
            old = client.containers.get(entry.old_id)
        except NotFound:
            pass
        restart_policy = entry.restart_policy
    if old is None and not previous:
        journal.clear(name)  # nothing on this engine to put back: the replacement had finished
        return ""
    old = old or previous[0]
    current = get_container(client, name)
    if current is not None and current.id == old.id:
        current = None  # the old server has its name back already: a restore cut short
    elif current is not None and not describe_container(current).managed:
        return ""  # not ours: the preflight says so, nothing is touched
    aside = [c for c in previous if c.id != old.id] + [old]
    untouched = entry is not None and old.name == name and (old.status == "running") == entry.was_running
    if current is None and untouched and len(aside) == 1:
        journal.clear(name)  # cut short before anything changed, or after everything was put back
        return ""
    got_ready = current is not None and entry is not None and entry.step == "cleanup"
    if current is not None and (got_ready or current.status == "running" and http_status(ready, 2.0)[0] == 200):
        for leftover in aside:
            remove_quietly(leftover)
        if current.status != "running":
            current.start()
        done = (f"An interrupted relaunch had replaced {name} already: removed what it had set aside "
                f"({', '.join(c.name for c in aside)}).")
    else:
        if current is not None:
            remove_quietly(current)  # the new server that never got ready
        start = entry.was_running if entry is not None else True
        was = old.name
        _put_back(client, old, name, restart_policy, start=start)
        for leftover in aside[:-1]:
            remove_quietly(leftover)
        state = "running" if start else "stopped, as it was"
        done = (f"An interrupted relaunch had set {name} aside as {was}: it is back under its name and {state}."
                if was != name else f"An interrupted relaunch was putting {name} back: it is back and {state}.")
    journal.clear(name)
    return done


@engine_errors
def recover_access(spec: LaunchSpec, *, client: Any = None, base_url: str | None = None,
                   on_event: EventCallback | None = None, options: Options = Options(),
                   cancel: threading.Event | None = None, credentials_timeout: float = 60.0) -> RecoveryResult:
    """Recreate the server with LOCAL_RESTORE=true and read the temporary credentials from its logs.
    Call `end_recovery` once the admin has logged in and fixed access: restore mode disables SSO."""
    client = _client(client, base_url)
    restore_spec = spec.with_environment(**{RESTORE_VARIABLE: "true"})
    result = reconfigure(restore_spec, client=client, on_event=on_event, options=options, cancel=cancel)
    if not result.ok:
        return RecoveryResult(result, None, result.message, result.hint)
    container = client.containers.get(result.container_id)
    secrets = secret_values(spec.environment, spec.secret_names)
    deadline = time.monotonic() + credentials_timeout
    while True:
        lines = container.logs(stdout=True, stderr=True).decode("utf-8", errors="replace").splitlines()
        credentials = find_credentials(redact(line, secrets) for line in lines)
        if credentials is not None or time.monotonic() >= deadline:
            break
        time.sleep(min(options.poll_interval, 1.0))
    if credentials is None:
        return RecoveryResult(
            result, None, "The server runs in restore mode, but no temporary credentials line was found in its logs.",
            f"Look for it yourself: `docker logs {spec.container_name} 2>&1 | grep -i password`. Then end restore "
            "mode from the wizard (it disables SSO while on).",
        )
    who = f" as {credentials.user}" if credentials.user else ""
    return RecoveryResult(
        result, credentials, f"Log in{who} with the temporary password, fix access (SSO, admin users), then end "
                             "restore mode.",
        "Restore mode disables SSO: end it as soon as access is fixed.",
    )


@engine_errors
def end_recovery(spec: LaunchSpec, *, client: Any = None, base_url: str | None = None,
                 on_event: EventCallback | None = None, options: Options = Options(),
                 cancel: threading.Event | None = None) -> LaunchResult:
    """Recreate the server without LOCAL_RESTORE (SSO back on)."""
    return reconfigure(spec.with_environment(**{RESTORE_VARIABLE: None}), client=client, base_url=base_url,
                       on_event=on_event, options=options, cancel=cancel)


@engine_errors
def destroy(spec: LaunchSpec, confirm_volume_name: str, *, client: Any = None, base_url: str | None = None,
            on_event: EventCallback | None = None, stop_timeout: int = DEFAULT_STOP_TIMEOUT) -> DestroyResult:
    """Remove this install's container(s) and its data volume. Irreversible: `confirm_volume_name` must be typed
    exactly as the volume's name (or bind path). A bind path's directory is left on disk."""
    from docker.errors import APIError, NotFound

    if confirm_volume_name != spec.volume:
        raise ConfirmationMismatch(
            f"'{confirm_volume_name}' is not the volume's name: nothing was removed.",
            f"To delete the server and ALL its data, type exactly: {spec.volume}",
        )
    client = _client(client, base_url)
    container = get_container(client, spec.container_name)
    if container is not None and not is_ours(container, spec):
        raise conflict_error(client, spec.container_name)
    removed = []
    for target in ([container] if container is not None else []) + previous_containers(client, spec.container_name):
        emit(on_event, Step("remove", f"Removing the container {target.name}"))
        _stop_quietly(target, stop_timeout)
        remove_quietly(target)
        removed.append(target.name)
    if spec.volume_is_bind:
        return DestroyResult(tuple(removed), None, spec.volume,
                             f"Removed {', '.join(removed) or 'no container'}. The data directory {spec.volume} "
                             f"was left on disk: delete it yourself (`sudo rm -rf {spec.volume}`) if you want the "
                             "data gone.")
    emit(on_event, Step("remove", f"Removing the volume {spec.volume} and all its data"))
    try:
        client.volumes.get(spec.volume).remove()
        removed_volume = spec.volume
    except NotFound:
        removed_volume = None
    except APIError as exc:
        raise OperationFailed(f"The volume {spec.volume} could not be removed: {docker_error_text(exc)}",
                              "Another container still uses it: `docker ps -a --filter volume="
                              f"{spec.volume}` shows which.") from None
    what = f"the volume {removed_volume}" if removed_volume else f"no volume (there was no {spec.volume})"
    return DestroyResult(tuple(removed), removed_volume, None,
                         f"Removed {', '.join(removed) or 'no container'} and {what}.")
