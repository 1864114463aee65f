"""Session model and store: round trip, listing, names, file modes, corrupt and too-new files, secrets.

Real files under tmp_path; no mocks. Process-level behaviour (kills, locks) is in test_session_processes.py.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from wizard import session as session_module
from wizard.session import (
    NAME_RULE,
    SCHEMA_VERSION,
    InvalidSessionName,
    SecretInSession,
    Session,
    SessionCorrupt,
    SessionError,
    SessionExists,
    SessionNotFound,
    SessionStore,
    SessionTooNew,
)
from wizard.steps import CONFIG_STEPS, StepStatus


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "state" / "sessions"


@pytest.fixture
def store(root: Path) -> SessionStore:
    return SessionStore(root)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_raw(root: Path, name: str, content: bytes | dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}.json"
    path.write_bytes(json.dumps(content).encode() if isinstance(content, dict) else content)
    return path


def valid_dict(**overrides) -> dict:
    data = {"schema_version": SCHEMA_VERSION, "name": "x", "created": "2024-01-01T00:00:00+00:00",
            "updated": "2024-01-01T00:00:00+00:00", "current_step": "host", "values": {}, "steps": {}, "flags": {}}
    data.update(overrides)
    return data


# ---------------------------------------------------------------- model


def test_progress_helpers() -> None:
    s = Session(name="p")
    assert s.status("host") is StepStatus.UNTOUCHED
    assert s.first_incomplete_step() == CONFIG_STEPS[0]
    assert s.steps_done() == 0
    for step in CONFIG_STEPS:
        s.set_status(step, StepStatus.CHECKED_OK)
    s.set_status("storage", StepStatus.CHECKED_WARN, "bucket is not versioned")
    s.set_status("cache", StepStatus.EDITED)
    assert s.first_incomplete_step() == "cache"
    assert s.steps_done() == len(CONFIG_STEPS) - 1
    assert s.worst_status() is StepStatus.CHECKED_WARN
    assert s.step_message("storage") == "bucket is not versioned"
    s.set_status("cache", "checked-ok")  # the plain string value is accepted too
    assert s.first_incomplete_step() == "review"
    assert s.steps_done() == len(CONFIG_STEPS)
    s.set_status("sso", StepStatus.FAILED, "no such issuer")
    assert s.worst_status() is StepStatus.FAILED
    assert s.first_incomplete_step() == "sso"


def test_set_values_copies_and_checks_step() -> None:
    s = Session(name="p")
    typed = {"provider": "s3", "s3": {"bucket": "b"}}
    s.set_values("storage", typed)
    typed["s3"]["bucket"] = "changed later"
    assert s.values["storage"] == {"provider": "s3", "s3": {"bucket": "b"}}
    with pytest.raises(ValueError, match="unknown step"):
        s.set_values("nope", {})
    with pytest.raises(ValueError, match="unknown step"):
        s.set_status("nope", StepStatus.EDITED)
    with pytest.raises(ValueError):
        s.set_status("host", "bogus")


# ---------------------------------------------------------------- store basics


def test_round_trip_all_fields(store: SessionStore, root: Path) -> None:
    s = store.create("prod-1")
    s.set_values("host", {"host": "http://x:8080"})
    s.set_values("storage", {"provider": "s3", "s3": {"bucket": "b", "region": ""}, "kms": None})
    s.set_values("server", {"port": "not-a-number", "telemetry": False, "note": "héllo ✓"})
    s.set_status("host", StepStatus.CHECKED_OK)
    s.set_status("storage", StepStatus.FAILED, "bucket b does not exist")
    s.current_step = "storage"
    s.flags["local_restore_on"] = True
    store.save(s)

    loaded = store.load("prod-1")
    assert loaded == s  # every field, timestamps included
    assert loaded.schema_version == SCHEMA_VERSION
    assert loaded.status("storage") is StepStatus.FAILED
    assert loaded.step_message("storage") == "bucket b does not exist"
    assert loaded.steps["host"]["updated"] == s.steps["host"]["updated"]

    on_disk = json.loads((root / "prod-1.json").read_text("utf-8"))
    assert set(on_disk) == {"schema_version", "app_version", "name", "created", "updated", "current_step",
                            "values", "steps", "flags"}
    assert on_disk["steps"]["storage"] == {"status": "failed", "updated": s.steps["storage"]["updated"],
                                           "message": "bucket b does not exist"}
    assert on_disk["values"]["server"]["note"] == "héllo ✓"


def test_save_refreshes_updated_keeps_created(store: SessionStore) -> None:
    s = store.create("a")
    s.created = "2020-01-01T00:00:00+00:00"
    s.updated = "2020-01-01T00:00:00+00:00"
    store.save(s)
    loaded = store.load("a")
    assert loaded.created == "2020-01-01T00:00:00+00:00"
    assert loaded.updated > "2020-01-01T00:00:00+00:00"


def test_default_root_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WANDB_LOCAL_SETUP_HOME", str(tmp_path / "home"))
    store = SessionStore()
    store.create("x")
    assert (tmp_path / "home" / "sessions" / "x.json").is_file()


def test_create_existing_refused(store: SessionStore) -> None:
    s = store.create("a")
    s.set_values("host", {"host": "h"})
    store.save(s)
    with pytest.raises(SessionExists, match="A session named 'a' already exists"):
        store.create("a")
    assert store.load("a").values == {"host": {"host": "h"}}  # untouched


def test_load_missing(store: SessionStore) -> None:
    with pytest.raises(SessionNotFound, match="no session named 'ghost'"):
        store.load("ghost")


def test_exists(store: SessionStore) -> None:
    assert not store.exists("a")
    store.create("a")
    assert store.exists("a")


def test_copy(store: SessionStore) -> None:
    src = store.create("src")
    src.set_values("storage", {"provider": "s3", "s3": {"bucket": "b"}})
    src.set_status("storage", StepStatus.CHECKED_OK)
    src.current_step = "database"
    src.flags["local_restore_on"] = True
    store.save(src)

    dst = store.copy("src", "dst")
    assert dst.name == "dst"
    loaded = store.load("dst")
    assert loaded == dst
    assert (loaded.values, loaded.steps, loaded.current_step, loaded.flags) == (
        src.values, src.steps, src.current_step, src.flags)
    # The copy is independent of the original.
    loaded.values["storage"]["s3"]["bucket"] = "other"
    store.save(loaded)
    assert store.load("src").values["storage"]["s3"]["bucket"] == "b"

    with pytest.raises(SessionExists):
        store.copy("src", "dst")
    with pytest.raises(SessionNotFound):
        store.copy("ghost", "new")
    assert not store.exists("new")


def test_delete(store: SessionStore, root: Path) -> None:
    store.create("a")
    store.create("b")
    store.delete("a")
    assert not store.exists("a")
    assert [s.name for s in store.list()] == ["b"]
    assert sorted(p.name for p in root.iterdir()) == ["b.json"]  # no lock file left behind
    with pytest.raises(SessionNotFound):
        store.delete("a")


def test_delete_while_this_store_holds_the_lock(store: SessionStore, root: Path) -> None:
    store.create("a")
    lock = store.lock("a")
    store.delete("a")
    assert not lock.held
    assert list(root.iterdir()) == []


# ---------------------------------------------------------------- list


def test_list_summaries(store: SessionStore, root: Path) -> None:
    assert store.list() == []  # root does not exist yet
    store.create("a")
    b = store.create("b")
    for step in CONFIG_STEPS[:3]:
        b.set_status(step, StepStatus.CHECKED_OK)
    b.set_status("database", StepStatus.FAILED, "refused")
    store.save(b)
    write_raw(root, "a", valid_dict(updated="2000-01-01T00:00:00+00:00"))  # an old session, to check the order

    write_raw(root, "broken", b"{nope")
    write_raw(root, "future", valid_dict(schema_version=SCHEMA_VERSION + 1, app_version="9.9.9"))
    write_raw(root, "bad name", valid_dict())
    (root / ".a.json.999999.tmp-abcd").write_text("{")  # stray temp file: not a session
    (root / "a.json.corrupt-20240101T000000Z").write_text("{")  # kept-aside file: not a session
    before = sorted(p.name for p in root.iterdir())

    summaries = store.list()
    assert [s.name for s in summaries[:2]] == ["b", "a"]  # most recent first
    by_name = {s.name: s for s in summaries}
    assert set(by_name) == {"a", "b", "broken", "future", "bad name"}
    assert (by_name["b"].steps_done, by_name["b"].steps_total) == (3, len(CONFIG_STEPS))
    assert by_name["b"].worst is StepStatus.FAILED
    assert by_name["b"].updated == store.load("b").updated
    assert (by_name["a"].steps_done, by_name["a"].worst, by_name["a"].error) == (0, StepStatus.UNTOUCHED, None)
    assert "not valid JSON" in by_name["broken"].error
    assert "9.9.9" in by_name["future"].error
    assert "Session name 'bad name' is not valid" in by_name["bad name"].error
    assert by_name["broken"].path == root / "broken.json"
    assert sorted(p.name for p in root.iterdir()) == before  # listing moves nothing


# ---------------------------------------------------------------- names


@pytest.mark.parametrize("name", ["a", "0", "prod-1", "A.b_c-D", "x" * 64, "a..b", "a.json", "a.lock"])
def test_valid_names(store: SessionStore, name: str) -> None:
    store.create(name)
    assert store.load(name).name == name


@pytest.mark.parametrize(
    "name", ["", ".hidden", "-x", "_x", "a/b", "../x", "a b", "x" * 65, "a\n", "é", "a:b", "a*", None]
)
def test_invalid_names(store: SessionStore, name, root: Path) -> None:
    calls = [
        lambda: store.create(name),
        lambda: store.load(name),
        lambda: store.exists(name),
        lambda: store.delete(name),
        lambda: store.copy("ok", name),
        lambda: store.lock(name),
        lambda: store.save(Session(name=name)),
    ]
    store.create("ok")
    for call in calls:
        with pytest.raises(InvalidSessionName) as exc:
            call()
        assert str(exc.value) == f"Session name {name!r} is not valid: use {NAME_RULE}."
    assert [p.name for p in root.iterdir()] == ["ok.json"]


# ---------------------------------------------------------------- modes


def test_new_dir_and_files_are_private(store: SessionStore, root: Path) -> None:
    old = os.umask(0)  # the widest umask: modes must not depend on it
    try:
        s = store.create("a")
        store.save(s)
        store.copy("a", "b")
        with store.lock("a"):
            assert mode(root / "a.lock") == 0o600
    finally:
        os.umask(old)
    assert mode(root) == 0o700
    assert mode(root / "a.json") == 0o600
    assert mode(root / "b.json") == 0o600


def test_loose_existing_dir_and_file_are_tightened(store: SessionStore, root: Path) -> None:
    root.mkdir(parents=True)
    os.chmod(root, 0o755)
    path = write_raw(root, "a", valid_dict())
    os.chmod(path, 0o644)
    store.save(store.load("a"))
    assert mode(root) == 0o700
    assert mode(path) == 0o600


# ---------------------------------------------------------------- corrupt, too new, migrations


CORRUPT = {
    "bad json": b'{"schema_version": 1, "values": {',
    "empty": b"",
    "not utf-8": b"\xff\xfe\x00",
    "a list": b"[]",
    "no version": json.dumps({"values": {}, "steps": {}}).encode(),
    "version is text": json.dumps(valid_dict(schema_version="1")).encode(),
    "values not a dict": json.dumps(valid_dict(values=[])).encode(),
    "step values not a dict": json.dumps(valid_dict(values={"host": "x"})).encode(),
    "steps missing": json.dumps({k: v for k, v in valid_dict().items() if k != "steps"}).encode(),
    "unknown status": json.dumps(valid_dict(steps={"host": {"status": "bogus"}})).encode(),
    "flags a list": json.dumps(valid_dict(flags=[])).encode(),
    "unknown old format": json.dumps(valid_dict(schema_version=0)).encode(),
    "nested too deeply": b"[" * 100_000,
}


@pytest.mark.parametrize("content", CORRUPT.values(), ids=CORRUPT.keys())
def test_corrupt_file_is_kept_aside(store: SessionStore, root: Path, content: bytes) -> None:
    path = write_raw(root, "c", content)
    with pytest.raises(SessionCorrupt) as exc:
        store.load("c")
    kept = exc.value.kept_path
    assert kept is not None and kept.name.startswith("c.json.corrupt-") and kept.name.endswith("Z")
    assert str(exc.value).startswith("Session 'c' could not be read: ")
    assert str(kept) in str(exc.value)
    assert kept.read_bytes() == content
    assert not path.exists()
    assert [s.name for s in store.list()] == []
    # A fresh session under the same name leaves the kept file alone.
    store.save(store.create("c"))
    assert kept.read_bytes() == content


def test_kept_files_are_never_overwritten(store: SessionStore, root: Path) -> None:
    kept = []
    for content in (b"{one", b"{two", b"{three"):  # within the same second: names must still differ
        write_raw(root, "c", content)
        with pytest.raises(SessionCorrupt) as exc:
            store.load("c")
        kept.append(exc.value.kept_path)
    assert len(set(kept)) == 3
    assert [p.read_bytes() for p in kept] == [b"{one", b"{two", b"{three"]


def test_newer_schema_refused_and_untouched(store: SessionStore, root: Path) -> None:
    path = write_raw(root, "f", valid_dict(schema_version=SCHEMA_VERSION + 1, app_version="9.9.9", values=[]))
    os.utime(path, (1_000_000_000, 1_000_000_000))
    content = path.read_bytes()
    with pytest.raises(SessionTooNew) as exc:
        store.load("f")
    message = str(exc.value)
    assert "wandb-local-setup 9.9.9" in message and f"format {SCHEMA_VERSION + 1}" in message
    assert "Update wandb-local-setup" in message
    assert (exc.value.schema_version, exc.value.written_by) == (SCHEMA_VERSION + 1, "9.9.9")
    assert path.read_bytes() == content
    assert path.stat().st_mtime == 1_000_000_000
    assert [p.name for p in root.iterdir()] == ["f.json"]


def test_migration_hook_upgrades_older_files(
    store: SessionStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def v1_to_v2(data: dict) -> dict:
        data["values"]["host"] = {"host": data["values"]["host"].pop("url")}
        return data

    write_raw(root, "old", valid_dict(schema_version=1, values={"host": {"url": "http://x"}}))
    monkeypatch.setattr(session_module, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(session_module.MIGRATIONS, 1, v1_to_v2)
    loaded = store.load("old")
    assert loaded.values == {"host": {"host": "http://x"}}
    store.save(loaded)
    assert json.loads((root / "old.json").read_text())["schema_version"] == 2


# ---------------------------------------------------------------- secrets


CANARY = "canary-7f3c9e1d-do-not-store"


def files_containing(directory: Path, needle: str) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def test_secret_key_with_a_value_is_refused_and_never_written(store: SessionStore, tmp_path: Path) -> None:
    s = store.create("s")
    s.set_values("database", {"host": "db", "password": ""})
    store.save(s, secret_keys={"database.password", "storage.s3.secret_key"})  # empty secret: fine
    before = store.path("s").read_bytes()

    s.set_values("database", {"host": "db", "password": CANARY})
    with pytest.raises(SecretInSession) as exc:
        store.save(s, secret_keys={"database.password", "storage.s3.secret_key"})
    assert "'database.password'" in str(exc.value) and "keyring" in str(exc.value)
    assert CANARY not in str(exc.value) and CANARY not in repr(exc.value)
    assert store.path("s").read_bytes() == before
    assert files_containing(tmp_path, CANARY) == []

    s.set_values("database", {"host": "db"})
    s.set_values("storage", {"s3": {"secret_key": CANARY}})
    with pytest.raises(SecretInSession, match=r"'storage\.s3\.secret_key'"):
        store.save(s, secret_keys={"database.password", "storage.s3.secret_key"})
    with store.lock("s"):
        pass
    store.copy("s", "s2")
    store.list()
    assert files_containing(tmp_path, CANARY) == []


@pytest.mark.parametrize("where", ["values", "flags"])
def test_secretstr_anywhere_is_refused(store: SessionStore, tmp_path: Path, where: str) -> None:
    s = store.create("s")
    if where == "values":
        s.set_values("slack", {"nested": {"token": SecretStr(CANARY)}})
        key = "slack.nested.token"
    else:
        s.flags["token"] = SecretStr(CANARY)
        key = "flags.token"
    with pytest.raises(SecretInSession, match=f"'{key}'") as exc:
        store.save(s)
    assert CANARY not in str(exc.value)
    assert files_containing(tmp_path, CANARY) == []


def test_unstorable_value_is_refused_cleanly(store: SessionStore, root: Path) -> None:
    s = store.create("s")
    before = store.path("s").read_bytes()
    s.set_values("host", {"host": object()})
    with pytest.raises(SessionError, match="cannot be stored"):
        store.save(s)
    assert store.path("s").read_bytes() == before
    assert sorted(p.name for p in root.iterdir()) == ["s.json"]  # no temp file left
