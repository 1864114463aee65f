"""A real MariaDB server on loopback for the database checks (one per test session, TLS with a test CA).

No MySQL 8 server can be installed here: MariaDB gives the real connection, TLS, login, "unsupported server",
database, privilege and server-variable paths. Tests create their own users and databases through the root
socket (`admin`), with names unique to the test, so they never depend on each other.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import unavailable
from tests.services.host_address import machine_address
from tests.services.openssl_certs import Certificates, make_certificates, openssl_missing
from tests.services.local_process import free_port

SERVICE = "MariaDB"


@dataclass
class MariaDB:
    port: int
    socket_path: Path
    certs: Certificates
    process: subprocess.Popen
    log: Path

    @property
    def host(self) -> str:
        return machine_address()  # not loopback: the server container could not reach that

    def admin(self, *statements: str) -> list[tuple]:
        """Run statements as root over the Unix socket; returns the last statement's rows."""
        import pymysql

        connection = pymysql.connect(unix_socket=str(self.socket_path), user="root", connect_timeout=5,
                                     read_timeout=10, write_timeout=10, autocommit=True)
        try:
            with connection.cursor() as cursor:
                rows: list[tuple] = []
                for statement in statements:
                    cursor.execute(statement)
                    rows = list(cursor.fetchall())
                return rows
        finally:
            connection.close()

    def account(self, grant: str | None = "ALL PRIVILEGES", create_database: bool = True,
                charset: str = "utf8mb4") -> "Account":
        """A fresh user (from any host) and database name; `grant` on that database, if given."""
        suffix = uuid.uuid4().hex[:10]
        account = Account(f"u_{suffix}", f"pw-{uuid.uuid4().hex}", f"db_{suffix}")
        statements = [f"CREATE USER '{account.user}'@'%' IDENTIFIED BY '{account.password}'"]
        if create_database:
            statements.append(f"CREATE DATABASE `{account.database}` CHARACTER SET {charset}")
        if grant:
            statements.append(f"GRANT {grant} ON `{account.database}`.* TO '{account.user}'@'%'")
        self.admin(*statements)
        return account

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass(frozen=True)
class Account:
    user: str
    password: str
    database: str


def start_mariadb(root: Path, tls: bool = True) -> MariaDB:
    for program in ("mariadb-install-db", "mariadbd"):
        if shutil.which(program) is None and not Path("/usr/sbin", program).exists():
            unavailable(SERVICE, f"`{program}` is not installed (apt install mariadb-server)")
    if openssl_missing():
        unavailable(SERVICE, openssl_missing())
    mariadbd = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    datadir, sock, log = root / "data", root / "mariadb.sock", root / "mariadb.log"
    certs = make_certificates(root / "tls")
    installed = subprocess.run(
        ["mariadb-install-db", "--no-defaults", "--user=root", f"--datadir={datadir}",
         "--auth-root-authentication-method=socket", "--skip-test-db"],
        capture_output=True, text=True, timeout=120,
    )
    if installed.returncode != 0:
        unavailable(SERVICE, f"mariadb-install-db failed: {installed.stderr[-500:]}")
    for attempt in range(3):  # a free port can be taken before mariadbd binds it (on loopback or this machine's address)
        port = free_port()
        process = subprocess.Popen(
            [mariadbd, "--no-defaults", "--user=root", f"--datadir={datadir}", f"--socket={sock}", f"--port={port}",
             f"--bind-address=127.0.0.1,{machine_address()}", "--skip-name-resolve", f"--log-error={log}",
             f"--pid-file={root / 'mariadb.pid'}", "--innodb-buffer-pool-size=32M",
             *([f"--ssl-ca={certs.ca}", f"--ssl-cert={certs.cert}", f"--ssl-key={certs.key}"] if tls else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        server = MariaDB(port, sock, certs, process, log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                server.admin("SELECT 1")
                return server
            except Exception:
                time.sleep(0.1)
        taken = log.exists() and "Address already in use" in log.read_text(errors="replace")
        if not taken or attempt == 2:
            break
        server.stop()
        log.unlink()
    text = log.read_text(errors="replace")[-800:] if log.exists() else ""
    server.stop()
    unavailable(SERVICE, f"mariadbd did not accept connections within 30 s: {text}")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """One MariaDB server for the test session (loopback, free port, TLS with a test CA)."""
    server = start_mariadb(tmp_path_factory.mktemp("mariadb"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mariadb_without_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """A second server that offers no TLS at all (TLS preferred then falls back, required fails)."""
    server = start_mariadb(tmp_path_factory.mktemp("mariadb-plain"), tls=False)
    yield server
    server.stop()


# The variables the checks read, as this MariaDB starts; tests that change them get them back afterwards.
SETTINGS = ("binlog_format", "innodb_online_alter_log_max_size", "sync_binlog", "innodb_flush_log_at_trx_commit",
            "binlog_row_image", "sort_buffer_size")


@pytest.fixture
def mariadb_settings(mariadb: MariaDB) -> Iterator[MariaDB]:
    """The server with its global settings restored after the test (SET GLOBAL changes are server-wide)."""
    names = ", ".join(f"'{name}'" for name in SETTINGS)
    before = mariadb.admin(f"SHOW GLOBAL VARIABLES WHERE Variable_name IN ({names})")
    yield mariadb
    mariadb.admin(*(f"SET GLOBAL {name} = '{value}'" if not value.isdigit() else f"SET GLOBAL {name} = {value}"
                    for name, value in before))
