"""Database step checks against a real MariaDB server (TLS with a test CA).

MariaDB is not a server W&B supports, which is itself a path to test: the version check must fail, while the
connection, TLS, login, database, privilege and settings checks run on real answers. The verdicts for a MySQL 8
server are tested on captured MySQL 8 answers in tests/unit/test_database_logic.py.
"""

from __future__ import annotations

import socket
import time

import pytest

from tests.services.host_address import machine_address
from tests.services.local_process import closed_port
from tests.services.mariadb import (  # noqa: F401 (fixtures)
    MariaDB, mariadb, mariadb_settings, mariadb_without_tls,
)
from wizard.checks import CheckContext, Status
from wizard.providers import mysql as db_checks
from wizard.checks.engine import checks_for
from tests.check_runs import collect
from wizard.draft import validate_step

CANARY = "canary-mysql-secret-51c9"
TIMEOUT = 3.0


def _section(server: MariaDB | None = None, account=None, **fields):
    values = {}
    if server is not None:
        values = {"host": server.host, "port": server.port, "tls": "required", "ca_file": str(server.certs.ca)}
    if account is not None:
        values.update(user=account.user, password=account.password, database=account.database)
    values.update(fields)
    secrets = {"database.mysql.password": values.pop("password", CANARY)}
    section, errors = validate_step("database", {"provider": "mysql", "mysql": values}, secrets)
    assert not errors, errors
    return section


async def _run(section, timeout: float = TIMEOUT, **options) -> dict[str, object]:
    results = await collect(checks_for("database"), CheckContext({"database": section}, timeout=timeout, **options))
    secret = section.password.get_secret_value()
    for result in results:
        for text in (result.message, result.hint, result.fix.changes if result.fix else ""):
            assert secret not in text and CANARY not in text, result
    return {result.id: result for result in results}


async def test_good_account_on_mariadb_fails_only_the_version(mariadb):
    account = mariadb.account()
    results = await _run(_section(mariadb, account))
    assert results["database.reachable"].status is Status.PASS
    assert results["database.tls"].status is Status.PASS
    assert "verified certificate" in results["database.tls"].message
    assert results["database.login"].status is Status.PASS
    version = results["database.version"]
    assert version.status is Status.FAIL
    assert "MariaDB" in version.message and "W&B requires MySQL 8.0.28 or newer" in version.message
    assert results["database.schema"].status is Status.PASS
    assert "utf8mb4" in results["database.schema"].message
    assert results["database.privileges"].status is Status.PASS


async def test_wrong_password_is_a_failed_login(mariadb):
    account = mariadb.account()
    results = await _run(_section(mariadb, account, password=CANARY))
    login = results["database.login"]
    assert login.status is Status.FAIL
    assert "refused the login" in login.message and account.user in login.message
    assert "database.version" not in results


async def test_missing_database_offers_to_create_it_when_the_user_may(mariadb):
    account = mariadb.account(create_database=False)  # ALL on the (absent) database: may create it
    section = _section(mariadb, account)
    schema = (await _run(section))["database.schema"]
    assert schema.status is Status.FAIL
    assert f"`{account.database}` does not exist" in schema.message
    assert schema.fix is not None
    assert schema.fix.changes == (f"CREATE DATABASE `{account.database}` CHARACTER SET utf8mb4 "
                                  "COLLATE utf8mb4_general_ci;")
    await schema.fix.apply()
    assert mariadb.admin(f"SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA "
                         f"WHERE SCHEMA_NAME = '{account.database}'") == [("utf8mb4",)]
    assert (await _run(section))["database.schema"].status is Status.PASS


async def test_fix_that_the_server_refuses_raises_in_plain_words(mariadb):
    account = mariadb.account(create_database=False)
    schema = (await _run(_section(mariadb, account)))["database.schema"]
    mariadb.admin(f"REVOKE ALL PRIVILEGES ON `{account.database}`.* FROM '{account.user}'@'%'")
    with pytest.raises(RuntimeError) as raised:
        await schema.fix.apply()
    assert f"Creating the database `{account.database}` failed" in str(raised.value)
    assert "denied" in str(raised.value) and account.password not in str(raised.value)


async def test_missing_database_without_privileges_has_no_fix(mariadb):
    account = mariadb.account(grant=None, create_database=False)
    results = await _run(_section(mariadb, account))
    assert results["database.schema"].status is Status.FAIL
    assert results["database.schema"].fix is None
    assert "CREATE DATABASE" in results["database.schema"].hint
    privileges = results["database.privileges"]
    assert privileges.status is Status.FAIL
    assert "no privileges" in privileges.message
    assert f"GRANT ALL PRIVILEGES ON `{account.database}`.*" in privileges.hint


async def test_partial_privileges_are_listed(mariadb):
    account = mariadb.account(grant="SELECT, INSERT, UPDATE, DELETE")
    privileges = (await _run(_section(mariadb, account)))["database.privileges"]
    assert privileges.status is Status.FAIL
    assert "CREATE, DROP" in privileges.message and "ALTER" in privileges.message
    assert "SELECT" not in privileges.message.split(":")[-1]


async def test_latin1_database_fails_the_charset(mariadb):
    account = mariadb.account(charset="latin1")
    schema = (await _run(_section(mariadb, account)))["database.schema"]
    assert schema.status is Status.FAIL
    assert "latin1" in schema.message and "utf8mb4" in schema.message
    assert "ALTER DATABASE" in schema.hint


async def test_settings_read_from_the_server(mariadb_settings):
    server = mariadb_settings
    server.admin("SET GLOBAL binlog_format = 'MIXED'", "SET GLOBAL sort_buffer_size = 33554432",
                 "SET GLOBAL sync_binlog = 1", "SET GLOBAL binlog_row_image = 'MINIMAL'",
                 "SET GLOBAL innodb_online_alter_log_max_size = 268435456")
    results = await _run(_section(server, server.account()))
    binlog = results["database.setting.binlog_format"]
    assert binlog.status is Status.WARN
    assert "binlog_format is MIXED; W&B expects ROW" in binlog.message
    assert "`binlog_format = ROW` under [mysqld]" in binlog.hint
    assert results["database.setting.sort_buffer_size"].status is Status.PASS
    assert "older docs" in results["database.setting.sort_buffer_size"].message
    assert results["database.setting.sync_binlog"].status is Status.PASS
    assert results["database.setting.binlog_row_image"].status is Status.PASS
    assert results["database.setting.innodb_online_alter_log_max_size"].status is Status.PASS

    server.admin("SET GLOBAL binlog_format = 'ROW'", "SET GLOBAL sort_buffer_size = 262144",
                 "SET GLOBAL sync_binlog = 0")
    results = await _run(_section(server, server.account()))
    assert results["database.setting.binlog_format"].status is Status.PASS
    sort = results["database.setting.sort_buffer_size"]
    assert sort.status is Status.WARN and "262144" in sort.message and "67108864" in sort.message
    assert results["database.setting.sync_binlog"].status is Status.WARN


async def test_without_the_ca_file_the_certificate_is_called_self_signed(mariadb):
    account = mariadb.account()
    for mode, status in (("required", Status.FAIL), ("preferred", Status.WARN)):
        results = await _run(_section(mariadb, account, tls=mode, ca_file=None))
        tls = results["database.tls"]
        assert tls.status is status, mode
        assert "self-signed" in tls.message
        assert "W&B does not support self-signed certificates for MySQL TLS" in tls.message
        assert "database.login" not in results


async def test_insecure_mode_warns_and_continues(mariadb):
    results = await _run(_section(mariadb, mariadb.account(), ca_file=None), insecure=True)
    assert results["database.tls-verify"].status is Status.WARN
    assert "without certificate verification" in results["database.tls"].message
    assert results["database.login"].status is Status.PASS


async def test_tls_disabled_logs_in_without_a_tls_result(mariadb):
    results = await _run(_section(mariadb, mariadb.account(), tls="disabled", ca_file=None))
    assert results["database.login"].status is Status.PASS
    assert "database.tls" not in results


async def test_server_without_tls(mariadb_without_tls):
    server = mariadb_without_tls
    account = server.account()
    preferred = await _run(_section(server, account, tls="preferred"))
    assert preferred["database.tls"].status is Status.WARN
    assert "does not offer TLS" in preferred["database.tls"].message
    assert preferred["database.login"].status is Status.PASS
    required = await _run(_section(server, account, tls="required"))
    assert required["database.tls"].status is Status.FAIL
    assert "does not offer TLS, and TLS is required" in required["database.tls"].message
    assert "database.login" not in required


async def test_closed_port_fails_fast():
    started = time.monotonic()
    results = await _run(_section(host=machine_address(), port=closed_port(machine_address())))
    assert results["database.reachable"].status is Status.FAIL
    assert "refused the connection" in results["database.reachable"].message
    assert time.monotonic() - started < 1


async def test_hanging_server_is_reported_within_the_timeout():
    with socket.socket() as silent:  # accepts TCP connections (kernel backlog) and never sends a greeting
        silent.bind((machine_address(), 0))
        silent.listen(8)
        started = time.monotonic()
        results = await _run(_section(host=machine_address(), port=silent.getsockname()[1]), timeout=2.0)
        elapsed = time.monotonic() - started
    assert elapsed < 2.3, elapsed
    assert results["database.reachable"].status is Status.PASS
    login = results.get("database.login") or results.get("database")
    assert login.status in (Status.FAIL, Status.ERROR)
    assert "did not answer" in login.message or "No answer" in login.message


def test_setup_statements_use_the_names_and_a_password_placeholder():
    section = _section(host="db.example.com", user="wandb_app", database="wandb_prod", password=CANARY)
    text = db_checks.setup_statements(section)
    assert "CREATE USER 'wandb_app'@'%' IDENTIFIED BY '<PASSWORD>';" in text
    assert "CREATE DATABASE `wandb_prod` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;" in text
    assert "GRANT ALL ON `wandb_prod`.* TO 'wandb_app'@'%' WITH GRANT OPTION;" in text
    assert CANARY not in text


async def test_embedded_database_is_skipped():
    section, _ = validate_step("database", {"provider": "embedded"})
    results = await collect(checks_for("database"), CheckContext({"database": section}))
    assert [r.status for r in results] == [Status.SKIPPED]


async def test_for_kubernetes_the_address_is_checked_as_a_pod_would_use_it(mariadb):
    """`check --target kubernetes`: the same checks, the pod's rules. A loopback address is the pod itself and no
    host.docker.internal fix is offered (pods have no such name); a reachable address passes, saying that the
    check ran from this machine."""
    account = mariadb.account()
    results = await _run(_section(mariadb, account, host="127.0.0.1"), target="kubernetes")
    reachable = results["database.reachable"]
    assert reachable.status is Status.FAIL and reachable.fix is None
    assert "inside a pod that is the pod itself" in reachable.message and "Service name" in reachable.hint
    assert "database.login" not in results or results["database.login"].status is Status.SKIPPED
    docker = await _run(_section(mariadb, account, host="127.0.0.1"))
    assert "host.docker.internal" in docker["database.reachable"].fix.description  # the Docker rule, unchanged

    results = await _run(_section(mariadb, account), target="kubernetes")
    assert results["database.reachable"].status is Status.PASS, results["database.reachable"]
    assert "checked from this machine: the pods must reach it too" in results["database.reachable"].message
    assert results["database.login"].status is Status.PASS
