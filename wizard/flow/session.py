"""One open session, without any UI: what the interactive App and the headless `apply` call to open it, keep its
draft, keep secrets in the keyring, validate steps, record check results and statuses, and build what Review and
Launch show. What one records, the other shows.

Secrets typed in the UI live only in memory here until their step is left (then `flush_secrets` puts them into the
keyring); they never reach the session file (SessionStore.save is given every secret path and refuses them).
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from wizard.lazy import lazy_module
from wizard.secrets import SecretsError, SecretStore
from wizard.session import Session, SessionError, SessionLock, SessionStore
from wizard.steps import CONFIG_STEPS, STEP_IDS, StepStatus

if TYPE_CHECKING:
    from wizard import config, draft, instructions, render
    from wizard.checks import engine
    from wizard import providers as registry
    from wizard.flow.review import Review
    from wizard.exports import ExportFile
else:  # pydantic and the models load on first use, not before the wizard's first screen (start-up time)
    engine = lazy_module("wizard.checks.engine")
    config = lazy_module("wizard.config")
    draft = lazy_module("wizard.draft")
    registry = lazy_module("wizard.providers")
    render = lazy_module("wizard.render")

Clock = Callable[[], datetime]
CHECKS_NOT_RUN = "valid; live checks not run yet"
FROM_ANSWERS = "from an answers file"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def default_session_name(clock: Clock = utc_now) -> str:
    return "setup-" + clock().astimezone(timezone.utc).strftime("%Y%m%d-%H%M")


RESTORE_FLAG = "local_restore_on"


class WizardFlow:
    """One open session: its draft, its secrets (memory + keyring), statuses, checks. Not thread-safe."""

    def __init__(self, store: SessionStore, session: Session, lock: SessionLock | None,
                 secrets: SecretStore | None = None, clock: Clock = utc_now, resumed: bool = False) -> None:
        self.store = store
        self.session = session
        self.lock = lock
        self.secrets = secrets
        self.clock = clock
        self.resumed = resumed
        self._secret_values: dict[str, str] = {}
        self._fresh = False  # opened with --new: the secrets a previous session of that name left are dropped
        self.read_only = False
        self._dirty: set[str] = set()
        self.secret_problem: str | None = None  # the last keyring failure, shown to the user
        # Extra check options (CheckContext.extra), e.g. emulator endpoints such as "azure_blob_endpoint" or
        # "slack_api_url": empty in normal use; tests of the screens set it to reach their loopback services.
        self.check_extra: dict[str, Any] = {}

    # ---- opening and closing

    @classmethod
    def open(cls, name: str, *, new: bool = False, store: SessionStore | None = None,
             clock: Clock = utc_now) -> "WizardFlow":
        """Lock and load (or create) a session. Raises SessionLocked, SessionCorrupt, ... (SessionError)."""
        store = store or SessionStore()
        lock = store.lock(name)
        try:
            resumed = store.exists(name) and not new
            if resumed:
                session = store.load(name)
            else:
                session = Session(name=name)
                store.save(session)  # no values yet, so no secret to look for (and no models to load)
        except BaseException:
            lock.release()
            raise
        flow = cls(store, session, lock, clock=clock, resumed=resumed)
        flow._fresh = new
        return flow

    @classmethod
    def read(cls, name: str, *, store: SessionStore | None = None) -> "WizardFlow":
        """A session as saved, without its lock, for the headless `check` and `export` (the wizard may have it
        open meanwhile): its configuration is built as the wizard builds it; nothing is ever written."""
        store = store or SessionStore()
        flow = cls(store, store.read(name), None, resumed=True)
        flow.read_only = True
        return flow

    def attach_secrets(self, secrets: SecretStore | None) -> None:
        """Use this keyring from now on and read the session's secrets from it (slow with an encrypted file).
        A fresh (--new) session drops the secrets a previous session of that name left."""
        self.secrets = secrets
        if secrets is None:
            return
        try:
            if self._fresh:
                secrets.delete_all(self.name, self.secret_ids())
                self._fresh = False
            missing = [sid for sid in self.secret_ids() if sid not in self._secret_values]
            # A value typed before the keyring opened is newer than the stored one: only the others are read.
            self._secret_values.update(secrets.get_all(self.name, missing))
        except SecretsError as exc:
            self.secret_problem = str(exc)
            raise

    def close(self) -> None:
        """Save everything (draft and pending secrets) and release the lock. Never raises a keyring error."""
        if self.read_only:
            return
        try:
            self.flush_secrets()
        except SecretsError:
            pass
        try:
            self.save()
        finally:
            if self.lock is not None:
                self.lock.release()
                self.lock = None

    @property
    def name(self) -> str:
        return self.session.name

    # ---- draft values

    def values(self, step: str) -> dict[str, Any]:
        return copy.deepcopy(self.session.values.get(step, {}))

    def provider(self, step: str) -> str | None:
        if step not in config.PROVIDER_MODELS:
            return None
        return str(self.session.values.get(step, {}).get("provider") or draft.default_provider(step))

    def is_secret(self, step: str, path: tuple[str, ...]) -> bool:
        return ".".join((step, *path)) in draft.secret_ids(step)

    def secret_ids(self) -> list[str]:
        """The keyring ids of this session: every secret field's and its secret extra options'."""
        return draft.secret_ids_for(self.session.values)

    def value(self, step: str, path: tuple[str, ...]) -> Any:
        """The current value of a field: the draft's, the secret's, or None if never typed."""
        if self.is_secret(step, path):
            return self._secret_values.get(".".join((step, *path)))
        if (step, path) == ("server", ("extra_env",)):
            rows = self.session.values.get("server", {}).get("extra_env")
            return draft.with_extra_secrets(copy.deepcopy(rows), self._secret_values)
        node: Any = self.session.values.get(step, {})
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def set_value(self, step: str, path: tuple[str, ...], value: Any) -> bool:
        """Record a typed value (secrets in memory until the step is left). True if it changed anything."""
        if self.value(step, path) == value:
            return False
        if self.is_secret(step, path):
            secret_id = ".".join((step, *path))
            self._secret_values[secret_id] = "" if value is None else str(value)
            self._dirty.add(secret_id)
        elif (step, path) == ("server", ("extra_env",)) and isinstance(value, list):
            self._set_extra_rows(value)
        else:
            node = self.session.values.setdefault(step, {})
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = value
        self._edited(step)
        return True

    def _set_extra_rows(self, rows: list) -> None:
        """Extra options: a secret row's value goes to the keyring (its row keeps an empty value); the entry of a
        row that was removed, renamed or unmarked is deleted."""
        before = set(draft.extra_secret_ids(self.session.values))
        stored = []
        for row in rows:
            row = dict(row) if isinstance(row, dict) else row
            if isinstance(row, dict) and draft.row_is_secret(row) and str(row.get("name") or "").strip():
                secret_id = draft.extra_secret_id(str(row["name"]).strip())
                self._secret_values[secret_id] = str(row.get("value") or "")
                self._dirty.add(secret_id)
                row["value"] = ""
            stored.append(row)
        self.session.values.setdefault("server", {})["extra_env"] = stored
        for gone in before - set(draft.extra_secret_ids(self.session.values)):
            self._secret_values[gone] = ""
            self._dirty.add(gone)

    def set_provider(self, step: str, provider: str) -> bool:
        if provider not in config.PROVIDER_MODELS.get(step, {}):
            raise ValueError(f"{provider!r} is not a provider of step {step!r}")
        return self.set_value(step, ("provider",), provider)

    def _edited(self, step: str) -> None:
        if self.session.status(step) != StepStatus.EDITED:
            self.session.set_status(step, StepStatus.EDITED)

    def take_answers(self, values: Mapping[str, Mapping[str, Any]], secrets: Mapping[str, str]) -> None:
        """An answers file's steps replace this session's (headless `apply`); its secrets are kept as typed ones
        are, until `flush_secrets` writes them to the keyring."""
        for step, step_values in values.items():
            self.session.set_values(step, copy.deepcopy(dict(step_values)))
            self.session.set_status(step, StepStatus.EDITED, FROM_ANSWERS)
        for secret_id, value in secrets.items():
            self._secret_values[secret_id] = value
            self._dirty.add(secret_id)

    def adopt(self, adopted: Any) -> None:
        """A container's settings (`wizard.adopt.Adopted`) become this session's, as an answers file's do, and the
        container is recorded as this session's server: Launch may replace it (with the rollback)."""
        from wizard.launch_plan import ADOPTED_FLAG

        self.take_answers(adopted.values, adopted.secrets)
        self.session.flags[ADOPTED_FLAG] = {"container": adopted.container, "id": adopted.container_id}

    def has_secret(self, secret_id: str) -> bool:
        return bool(self._secret_values.get(secret_id))

    # ---- persistence

    def save(self) -> None:
        if self.read_only:
            raise SessionError(f"The session '{self.name}' was opened to be read only: nothing is saved.")
        self.store.save(self.session, self.secret_ids())

    def pending_secrets(self, step: str | None = None) -> list[str]:
        return sorted(i for i in self._dirty if step is None or i.startswith(step + "."))

    def flush_secrets(self, step: str | None = None) -> list[str]:
        """Write the step's changed secrets to the keyring (delete emptied ones). Returns the ids written.
        Without a keyring they stay in memory (and pending) and SecretsError explains why."""
        ids = self.pending_secrets(step)
        if not ids:
            return []
        if self.secrets is None:
            raise SecretsError(
                "No keyring is open: the secrets you typed are kept only while the wizard runs and must be typed "
                "again next time."
            )
        written = []
        for secret_id in ids:
            value = self._secret_values.get(secret_id, "")
            if value:
                self.secrets.set(self.name, secret_id, value)
            else:
                self.secrets.delete(self.name, secret_id)
            self._dirty.discard(secret_id)
            written.append(secret_id)
        return written

    # ---- validation, status, navigation

    def validate(self, step: str):
        """(section or None, [FieldError]) for a configuration step; (None, []) for the others."""
        if step not in CONFIG_STEPS:
            return None, []
        return draft.validate_step(step, self.session.values.get(step), self._secret_values)

    def status(self, step: str) -> StepStatus:
        return self.session.status(step)

    def status_message(self, step: str) -> str | None:
        return self.session.step_message(step)

    def has_checks(self, step: str) -> bool:
        return bool(engine.checks_for(step))

    def leave_step(self, step: str) -> StepStatus:
        """Record the step's status as the user leaves it: failed with errors (visibly), complete when valid
        (and checked, for steps with live checks). Secrets are not written here: see flush_secrets."""
        if step == "welcome":
            self.session.set_status(step, StepStatus.CHECKED_OK)
        elif step in CONFIG_STEPS:
            _, errors = self.validate(step)
            current = self.status(step)
            if errors:
                noun = "problem" if len(errors) == 1 else "problems"
                self.session.set_status(step, StepStatus.FAILED, f"{len(errors)} {noun}: {errors[0]}")
            elif self.has_checks(step):
                if current == StepStatus.FAILED and not (self.status_message(step) or "").startswith("checks:"):
                    current = StepStatus.EDITED  # it failed validation before; now valid but unchecked
                if current not in (StepStatus.CHECKED_OK, StepStatus.CHECKED_WARN, StepStatus.FAILED):
                    self.session.set_status(step, StepStatus.EDITED, CHECKS_NOT_RUN)
            elif current != StepStatus.CHECKED_OK:
                self.session.set_status(step, StepStatus.CHECKED_OK, "valid")
        return self.status(step)

    def go_to(self, step: str) -> None:
        if step not in STEP_IDS:
            raise ValueError(f"unknown step {step!r}")
        self.session.current_step = step

    def start_step(self) -> str:
        """Where the wizard opens: Welcome for a new session, else the first step that is not complete."""
        if not self.resumed:
            return "welcome"
        return self.session.first_incomplete_step()

    @staticmethod
    def next_step(step: str) -> str | None:
        index = STEP_IDS.index(step)
        return STEP_IDS[index + 1] if index + 1 < len(STEP_IDS) else None

    @staticmethod
    def previous_step(step: str) -> str | None:
        index = STEP_IDS.index(step)
        return STEP_IDS[index - 1] if index > 0 else None

    def steps_done(self) -> int:
        return self.session.steps_done()

    # ---- checks

    def check_context(self) -> engine.CheckContext:
        """The validated sections of every step that is valid so far."""
        sections = {}
        for step in CONFIG_STEPS:
            section, errors = self.validate(step)
            if not errors:
                sections[step] = section
        return engine.CheckContext(sections=sections, extra=dict(self.check_extra))

    def record_checks(self, step: str, results: Iterable[engine.CheckResult]) -> StepStatus:
        results = list(results)
        counts = {status: sum(r.status == status for r in results) for status in engine.Status}
        bad = counts[engine.Status.FAIL] + counts[engine.Status.ERROR]
        parts = [f"{counts[engine.Status.PASS]} ok"]
        if counts[engine.Status.WARN]:
            parts.append(f"{counts[engine.Status.WARN]} warning{'s' if counts[engine.Status.WARN] > 1 else ''}")
        if bad:
            parts.append(f"{bad} failed")
        if counts[engine.Status.SKIPPED]:
            parts.append(f"{counts[engine.Status.SKIPPED]} skipped")
        status = StepStatus.FAILED if bad else StepStatus.CHECKED_WARN if counts[engine.Status.WARN] else StepStatus.CHECKED_OK
        self.session.set_status(step, status, "checks: " + ", ".join(parts))
        return status

    # ---- review and launch

    def instructions(self, step: str) -> list[instructions.Instruction]:
        if step == "host":  # the reverse proxy's configuration (the providers' steps have their own texts)
            from wizard import reverse_proxy

            return reverse_proxy.instructions(self.session.values)
        return registry.instructions_for(step, self.session.values, self._secret_values)

    def build_config(self) -> config.InstallConfig:
        """The validated configuration (raises draft.ConfigErrors)."""
        return draft.build_config(self.session.values, self._secret_values)

    def masked_inputs(self):
        """What the server container gets, secrets masked (raises draft.ConfigErrors)."""
        return render.container_inputs(self.build_config(), render.mask)

    def launch_spec(self):
        """What the launcher starts: the configuration with its secrets (raises draft.ConfigErrors)."""
        from wizard.launch_plan import adopted_id, launch_spec

        return launch_spec(self.build_config(), self.name, adopted_id(self.session.flags))

    def support_facts(self) -> tuple[config.InstallConfig, Any, dict[str, Any]]:
        """What `doctor` needs of this session, taken now (a support bundle is then made in a worker thread): the
        configuration, the launch spec, and the session's name, settings and last launch (copied)."""
        import copy

        facts = {"session": self.name, "values": copy.deepcopy(self.session.values),
                 "last_launch": copy.deepcopy(self.session.flags.get("last_launch"))}
        return self.build_config(), self.launch_spec(), facts

    def export(self, fmt: str, path: str, with_secrets: bool) -> list[ExportFile]:
        """Write the configuration as `fmt` (see wizard.exports); returns the files written."""
        from pathlib import Path

        from wizard import exports

        if not path.strip():
            raise ValueError("enter the path of the file to write")
        files = exports.build(self.build_config(), fmt, Path(path.strip()).expanduser(), with_secrets)
        exports.write(files)
        return files

    @property
    def restore_mode(self) -> bool:
        """LOCAL_RESTORE is on in the running server: SSO is off until it is switched off again."""
        return bool(self.session.flags.get(RESTORE_FLAG))

    def record_launch(self, action: str, ok: bool, message: str, restore_mode: bool | None = None) -> None:
        self.session.flags["last_launch"] = {"action": action, "ok": ok, "at": self.clock().isoformat(timespec="seconds"),
                                             "message": message[:300]}
        if restore_mode is not None:
            self.session.flags[RESTORE_FLAG] = restore_mode
        status = StepStatus.CHECKED_OK if ok else StepStatus.FAILED
        if action == "destroy" and ok:
            status = StepStatus.UNTOUCHED  # nothing runs any more: the next launch starts afresh
        self.session.set_status("launch", status, message[:200])
        self.save()

    def review(self) -> Review:
        from wizard.flow.review import review_of

        return review_of(self)


def valid_session_name(name: str) -> str | None:
    """An error message for a session name typed in the UI, or None."""
    from wizard.session import NAME_PATTERN, NAME_RULE

    if not NAME_PATTERN.fullmatch(name or ""):
        return f"use {NAME_RULE}"
    return None


def read_license_file(path: str) -> str:
    """The license text in a file (whitespace removed). Raises ValueError with a message for the user."""
    from wizard.checks.license import read_license_file as read

    return read(path)
