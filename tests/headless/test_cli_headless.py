"""Headless commands run as a user would: check, export, sessions export/copy (real keyring file, real sockets)."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.cli_runner import run_wizard, store_secret
from wizard.session import SessionStore
from tests.services.local_process import free_port

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "assets" / "check-report.schema.json").read_text())
PASS = "headless passphrase"
CANARY = f"CANARY-{uuid.uuid4().hex}"


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "state"


def cli(home: Path, *args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    return run_wizard(*args, state=home, home=home.parent, passphrase=PASS, env_extra=env_extra, cwd=home.parent)


def answers_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "answers.toml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_check_passing_configuration_exits_0(tmp_path, home):
    port = free_port()
    own = _own_address()
    path = answers_file(tmp_path, f"""
        [host]
        url = "http://{own}:{port}"
        [server]
        port = {port}
        """)
    # The settings only: this 2-core machine's preflight warns (4 CPUs are recommended); see the test below.
    result = cli(home, "check", "--answers", str(path), "--no-preflight")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Overall: pass" in result.stdout and "Preflight" not in result.stdout


def test_check_runs_this_machines_preflight(tmp_path, home):
    """What a real apply would find before launching is found by `check`: here Docker Engine cannot be reached
    (DOCKER_HOST names a socket nothing listens on) and the bind path is a file."""
    not_a_directory = tmp_path / "data"
    not_a_directory.write_text("")
    path = answers_file(tmp_path, f"""
        [host]
        url = "http://{_own_address()}:{free_port()}"
        [server]
        volume = "{not_a_directory}"
        """)
    env = {"DOCKER_HOST": f"unix://{tmp_path / 'no-engine.sock'}"}
    result = cli(home, "check", "--answers", str(path), env_extra=env)
    assert result.returncode == 8, result.stdout + result.stderr
    preflight = result.stdout.split("Preflight (this machine)\n", 1)[1]
    assert "[✗ fail] Docker Engine reachable:" in preflight and "no-engine.sock" in preflight
    assert re.search(r"\[✗ fail\] Data volume: .*" + re.escape(str(not_a_directory)), preflight), preflight
    report = json.loads(cli(home, "check", "--answers", str(path), "--json", env_extra=env).stdout)
    jsonschema.validate(report, SCHEMA)
    (step,) = [step for step in report["steps"] if step["step"] == "preflight"]
    assert step["title"] == "Preflight (this machine)"
    assert {"docker.engine": "fail", "existing.volume": "fail"}.items() <= {
        r["id"]: r["status"] for r in step["results"]}.items()
    order = [step["step"] for step in report["steps"]]
    assert order.index("preflight") == order.index("server") + 1  # right after Server options
    skipped = cli(home, "check", "--answers", str(path), "--no-preflight", "--json", env_extra=env)
    assert "preflight" not in {step["step"] for step in json.loads(skipped.stdout)["steps"]}


def _own_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing address
        address = s.getsockname()[0]
    if address.startswith("127."):
        pytest.skip("no non-loopback address on this machine")
    return address


def test_check_with_warnings_exits_7_and_json_validates(tmp_path, home):
    path = answers_file(tmp_path, """
        [host]
        url = "http://localhost:8080"
        """)
    # The settings' checks only: this machine's preflight is tested below (it needs Docker Engine in a known state).
    result = cli(home, "check", "--answers", str(path), "--json", "--no-preflight")
    assert result.returncode == 7, result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, SCHEMA)
    assert report["overall"] == "warn"
    host = next(step for step in report["steps"] if step["step"] == "host")
    assert {r["id"] for r in host["results"]} >= {"host.dns", "host.ports", "host.port-free"}
    assert result.stderr == ""  # progress only on a terminal


def test_check_with_failures_exits_8(tmp_path, home):
    path = answers_file(tmp_path, """
        [host]
        url = "https://no-such-host.invalid"
        """)
    result = cli(home, "check", "--answers", str(path))
    assert result.returncode == 8
    assert "'no-such-host.invalid' does not resolve" in result.stdout
    assert "how to fix:" in result.stdout


def test_invalid_answers_exit_9_with_lines(tmp_path, home):
    path = answers_file(tmp_path, """
        [host]
        url = "ftp://x"
        [database]
        provider = "mysql"
        host = "db"
        password = "literal-secret"
        """)
    result = cli(home, "check", "--answers", str(path))
    assert result.returncode == 9
    assert "answers.toml:2: host.url: Server URL: scheme 'ftp' is not supported" in result.stderr
    assert "answers.toml:6: database.password: holds a literal secret" in result.stderr
    assert "literal-secret" not in result.stderr
    # With --json the refusal is a report too: file, line, setting and message of each problem.
    result = cli(home, "check", "--answers", str(path), "--json")
    assert result.returncode == 9 and "answers.toml:2" in result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, SCHEMA)
    assert report["overall"] == "invalid" and report["steps"] == []
    assert {(e["line"], e["setting"]) for e in report["errors"]} == {(2, "host.url"), (6, "database.password")}
    assert all(e["file"] == str(path) for e in report["errors"]) and "literal-secret" not in result.stdout


def test_check_needs_a_source(home):
    assert cli(home, "check").returncode == 2


def test_export_env_from_answers(tmp_path, home):
    path = answers_file(tmp_path, """
        [database]
        provider = "mysql"
        host = "db"
        password = "env:T_DB_PASSWORD"
        """)
    out = tmp_path / "wandb.env"
    result = cli(home, "export", "--answers", str(path), "--format", "env", "--out", str(out),
                 env_extra={"T_DB_PASSWORD": CANARY})
    assert result.returncode == 0, result.stderr
    assert CANARY not in out.read_text()
    assert "${DATABASE_MYSQL_PASSWORD}" in out.read_text()
    result = cli(home, "export", "--answers", str(path), "--format", "env", "--out", str(out), "--with-secrets",
                 env_extra={"T_DB_PASSWORD": CANARY})
    assert result.returncode == 0
    assert CANARY in out.read_text()
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert "hold secrets in clear text" in result.stderr


def test_export_for_the_kubernetes_operator(tmp_path, home):
    """`--format operator`: the resource and, beside it, the commands that create the Secrets (printed too); no
    secret anywhere; `--namespace` is checked; the removed `helm` format says what replaces it."""
    path = answers_file(tmp_path, """
        [host]
        url = "https://wandb.example.com"
        [database]
        provider = "mysql"
        host = "db.internal"
        password = "env:T_DB_PASSWORD"
        """)
    out = tmp_path / "k8s" / "wandb-operator.yaml"
    result = cli(home, "export", "--answers", str(path), "--format", "operator", "--out", str(out),
                 "--namespace", "wandb-prod", env_extra={"T_DB_PASSWORD": CANARY})
    assert result.returncode == 0, result.stderr
    script = tmp_path / "k8s" / "wandb-operator-secrets.sh"
    assert result.stdout.splitlines()[:2] == [f"wrote {out}", f"wrote {script}"]
    assert f"  create the Secrets first: sh {script}" in result.stdout
    assert f"  then: kubectl apply -f {out}" in result.stdout
    assert "kubectl -n wandb-prod create secret generic wandb-mysql" in script.read_text()
    assert CANARY not in result.stdout + result.stderr + out.read_text() + script.read_text()
    (resource,) = [doc for doc in yaml.safe_load_all(out.read_text()) if doc and doc["kind"] == "WeightsAndBiases"]
    assert resource["spec"]["values"]["global"]["mysql"]["passwordSecret"] == {"name": "wandb-mysql",
                                                                               "passwordKey": "MYSQL_PASSWORD"}

    bad = cli(home, "export", "--answers", str(path), "--format", "operator", "--out", str(out), "--namespace", "Prod_1")
    assert bad.returncode == 2 and "'Prod_1' is not a Kubernetes namespace" in bad.stderr
    old = cli(home, "export", "--answers", str(path), "--format", "helm", "--out", str(tmp_path / "values.yaml"))
    assert old.returncode == 2, old.stderr
    assert "the helm format was removed" in old.stderr and "--format operator-values" in old.stderr
    assert "Traceback" not in old.stderr and not (tmp_path / "values.yaml").exists()


def test_check_for_kubernetes_uses_the_pods_rules(tmp_path, home):
    """`check --target kubernetes`: Docker's host entry and this machine's port and preflight do not apply; files on
    the server's volume cannot be kept there. Said as results, in the same report."""
    path = answers_file(tmp_path, """
        [host]
        url = "https://wandb.example.com"
        [cache]
        provider = "redis"
        host = "host.docker.internal"
        tls = false
        """)
    result = cli(home, "check", "--answers", str(path), "--target", "kubernetes", "--json", "--timeout", "10")
    assert result.returncode == 8, result.stdout + result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, SCHEMA)
    assert "preflight" not in [step["step"] for step in report["steps"]]
    by_id = {r["id"]: r for step in report["steps"] for r in step["results"]}
    assert {by_id[i]["status"] for i in ("host.dns", "host.ports", "host.port-free")} == {"skipped"}
    assert by_id["storage.local"]["status"] == "fail" and "object storage" in by_id["storage.local"]["message"]
    cache = [r for r in by_id.values() if r["id"].startswith("cache.") and r["status"] == "fail"]
    assert any("pods cannot resolve it" in r["message"] for r in cache), cache
    docker = json.loads(cli(home, "check", "--answers", str(path), "--json", "--timeout", "10").stdout)
    assert "preflight" in [step["step"] for step in docker["steps"]]


def test_session_exported_to_answers_gives_the_same_environment(tmp_path, home):
    """A session (values in the file, secrets in the keyring) -> answers file -> the identical environment."""
    store = SessionStore(home / "sessions")
    session = store.create("tui")
    session.set_values("host", {"url": "https://wandb.example.com"})
    session.set_values("cache", {"provider": "redis", "redis": {"host": "redis.internal", "user": "wandb"}})
    session.set_values("server", {"port": 9000, "extra_env": [{"name": "GORILLA_X", "value": "a=b #c"}]})
    store.save(session)
    store_secret(home, home.parent, PASS, 'tui', 'cache.redis.password', CANARY)

    from_session = tmp_path / "from-session.env"
    assert cli(home, "export", "--session", "tui", "--format", "env", "--out", str(from_session),
               "--with-secrets").returncode == 0
    answers_path = tmp_path / "tui.toml"
    result = cli(home, "sessions", "export", "tui", "--out", str(answers_path))
    assert result.returncode == 0, result.stderr
    assert CANARY not in answers_path.read_text()
    assert 'password = "keyring:"' in answers_path.read_text()
    from_answers = tmp_path / "from-answers.env"
    result = cli(home, "export", "--answers", str(answers_path), "--format", "env", "--out", str(from_answers),
                 "--with-secrets")
    assert result.returncode == 0, result.stderr
    assert from_answers.read_text() == from_session.read_text()
    assert f"REDIS=redis://wandb:{CANARY}@redis.internal:6379?tls=true" in from_session.read_text()


def test_sessions_copy_copies_values_and_secrets(tmp_path, home):
    store = SessionStore(home / "sessions")
    session = store.create("a")
    session.set_values("database", {"provider": "mysql", "mysql": {"host": "db"}})
    store.save(session)
    store_secret(home, home.parent, PASS, 'a', 'database.mysql.password', CANARY)
    result = cli(home, "sessions", "copy", "a", "b")
    assert result.returncode == 0, result.stderr
    assert "1 secrets" in result.stdout
    out = tmp_path / "b.env"
    assert cli(home, "export", "--session", "b", "--format", "env", "--out", str(out), "--with-secrets").returncode == 0
    assert CANARY in out.read_text()


def test_a_copy_killed_midway_leaves_no_half_session_and_a_retry_completes(tmp_path, home):
    """`sessions copy` killed midway once left a session with 1-2 of 5 secrets, listed as normal, and a retry was
    refused ("already exists")."""
    import configparser
    import signal
    import time

    store = SessionStore(home / "sessions")
    session = store.create("a")
    session.set_values("database", {"provider": "mysql", "mysql": {"host": "db"}})
    session.set_values("cache", {"provider": "redis", "redis": {"host": "r"}})
    session.set_values("slack", {"client_id": "1.2"})
    session.set_values("storage", {"provider": "s3-compatible", "s3_compatible": {
        "endpoint": "minio:9000", "bucket": "b", "access_key": "k"}})
    store.save(session)
    ids = ["license.key", "database.mysql.password", "cache.redis.password", "slack.secret",
           "storage.s3_compatible.secret_key"]
    for secret_id in ids:
        store_secret(home, home.parent, PASS, "a", secret_id, f"{CANARY}-{secret_id}")
    keyring_file = home / "keyring" / "secrets.cfg"

    def target_secrets() -> int:
        stored = configparser.RawConfigParser()
        stored.read(keyring_file)
        return len(stored.options("wandb_2Dlocal_2Dsetup_2Fb")) if stored.has_section("wandb_2Dlocal_2Dsetup_2Fb") \
            else 0

    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_LOCAL_SETUP", "DBUS_"))}
    env.update(WANDB_LOCAL_SETUP_HOME=str(home), WANDB_LOCAL_SETUP_KEYRING="cryptfile", HOME=str(home.parent),
               WANDB_LOCAL_SETUP_PASSPHRASE=PASS)
    copying = subprocess.Popen([sys.executable, "-m", "wizard", "sessions", "copy", "a", "b"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while target_secrets() < 1 and copying.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    copying.send_signal(signal.SIGKILL)
    copying.wait(timeout=10)
    assert 1 <= target_secrets() < len(ids)  # killed with part of the secrets copied
    assert not store.exists("b") and "b" not in cli(home, "sessions", "list").stdout
    retried = cli(home, "sessions", "copy", "a", "b")
    assert retried.returncode == 0, retried.stderr
    assert f"({len(ids)} secrets)" in retried.stdout and target_secrets() == len(ids)


def test_exports_write_only_to_a_regular_file_or_a_new_path(tmp_path, home):
    """As root, `export --with-secrets --out /dev/null` once replaced /dev/null with a 0600 file of secrets, and
    `--out <directory>` ended in an unexpected IsADirectoryError."""
    from wizard.exports import ExportRefused, check_destination

    path = answers_file(tmp_path, """
        [host]
        url = "http://10.0.0.5:8080"
        """)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    target = tmp_path / "real.env"
    target.write_text("old\n")
    link = tmp_path / "link.env"
    link.symlink_to(target)
    for out, message in [(tmp_path, "is a directory: give the path of the file to write inside it"),
                         (fifo, "is not a regular file (a device, FIFO or socket)"),
                         (link, "is a symbolic link: give the path of the file itself")]:
        result = cli(home, "export", "--answers", str(path), "--format", "env", "--out", str(out), "--with-secrets")
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"wandb-local-setup: {out} {message}"), result.stderr
        assert "unexpected error" not in result.stderr
    assert target.read_text() == "old\n" and link.is_symlink() and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    for device in ("/dev/null", "/dev/stdout"):  # checked without writing: the machine's own files stay as they are
        with pytest.raises(ExportRefused):
            check_destination(Path(device))
    written = cli(home, "export", "--answers", str(path), "--format", "env", "--out", str(target))
    assert written.returncode == 0 and "HOST=http://10.0.0.5:8080" in target.read_text()  # a regular file: replaced
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_an_export_refuses_a_value_it_cannot_write_literally():
    # The settings refuse line breaks (wizard.draft); an export holds on its own for any configuration it is given.
    from wizard import config as c, exports

    cfg = c.InstallConfig(host=c.HostConfig.model_construct(url="http://a\nLICENSE=evil", reverse_proxy=False))
    with pytest.raises(exports.ExportRefused, match="HOST cannot be written to an env file: its value contains a "
                                                     "line break"):
        exports.env_file(cfg, with_secrets=False)


def test_ctrl_c_ends_check_at_once_and_quietly(tmp_path, home):
    """`check` took 14.9 s to exit after Ctrl-C at --timeout 10 (a check blocked on a connection that never
    answers holds its thread), and a SIGINT at the wrong moment printed event-loop warnings."""
    import signal
    import threading
    import time

    from tests.services.host_address import machine_address

    silent = socket.socket()  # accepts, never answers: a MySQL and a Redis that hang
    silent.bind((machine_address(), 0))
    silent.listen(16)
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.extend(iter(lambda: silent.accept()[0], None)), daemon=True).start()
    host, port = silent.getsockname()
    path = answers_file(tmp_path, f"""
        [database]
        provider = "mysql"
        host = "{host}"
        port = {port}
        password = "env:T_PW"
        [cache]
        provider = "redis"
        host = "{host}"
        port = {port}
        """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_LOCAL_SETUP", "DBUS_"))}
    env.update(WANDB_LOCAL_SETUP_HOME=str(home), HOME=str(home.parent), T_PW="pw", PYTHONWARNINGS="default")
    try:
        checking = subprocess.Popen([sys.executable, "-m", "wizard", "check", "--answers", str(path), "--timeout",
                                     "20", "--no-preflight"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
        deadline = time.monotonic() + 30
        while len(accepted) < 2 and time.monotonic() < deadline:  # both checks are connected and waiting
            time.sleep(0.05)
        assert len(accepted) >= 2
        interrupted = time.monotonic()
        checking.send_signal(signal.SIGINT)
        out, err = checking.communicate(timeout=30)
        took = time.monotonic() - interrupted
    finally:
        silent.close()
        for connection in accepted:
            connection.close()
    assert checking.returncode == 130
    assert took < 1.0, f"{took:.1f} s after Ctrl-C"
    assert err.strip().splitlines() == ["Interrupted: everything entered up to the last field left is saved."], err
