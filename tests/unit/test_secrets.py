"""wizard.secrets against a real Secret Service (private D-Bus + gnome-keyring-daemon) and real keyring files.

The encrypted file costs about half a second per operation (Argon2), so its tests share one prepared file.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.services import unavailable
from tests.services.keyring_service import (  # noqa: F401 (fixtures)
    _shared_secret_service,
    bus_without_secret_service,
    locked_secret_service,
    own_secret_service,
    secret_service,
)
from wizard import secrets
from wizard.secrets import (
    KeyringLocked,
    NoBackend,
    PassphraseRequired,
    SecretsError,
    WrongPassphrase,
)

PASSPHRASE = "correct horse battery staple"
TEMPLATE_SESSION = "template"


def canary() -> str:
    return f"CANARY-s3cr3t-{uuid.uuid4()}"


def files_holding(root: Path, value: str) -> list[Path]:
    """Regular files under root holding value as is or base64-encoded (how keyring files store plain values)."""
    needles = (value.encode(), base64.b64encode(value.encode()))
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(needle in data for needle in needles):
                found.append(path)
    return found


def assert_not_leaked(error: BaseException, *values: str) -> None:
    """Neither the message nor anything chained to it may hold a secret or passphrase."""
    current: BaseException | None = error
    while current is not None:
        for value in values:
            assert value not in str(current) and value not in repr(current)
        current = current.__cause__ or current.__context__


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private wizard state root, no forced backend and no D-Bus unless a keyring fixture provides one."""
    home = tmp_path / "state"
    monkeypatch.setenv("WANDB_LOCAL_SETUP_HOME", str(home))
    monkeypatch.delenv("WANDB_LOCAL_SETUP_KEYRING", raising=False)
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    return home


def secret_tool_lookup(daemon, service: str, username: str) -> str | None:
    """Read an entry with libsecret's own client: proof it is really in the Secret Service, under that name."""
    if shutil.which("secret-tool") is None:
        unavailable("libsecret-tools", "`secret-tool` is not installed")
    result = subprocess.run(
        ["secret-tool", "lookup", "service", service, "username", username],
        env=daemon.env, capture_output=True, text=True, timeout=10,
    )
    return result.stdout if result.returncode == 0 else None


def test_importing_the_module_does_not_import_keyring():
    code = "import sys, wizard.secrets; print(sorted(m for m in sys.modules if m.split('.')[0] in " \
           "('keyring', 'keyrings', 'secretstorage', 'jeepney', 'Crypto', 'argon2')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).parents[2])
    assert result.stdout.strip() == "[]"


# --- Secret Service -------------------------------------------------------------------------------------------


def test_secret_service_round_trip(secret_service, state_home):
    choice = secrets.describe_backend()
    assert (choice.kind, choice.name, choice.needs_passphrase) == ("secretservice", "Secret Service (GNOME Keyring)",
                                                                   False)
    store = secrets.open_store()
    assert store.backend_name == "Secret Service (GNOME Keyring)"
    first, second = canary(), canary()
    store.set("round-trip", "license.key", first)
    assert store.get("round-trip", "license.key") == first
    assert secret_tool_lookup(secret_service, "wandb-local-setup/round-trip", "license.key") == first
    assert store.get("other-session", "license.key") is None

    store.set("round-trip", "license.key", second)  # replaces, does not add a second entry
    assert store.get("round-trip", "license.key") == second
    assert secret_tool_lookup(secret_service, "wandb-local-setup/round-trip", "license.key") == second
    assert files_holding(secret_service.root, second) == []
    assert files_holding(state_home, second) == [] and not state_home.joinpath("keyring").exists()


def test_secret_service_delete_and_delete_all(secret_service):
    store = secrets.open_store()
    ids = ["database.password", "storage.s3.secret_access_key", "slack.secret"]
    for secret_id in ids:
        store.set("doomed", secret_id, canary())
    kept = canary()
    store.set("kept", "database.password", kept)

    store.delete("doomed", "slack.secret")
    assert store.get("doomed", "slack.secret") is None
    assert secret_tool_lookup(secret_service, "wandb-local-setup/doomed", "slack.secret") is None
    store.delete("doomed", "slack.secret")  # already gone: not an error
    assert store.get("doomed", "database.password") is not None

    store.delete_all("doomed", [*ids, "never.stored"])
    assert [store.get("doomed", secret_id) for secret_id in ids] == [None, None, None]
    assert store.get("kept", "database.password") == kept


def test_locked_secret_service_is_reported_with_a_way_forward(locked_secret_service):
    assert secrets.describe_backend().kind == "secretservice"  # the cheap look unlocks nothing
    with pytest.raises(KeyringLocked) as caught:
        secrets.open_store()
    message = str(caught.value)
    assert "is locked" in message
    assert "gnome-keyring-daemon --replace --unlock" in message
    assert "WANDB_LOCAL_SETUP_KEYRING=cryptfile" in message


def test_a_secret_service_that_goes_away_fails_loudly_without_leaking(own_secret_service):
    store = secrets.open_store()
    value = canary()
    store.set("gone", "cache.password", value)
    own_secret_service.stop_keyring()

    with pytest.raises(SecretsError) as caught:
        store.set("gone", "cache.password", canary())
    assert type(caught.value) is SecretsError
    assert "save the secret 'cache.password'" in str(caught.value) and "D-Bus" in str(caught.value)
    assert_not_leaked(caught.value, value)
    with pytest.raises(SecretsError) as caught:
        store.get("gone", "cache.password")
    assert_not_leaked(caught.value, value)
    with pytest.raises(SecretsError, match="delete the secret 'cache.password'"):
        store.delete("gone", "cache.password")
    with pytest.raises(SecretsError, match="delete the secret 'cache.password'"):
        store.delete_all("gone", ["cache.password"])


def test_forcing_secret_service_without_dbus_is_a_clear_no_backend():
    with pytest.raises(NoBackend) as caught:
        secrets.open_store(backend="secretservice")
    assert not isinstance(caught.value, PassphraseRequired)
    assert "no D-Bus session" in str(caught.value) and "WANDB_LOCAL_SETUP_KEYRING=cryptfile" in str(caught.value)
    described = secrets.describe_backend(backend="secretservice")
    assert (described.kind, described.problem) == ("none", str(caught.value))


def test_a_bus_without_secret_service_falls_back_to_the_encrypted_file(bus_without_secret_service, state_home):
    choice = secrets.describe_backend()
    assert (choice.kind, choice.needs_passphrase, choice.new_file) == ("cryptfile", True, True)
    assert choice.path == state_home / "keyring" / "secrets.cfg"
    assert "Secret Service" in choice.note


def test_a_stale_dbus_address_falls_back_to_the_encrypted_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus-here")
    choice = secrets.describe_backend()
    assert (choice.kind, choice.needs_passphrase) == ("cryptfile", True)
    assert "no Secret Service answers" in choice.note
    with pytest.raises(NoBackend, match="no Secret Service answers"):
        secrets.open_store(backend="secretservice")


def test_backend_is_forced_by_argument_or_environment(secret_service, monkeypatch):
    monkeypatch.setenv("WANDB_LOCAL_SETUP_KEYRING", "cryptfile")
    assert secrets.describe_backend().kind == "cryptfile"
    assert secrets.describe_backend(backend="secretservice").kind == "secretservice"  # the argument wins
    assert secrets.describe_backend(backend="auto").kind == "secretservice"

    monkeypatch.setenv("WANDB_LOCAL_SETUP_KEYRING", "vault")
    assert "'vault'" in secrets.describe_backend().problem
    with pytest.raises(SecretsError, match="secretservice, cryptfile or plaintext"):
        secrets.open_store()


# --- Encrypted file -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cryptfile_template(tmp_path_factory: pytest.TempPathFactory):
    """A keyring file holding one secret in each of two sessions, written once for the module (Argon2 is slow)."""
    home = tmp_path_factory.mktemp("cryptfile-template")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WANDB_LOCAL_SETUP_HOME", str(home))
        patch.setenv("WANDB_LOCAL_SETUP_KEYRING", "cryptfile")
        store = secrets.open_store(passphrase=PASSPHRASE)
        values = {"license.key": canary(), "other.license.key": canary()}
        store.set(TEMPLATE_SESSION, "license.key", values["license.key"])
        store.set("other", "license.key", values["other.license.key"])
    return home / "keyring" / "secrets.cfg", values


@pytest.fixture
def prepared_cryptfile(cryptfile_template, state_home):
    template, values = cryptfile_template
    target = secrets.keyring_dir() / "secrets.cfg"
    target.parent.mkdir(parents=True, mode=0o700)
    shutil.copy2(template, target)
    return target, values


def test_the_choice_is_known_at_once_only_when_no_bus_must_be_asked(secret_service, monkeypatch):
    # With a D-Bus session, only the bus can say whether a Secret Service answers: the UI asks it off its thread.
    assert secrets.describe_backend_at_once() is None
    assert secrets.describe_backend_at_once(backend="secretservice") is None
    assert secrets.describe_backend_at_once(backend="cryptfile") == secrets.describe_backend(backend="cryptfile")
    assert "'vault'" in secrets.describe_backend_at_once(backend="vault").problem
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")  # as over SSH
    at_once = secrets.describe_backend_at_once()
    assert at_once == secrets.describe_backend() and at_once.kind == "cryptfile" and "no D-Bus session" in at_once.note


def test_encrypted_file_round_trip_keeps_no_plain_secret(state_home, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    choice = secrets.describe_backend()
    assert (choice.kind, choice.needs_passphrase, choice.new_file) == ("cryptfile", True, True)
    asked = []
    store = secrets.open_store(passphrase=lambda c: asked.append(c) or PASSPHRASE)
    assert asked == [choice]
    assert store.backend_name == f"Encrypted file ({state_home}/keyring/secrets.cfg)"
    value = canary()
    store.set("crypt", "storage.azure.account_key", value)
    assert store.get("crypt", "storage.azure.account_key") == value

    from keyrings.cryptfile.cryptfile import CryptFileKeyring  # the library alone reads it back

    library = CryptFileKeyring()
    library.file_path = str(choice.path)
    library.keyring_key = PASSPHRASE
    assert library.get_password("wandb-local-setup/crypt", "storage.azure.account_key") == value

    assert stat.S_IMODE(choice.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(choice.path.parent.stat().st_mode) == 0o700
    # The file and its (empty) lock file: no temporary file left behind.
    assert sorted(p.name for p in choice.path.parent.iterdir()) == ["secrets.cfg", "secrets.cfg.lock"]
    assert (choice.path.parent / "secrets.cfg.lock").read_bytes() == b""
    assert files_holding(state_home, value) == [] and files_holding(home, value) == []
    assert files_holding(state_home, PASSPHRASE) == []


def test_wrong_passphrase_is_refused_and_the_file_survives(prepared_cryptfile):
    path, values = prepared_cryptfile
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    assert secrets.describe_backend(backend="cryptfile").new_file is False
    with pytest.raises(WrongPassphrase) as caught:
        secrets.open_store(backend="cryptfile", passphrase="not the passphrase")
    assert str(path) in str(caught.value) and "is wrong" in str(caught.value)
    assert_not_leaked(caught.value, "not the passphrase", PASSPHRASE, *values.values())
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before

    store = secrets.open_store(backend="cryptfile", passphrase=PASSPHRASE)
    assert store.get(TEMPLATE_SESSION, "license.key") == values["license.key"]


def test_encrypted_file_delete_all_and_failed_save(prepared_cryptfile, monkeypatch):
    path, values = prepared_cryptfile
    store = secrets.open_store(backend="cryptfile", passphrase=PASSPHRASE)
    store.delete_all(TEMPLATE_SESSION, ["license.key", "database.password"])
    assert store.get(TEMPLATE_SESSION, "license.key") is None
    store.delete(TEMPLATE_SESSION, "license.key")  # already gone: not an error

    before = path.read_bytes()

    def disk_full(*args, **kwargs):  # a hand-written fault: as root, no permission keeps a file from being created
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("tempfile.mkstemp", disk_full)  # the atomic write cannot create its temporary file
    value = canary()
    with pytest.raises(SecretsError) as caught:
        store.set(TEMPLATE_SESSION, "license.key", value)
    assert "save the secret 'license.key'" in str(caught.value)
    assert_not_leaked(caught.value, value, PASSPHRASE)
    with pytest.raises(SecretsError, match="delete the secret 'license.key'"):
        store.delete_all("other", ["license.key"])
    assert path.read_bytes() == before
    assert store.get("other", "license.key") == values["other.license.key"]


def test_no_dbus_and_no_passphrase_asks_for_one(state_home):
    with pytest.raises(PassphraseRequired) as caught:
        secrets.open_store()
    assert isinstance(caught.value, NoBackend)
    message = str(caught.value)
    assert "no D-Bus session" in message and "choose a passphrase" in message
    for empty in ("   ", lambda choice: None):
        with pytest.raises(PassphraseRequired):
            secrets.open_store(passphrase=empty)
    assert not (state_home / "keyring" / "secrets.cfg").exists()


def test_the_encrypted_file_never_prompts_on_the_terminal(prepared_cryptfile, tmp_path):
    """Under the TUI a tty prompt would hang: a missing passphrase must raise instead (new file or existing)."""
    path, _ = prepared_cryptfile
    new = secrets._file_backends()["cryptfile"]()
    new.file_path = str(tmp_path / "new.cfg")
    with pytest.raises(PassphraseRequired):
        new.set_password("wandb-local-setup/x", "license.key", canary())
    existing = secrets._file_backends()["cryptfile"]()
    existing.file_path = str(path)
    with pytest.raises(PassphraseRequired):
        existing.get_password(f"wandb-local-setup/{TEMPLATE_SESSION}", "license.key")


# --- Plain text -----------------------------------------------------------------------------------------------


def test_plaintext_only_when_named_and_always_with_a_warning(state_home, monkeypatch):
    monkeypatch.delenv("WANDB_LOCAL_SETUP_KEYRING", raising=False)
    assert secrets.describe_backend().kind != "plaintext"  # never chosen automatically
    monkeypatch.setenv("WANDB_LOCAL_SETUP_KEYRING", "plaintext")  # naming it is the confirmation
    choice = secrets.describe_backend()
    assert choice.kind == "plaintext" and not choice.problem
    assert "NOT encrypted" in choice.note and "WANDB_LOCAL_SETUP_KEYRING=cryptfile" in choice.note

    store = secrets.open_store()
    assert "NOT encrypted" in store.backend_name
    value = canary()
    store.set("plain", "storage.s3_compatible.secret_key", value)
    assert store.get("plain", "storage.s3_compatible.secret_key") == value
    path = state_home / "keyring" / "plaintext-secrets.cfg"
    assert files_holding(state_home, value) == [path]  # the leak scanner does see an unencrypted value
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for session, secret_id in (("", "license.key"), ("plain", ""), ("plain", "bad\nid")):
        with pytest.raises(ValueError):
            store.get(session, secret_id)


def test_concurrent_writers_lose_no_secret(tmp_path):
    """Six wizards writing one encrypted keyring file at once (six `apply` of different sessions once lost secrets
    and failed with FileNotFoundError on a shared temporary name): every secret of every writer is there after."""
    state, home = tmp_path / "state", tmp_path / "home"
    home.mkdir()
    code = ("import os, sys, time\nfrom pathlib import Path\nfrom wizard import secrets\n"
            "store = secrets.open_store('cryptfile', passphrase=os.environ['WANDB_LOCAL_SETUP_PASSPHRASE'])\n"
            "Path(sys.argv[2], 'ready-' + sys.argv[1]).touch()\n"
            "while not Path(sys.argv[2], 'go').exists():\n    time.sleep(0.01)\n"  # all unlocked: write at once
            "for i in range(10):\n    store.set(sys.argv[1], f'secret.{i}', f'CANARY-{sys.argv[1]}-{i}')\n")
    env = dict(os.environ, WANDB_LOCAL_SETUP_HOME=str(state), HOME=str(home), WANDB_LOCAL_SETUP_PASSPHRASE="pw")
    flags = tmp_path / "flags"
    flags.mkdir()
    (flags / "go").touch()
    subprocess.run([sys.executable, "-c", code, "first", str(flags)], env=env, check=True, timeout=60)  # the file
    (flags / "go").unlink()
    writers = [subprocess.Popen([sys.executable, "-c", code, f"s{n}", str(flags)], env=env, stderr=subprocess.PIPE,
                                text=True) for n in range(6)]
    deadline = time.monotonic() + 90
    while len(list(flags.glob("ready-s*"))) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    (flags / "go").touch()
    errors = [w.communicate(timeout=120)[1] for w in writers]
    assert [w.returncode for w in writers] == [0] * 6, errors
    # Every entry is in the file (counted without decrypting: each decryption takes a key derivation), and the last
    # of each writer decrypts to its value.
    import configparser

    stored = configparser.RawConfigParser()
    stored.read(state / "keyring" / "secrets.cfg")
    entries = {section: set(stored.options(section)) for section in stored.sections()}
    assert sum(len(options) for section, options in entries.items() if section.endswith(tuple(
        f"_2Fs{n}" for n in range(6)))) == 60, entries  # 6 writers x 10 secrets (section: service, escaped)
    reader = subprocess.run([sys.executable, "-c", "from wizard import secrets\n"
                             "store = secrets.open_store('cryptfile', passphrase='pw')\n"
                             "print(sum(store.get(f's{n}', 'secret.9') == f'CANARY-s{n}-9' for n in range(6)))"],
                            env=env, check=True, timeout=60, capture_output=True, text=True)
    assert reader.stdout.strip() == "6"
    assert not list((state / "keyring").glob("*.tmp"))
