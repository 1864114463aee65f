"""Secrets (licence key, passwords, cloud keys) in the OS keyring, or in an encrypted file where there is none.

Each secret is stored under service "wandb-local-setup/<session>" with the secret's dotted id as the username.
keyring cannot list entries, so delete_all() takes the ids from the caller: the session knows which secrets it has.
keyring and its backends are imported inside functions so that importing this module stays cheap.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from wizard.paths import APP_NAME, check_private, ensure_private_dir, keyring_dir

BACKEND_ENV = "WANDB_LOCAL_SETUP_KEYRING"
PASSPHRASE_ENV = "WANDB_LOCAL_SETUP_PASSPHRASE"  # the encrypted file's passphrase for runs without a prompt
FORCEABLE = ("secretservice", "cryptfile", "plaintext")
CRYPTFILE_NAME = "secrets.cfg"
PLAINTEXT_NAME = "plaintext-secrets.cfg"

_USE_CRYPTFILE = f"or use the encrypted-file keyring with {BACKEND_ENV}=cryptfile"
# (platform, kind, label, module, class) of the keyrings recommended on macOS and Windows.
_NATIVE = (
    ("darwin", "keychain", "macOS Keychain", "keyring.backends.macOS", "Keyring"),
    ("win32", "windows", "Windows Credential Locker", "keyring.backends.Windows", "WinVaultKeyring"),
)
_SECRET_SERVICE_DAEMONS = (
    ("gnome-keyring", "GNOME Keyring"),
    ("kwalletd", "KWallet"),
    ("ksecretd", "KWallet"),
    ("keepassxc", "KeePassXC"),
)


class SecretsError(Exception):
    """A failure to show the user as is: str() says what went wrong and what to do. Never holds a secret value."""


class NoBackend(SecretsError):
    """No keyring can be used as things stand."""


class PassphraseRequired(NoBackend):
    """Only the encrypted-file keyring is usable and no passphrase was given for it."""


class KeyringLocked(SecretsError):
    """The system keyring is locked and cannot be unlocked from here."""


class WrongPassphrase(SecretsError):
    """The passphrase does not open the encrypted keyring file."""


@dataclass(frozen=True)
class BackendChoice:
    """Which keyring open_store() would use, found without unlocking anything (the Welcome screen shows it)."""

    kind: str  # secretservice | keychain | windows | cryptfile | plaintext | none
    name: str  # human readable, e.g. "Secret Service (GNOME Keyring)"
    needs_passphrase: bool = False
    new_file: bool = False  # cryptfile: no file yet, so the passphrase is being chosen (ask twice)
    path: Path | None = None  # the file of a file keyring
    note: str = ""  # why the automatic choice fell back to a file
    problem: str = ""  # describe_backend() only: why open_store() would fail


Passphrase = str | Callable[[BackendChoice], str | None] | None


def service_name(session: str) -> str:
    _check_name("session name", session)
    return f"{APP_NAME}/{session}"


def describe_backend(backend: str | None = None) -> BackendChoice:
    """The keyring open_store() would use. Never raises: a choice that cannot work carries `problem`."""
    try:
        return _choose(backend)
    except SecretsError as exc:
        return BackendChoice(kind="none", name="No usable keyring", problem=str(exc))
    except OSError as exc:  # e.g. an unreadable state directory
        return BackendChoice(kind="none", name="No usable keyring", problem=f"The keyring cannot be chosen: {exc}")


def describe_backend_at_once(backend: str | None = None) -> BackendChoice | None:
    """describe_backend() when the answer needs no D-Bus round trip (a forced file keyring, or no D-Bus session,
    as over SSH), so the first screen can ask the passphrase straight away; None when D-Bus must be asked."""
    kind = (backend if backend is not None else os.environ.get(BACKEND_ENV, "")).strip().lower()
    native = any(sys.platform == platform for platform, *_ in _NATIVE)
    automatic = kind in ("", "auto")
    if kind == "secretservice" or (automatic and (native or os.environ.get("DBUS_SESSION_BUS_ADDRESS"))):
        return None
    return describe_backend(backend)


def open_store(
    backend: str | None = None, *, passphrase: Passphrase = None, choice: BackendChoice | None = None,
) -> SecretStore:
    """Choose a keyring and unlock it now, so that a locked keyring or a wrong passphrase shows up at once.

    `backend` (else env WANDB_LOCAL_SETUP_KEYRING) forces secretservice, cryptfile or plaintext; None or "auto"
    picks the platform keyring, else the encrypted file. `passphrase` (a str, or a callback given the choice)
    is only used by the encrypted file. `choice`, from describe_backend(), saves probing D-Bus a second time.
    Raises SecretsError.
    """
    if choice is None or choice.problem:
        choice = _choose(backend)
    with _translated(choice, "open the keyring"):
        if choice.path is not None:
            ensure_private_dir(choice.path.parent)
            if choice.path.exists():
                check_private(choice.path)  # another user's file would hand them every secret typed from now on
                os.chmod(choice.path, 0o600)
        keyring_backend = _make_backend(choice)
    if choice.needs_passphrase:
        key = passphrase(choice) if callable(passphrase) else passphrase
        if not key or not key.strip():
            raise PassphraseRequired(_needs_passphrase_message(choice))
        with _translated(choice, "open the keyring"):
            keyring_backend.keyring_key = key  # checks the passphrase against the file, or creates the file
    else:
        with _translated(choice, "open the keyring"):
            keyring_backend.get_password(APP_NAME, "probe")  # unlocks (or fails to) before any secret is typed
    return SecretStore(keyring_backend, choice)


class SecretStore:
    """The secrets of every session, in one keyring backend held here (keyring's global backend is not used)."""

    def __init__(self, backend: Any, choice: BackendChoice) -> None:
        self._backend = backend
        self.choice = choice

    @property
    def backend_name(self) -> str:
        return self.choice.name

    def __repr__(self) -> str:
        return f"<SecretStore {self.choice.name}>"

    def get(self, session: str, secret_id: str) -> str | None:
        service = self._address(session, secret_id)
        with _translated(self.choice, f"read the secret {secret_id!r}"):
            return self._backend.get_password(service, secret_id)

    def get_all(self, session: str, ids: Iterable[str]) -> dict[str, str]:
        """The session's secrets among `ids` that are set (keyring cannot list entries: the caller names them)."""
        found = {}
        for secret_id in ids:
            value = self.get(session, secret_id)
            if value:
                found[secret_id] = value
        return found

    def set(self, session: str, secret_id: str, value: str) -> None:
        service = self._address(session, secret_id)
        if not isinstance(value, str):
            raise TypeError("a secret value must be a str")
        with _translated(self.choice, f"save the secret {secret_id!r}"):
            self._backend.set_password(service, secret_id, value)

    def delete(self, session: str, secret_id: str) -> None:
        """Remove one secret; a secret that is not there is not an error."""
        from keyring.errors import PasswordDeleteError

        service = self._address(session, secret_id)
        with _translated(self.choice, f"delete the secret {secret_id!r}"):
            try:
                self._backend.delete_password(service, secret_id)
            except PasswordDeleteError:
                pass

    def delete_all(self, session: str, ids: Iterable[str]) -> None:
        """Remove the given secrets of a session, trying every one before raising the first failure."""
        failures = []
        for secret_id in ids:
            try:
                self.delete(session, secret_id)
            except SecretsError as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    @staticmethod
    def _address(session: str, secret_id: str) -> str:
        _check_name("secret id", secret_id)
        return service_name(session)


def _check_name(what: str, value: str) -> None:
    if not isinstance(value, str) or not value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"a {what} must be a non-empty string without control characters")


PLAINTEXT_WARNING = ("secrets are kept in a plain-text file, NOT encrypted ({path}): anyone who can read it gets "
                     f"them. {BACKEND_ENV}=cryptfile keeps them encrypted.")


def _choose(backend: str | None) -> BackendChoice:
    raw = backend if backend is not None else os.environ.get(BACKEND_ENV, "")
    kind = raw.strip().lower()
    if kind == "plaintext":  # never chosen automatically: naming it is the admin's confirmation, for every command
        choice = _file_choice("plaintext")
        return replace(choice, note=PLAINTEXT_WARNING.format(path=_tilde(choice.path)))
    if kind == "cryptfile":
        return _file_choice("cryptfile")
    if kind == "secretservice":
        problem = _secret_service_problem()
        if problem:
            raise NoBackend(
                f"The Secret Service keyring cannot be used: {problem}. Start the desktop keyring, "
                f"{_USE_CRYPTFILE} (or unset {BACKEND_ENV} to choose automatically)."
            )
        return BackendChoice("secretservice", _secret_service_label())
    if kind not in ("", "auto"):
        raise SecretsError(
            f"Unknown keyring {raw!r} (from the option or {BACKEND_ENV}): use secretservice, cryptfile or "
            "plaintext, or leave it unset to choose automatically."
        )
    for platform, native_kind, label, module, cls in _NATIVE:
        if sys.platform == platform:
            if _backend_class(module, cls).viable:
                return BackendChoice(native_kind, label)
            return _file_choice("cryptfile", note=f"the {label} cannot be used here")
    problem = _secret_service_problem()
    if problem is None:
        return BackendChoice("secretservice", _secret_service_label())
    return _file_choice("cryptfile", note=problem)


def _file_choice(kind: str, note: str = "") -> BackendChoice:
    path = keyring_dir() / (CRYPTFILE_NAME if kind == "cryptfile" else PLAINTEXT_NAME)
    label = "Encrypted file" if kind == "cryptfile" else "Plain-text file, NOT encrypted"
    return BackendChoice(
        kind,
        f"{label} ({_tilde(path)})",
        needs_passphrase=kind == "cryptfile",
        new_file=not path.exists(),
        path=path,
        note=note,
    )


def _tilde(path: Path | None) -> str:
    if path is None:
        return "(no file)"
    home = Path.home()
    return f"~/{path.relative_to(home)}" if path.is_relative_to(home) else str(path)


def _secret_service_problem() -> str | None:
    """Why the Secret Service cannot be reached (None if it can). Cheap: unlocks nothing."""
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return "there is no D-Bus session, as usual over SSH (DBUS_SESSION_BUS_ADDRESS is not set)"
    try:
        _backend_class("keyring.backends.SecretService", "Keyring").priority  # noqa: B018 (the property asks)
    except Exception as exc:  # keyring reports every reason as an exception from `priority`
        return f"no Secret Service answers on the D-Bus session ({exc})"
    return None


def _secret_service_label() -> str:
    """Name the daemon behind the Secret Service (best effort: the bus tells its PID, /proc its name)."""
    try:
        import secretstorage
        from jeepney.bus_messages import message_bus
        from jeepney.wrappers import unwrap_msg

        with closing(secretstorage.dbus_init()) as bus:
            reply = bus.send_and_get_reply(
                message_bus.GetConnectionUnixProcessID("org.freedesktop.secrets"), timeout=2
            )
        pid = unwrap_msg(reply)[0]
        command = Path(f"/proc/{int(pid)}/comm").read_text().strip()
    except Exception:  # not running yet (D-Bus activated), no /proc, ...: the generic name will do
        return "Secret Service"
    for prefix, label in _SECRET_SERVICE_DAEMONS:
        if command.startswith(prefix):
            return f"Secret Service ({label})"
    return "Secret Service"


def _backend_class(module: str, name: str) -> Any:
    import importlib

    return getattr(importlib.import_module(module), name)


def _make_backend(choice: BackendChoice) -> Any:
    if choice.kind == "secretservice":
        return _backend_class("keyring.backends.SecretService", "Keyring")()
    for _, kind, _, module, cls in _NATIVE:
        if choice.kind == kind:
            return _backend_class(module, cls)()
    backend = _file_backends()[choice.kind]()
    backend.file_path = str(choice.path)
    return backend


@lru_cache(maxsize=1)
def _file_backends() -> dict[str, type]:
    import configparser

    from keyring.errors import PasswordDeleteError
    from keyrings.cryptfile.cryptfile import CryptFileKeyring
    from keyrings.cryptfile.escape import escape
    from keyrings.cryptfile.file import PlaintextKeyring

    class AtomicWrites:
        """The library rewrites its one file in place: a crash mid-write would lose every secret."""

        file_path: str

        def _write_config_value(self, service: str, key: str, value: str) -> None:
            with _file_lock(Path(self.file_path)):  # read, change, write: no other wizard in between
                config = self._load()
                section = escape(service)
                if not config.has_section(section):
                    config.add_section(section)
                config.set(section, escape(key), value)
                _atomic_write(Path(self.file_path), config.write)

        def delete_password(self, service: str, username: str) -> None:
            with _file_lock(Path(self.file_path)):
                config = self._load()
                section = escape(service)
                if not config.has_section(section) or not config.remove_option(section, escape(username)):
                    raise PasswordDeleteError("Password not found")
                _atomic_write(Path(self.file_path), config.write)

        def _load(self) -> configparser.RawConfigParser:
            config = configparser.RawConfigParser()
            config.read(self.file_path)
            return config

    class NoPromptCryptFile(AtomicWrites, CryptFileKeyring):
        """The library asks for a missing passphrase on the tty: under the TUI that hangs or fails."""

        def _get_new_password(self) -> str:
            raise PassphraseRequired("The encrypted keyring file needs a passphrase and none was given.")

        def _unlock(self) -> None:
            if self._keyring_key is None:
                self._get_new_password()
            super()._unlock()

    class PrivatePlaintext(AtomicWrites, PlaintextKeyring):
        pass

    return {"cryptfile": NoPromptCryptFile, "plaintext": PrivatePlaintext}


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on `path`'s lock file, across processes: several wizards (six `apply` at once, the TUI and
    a headless command) write one keyring file, and each write reads the whole file first."""
    import fcntl

    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # (closing releases the lock)


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    import tempfile

    fd, name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")  # 0600, a name of its own
    temporary = Path(name)
    try:
        with os.fdopen(fd, "w") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextmanager
def _translated(choice: BackendChoice, doing: str) -> Iterator[None]:
    """Turn keyring, D-Bus and file errors into SecretsError (the original stays chained for the log)."""
    try:
        yield
    except SecretsError:
        raise
    except Exception as exc:
        raise _translate(exc, choice, doing) from exc


def _translate(exc: Exception, choice: BackendChoice, doing: str) -> SecretsError:
    from keyring import errors

    chain = _chain(exc)
    detail = f"{type(exc).__name__}: {exc}"
    if any(isinstance(e, errors.KeyringLocked) for e in chain) or any(
        type(e).__name__ in ("PromptDismissedException", "LockedException") for e in chain
    ):
        return KeyringLocked(_locked_message(choice))
    if choice.kind == "cryptfile" and isinstance(exc, ValueError):
        if str(exc) in ("MAC check failed", "Incorrect Password"):
            return WrongPassphrase(
                f"The passphrase for the encrypted keyring file {_tilde(choice.path)} is wrong: type it again. "
                "If it is lost, the secrets in that file cannot be recovered: move the file aside and enter the "
                "secrets again (a new file is created)."
            )
    if isinstance(exc, errors.NoKeyringError):
        return NoBackend(
            f"Could not {doing}: no keyring backend is available ({detail}). Use the encrypted-file keyring "
            f"with {BACKEND_ENV}=cryptfile."
        )
    if choice.kind == "secretservice":
        return SecretsError(
            f"Could not {doing}: the {choice.name} stopped answering over D-Bus ({detail}). Check that the "
            f"keyring daemon is running, {_USE_CRYPTFILE}."
        )
    if isinstance(exc, OSError) and choice.path is not None:
        return SecretsError(
            f"Could not {doing}: the keyring file {_tilde(choice.path)} cannot be used ({detail}). "
            "Check its owner and permissions and the free disk space."
        )
    return SecretsError(f"Could not {doing} in the {choice.name} ({detail}).")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _locked_message(choice: BackendChoice) -> str:
    if choice.kind == "secretservice":
        how = (
            "log in to the desktop session, or run `gnome-keyring-daemon --replace --unlock` in a shell, type the "
            "keyring password and press Ctrl+D"
        )
    elif choice.kind == "keychain":
        how = "run `security unlock-keychain` or open Keychain Access"
    else:
        how = "log in to the desktop session"
    return f"The system keyring, {choice.name}, is locked and cannot be unlocked from here: {how}; {_USE_CRYPTFILE}."


def _needs_passphrase_message(choice: BackendChoice) -> str:
    why = f"No system keyring is reachable here: {choice.note}. " if choice.note else ""
    ask = "choose a passphrase for it" if choice.new_file else "enter its passphrase"
    return f"{why}Secrets are kept in the {choice.name}, which needs a passphrase and none was given: {ask}."
