"""The database verdicts as pure functions, fed with answers captured from real MySQL 8 servers (none can run in
the test environment) and a few MariaDB/older-MySQL ones. The live paths are in tests/integration."""

from __future__ import annotations

import pytest

from wizard.checks import Status
from wizard.providers import mysql as d

# SHOW GRANTS for the user created exactly as W&B's docs say (MySQL 8.0.36).
MYSQL8_WANDB_GRANTS = (
    "GRANT USAGE ON *.* TO `wandb_local`@`%`",
    "GRANT ALL PRIVILEGES ON `wandb_local`.* TO `wandb_local`@`%` WITH GRANT OPTION",
)
# SHOW GRANTS for an Amazon RDS master user (MySQL 8.0.36): static privileges listed one by one, dynamic ones in
# a second row, and a role.
MYSQL8_RDS_MASTER_GRANTS = (
    "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, REFERENCES, INDEX, ALTER, SHOW DATABASES, "
    "CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE, REPLICATION CLIENT, CREATE VIEW, SHOW VIEW, "
    "CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT, TRIGGER ON *.* TO `admin`@`%` WITH GRANT OPTION",
    "GRANT APPLICATION_PASSWORD_ADMIN,BACKUP_ADMIN,FLUSH_OPTIMIZER_COSTS,FLUSH_STATUS,FLUSH_TABLES,"
    "FLUSH_USER_RESOURCES,ROLE_ADMIN,SESSION_VARIABLES_ADMIN,SET_USER_ID,SHOW_ROUTINE,XA_RECOVER_ADMIN ON *.* "
    "TO `admin`@`%` WITH GRANT OPTION",
    "GRANT `rds_superuser_role`@`%` TO `admin`@`%`",
)
# SHOW GLOBAL VARIABLES on a stock MySQL 8.0.36 (no my.cnf changes) and on one configured as W&B documents.
MYSQL8_DEFAULT_VARIABLES = {
    "binlog_format": "ROW", "binlog_row_image": "FULL", "innodb_flush_log_at_trx_commit": "1",
    "innodb_online_alter_log_max_size": "134217728", "sort_buffer_size": "262144", "sync_binlog": "1",
}
MYSQL8_WANDB_VARIABLES = {
    "binlog_format": "ROW", "binlog_row_image": "MINIMAL", "innodb_flush_log_at_trx_commit": "1",
    "innodb_online_alter_log_max_size": "268435456", "sort_buffer_size": "67108864", "sync_binlog": "1",
}


@pytest.mark.parametrize("version", ["8.0.36", "8.0.28", "8.0.36-0ubuntu0.22.04.1", "8.0.36-28", "8.4.0", "9.1.0"])
def test_captured_mysql8_versions_pass(version):
    result = d.version_result(version)
    assert result.status is Status.PASS, result.message
    assert version in result.message


@pytest.mark.parametrize("version", ["8.0.27", "5.7.44-log", "5.7.44"])
def test_older_mysql_fails_naming_the_minimum(version):
    result = d.version_result(version)
    assert result.status is Status.FAIL
    assert "W&B requires MySQL 8.0.28 or newer" in result.message


@pytest.mark.parametrize("version", ["10.11.6-MariaDB-0+deb12u1", "5.5.5-10.11.6-MariaDB", "11.4.2-MariaDB"])
def test_mariadb_fails_as_unsupported(version):
    result = d.version_result(version)
    assert result.status is Status.FAIL
    assert "MariaDB" in result.message and "8.0.28" in result.message


def test_version_parsing():
    assert d.parse_version("10.11.6-MariaDB-0+deb12u1") == d.ServerVersion("mariadb", (10, 11, 6),
                                                                            "10.11.6-MariaDB-0+deb12u1")
    assert d.parse_version("5.5.5-10.11.6-MariaDB").number == (10, 11, 6)
    assert d.parse_version("8.0.36").number == (8, 0, 36)
    assert d.parse_version("unknown").number is None
    assert d.version_result("unknown").status is Status.WARN
    assert d.version_result("8.0").status is Status.WARN  # no patch: 8.0.x may be older than 8.0.28


def test_captured_mysql8_wandb_user_has_all_privileges():
    result = d.privileges_result(MYSQL8_WANDB_GRANTS, "wandb_local", "wandb_local")
    assert result.status is Status.PASS
    assert d.can_create_database(MYSQL8_WANDB_GRANTS, "wandb_local")


def test_captured_mysql8_rds_master_user_covers_every_database():
    assert d.privileges_result(MYSQL8_RDS_MASTER_GRANTS, "wandb_local", "admin").status is Status.PASS
    assert d.can_create_database(MYSQL8_RDS_MASTER_GRANTS, "anything")


def test_captured_mysql8_grant_on_another_database_counts_for_nothing():
    result = d.privileges_result(MYSQL8_WANDB_GRANTS, "wandb_prod", "wandb_local")
    assert result.status is Status.FAIL
    assert "no privileges on `wandb_prod`" in result.message
    assert "GRANT ALL PRIVILEGES ON `wandb_prod`.* TO 'wandb_local'@'%';" in result.hint


def test_captured_mysql8_partial_grant_lists_what_is_missing():
    grants = ("GRANT USAGE ON *.* TO `wandb_local`@`%`",
              "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER ON `wandb\\_local`.* "
              "TO `wandb_local`@`%`")
    result = d.privileges_result(grants, "wandb_local", "wandb_local")
    assert result.status is Status.FAIL
    missing = result.message.split(": ", 1)[1]
    assert "REFERENCES" in missing and "CREATE TEMPORARY TABLES" in missing and "TRIGGER" in missing
    assert "SELECT" not in missing and "ALTER," not in missing.replace("ALTER ROUTINE", "")


def test_grant_patterns_follow_like_rules():
    assert d.granted_privileges(("GRANT ALL ON `wandb%`.* TO `u`@`%`",), "wandb_local")
    assert d.granted_privileges(("GRANT ALL ON `wandb_local`.* TO `u`@`%`",), "wandbxlocal")  # '_' is a wildcard
    assert not d.granted_privileges(("GRANT ALL ON `wandb\\_local`.* TO `u`@`%`",), "wandbxlocal")
    assert not d.granted_privileges(("GRANT SELECT ON `wandb_local`.`runs` TO `u`@`%`",), "wandb_local")
    assert not d.granted_privileges(("GRANT PROXY ON ``@`` TO `root`@`localhost` WITH GRANT OPTION",), "x")


def test_captured_mysql8_role_only_grants_are_named():
    grants = ("GRANT USAGE ON *.* TO `wandb_local`@`%`", "GRANT `wandb_role`@`%` TO `wandb_local`@`%`")
    result = d.privileges_result(grants, "wandb_local", "wandb_local")
    assert result.status is Status.FAIL
    assert "roles were not counted" in result.message


def test_captured_mysql8_default_settings_warn_with_the_mycnf_line():
    results = {r.id: r for r in d.settings_results(MYSQL8_DEFAULT_VARIABLES)}
    assert results["database.setting.binlog_format"].status is Status.PASS
    assert results["database.setting.sync_binlog"].status is Status.PASS
    row_image = results["database.setting.binlog_row_image"]
    assert row_image.status is Status.WARN
    assert "binlog_row_image is FULL; W&B expects MINIMAL" in row_image.message
    assert "`binlog_row_image = MINIMAL` under [mysqld]" in row_image.hint
    assert "SET PERSIST binlog_row_image = 'MINIMAL';" in row_image.hint
    alter_log = results["database.setting.innodb_online_alter_log_max_size"]
    assert alter_log.status is Status.WARN and "134217728" in alter_log.message
    assert "SET PERSIST innodb_online_alter_log_max_size = 268435456;" in alter_log.hint
    sort = results["database.setting.sort_buffer_size"]
    assert sort.status is Status.WARN and "262144" in sort.message and "67108864" in sort.message


def test_captured_mysql8_wandb_settings_all_pass():
    results = d.settings_results(MYSQL8_WANDB_VARIABLES)
    assert [r.status for r in results] == [Status.PASS] * len(d.SETTINGS)


def test_sort_buffer_of_the_older_docs_passes_with_a_note():
    result = d.setting_result(d.SETTINGS[-1], "33554432")
    assert result.status is Status.PASS
    assert "older docs" in result.message


def test_missing_or_odd_variables_warn():
    assert d.setting_result(d.SETTINGS[0], None).status is Status.WARN
    assert d.setting_result(d.SETTINGS[1], "lots").status is Status.WARN
    assert d.setting_result(d.SETTINGS[0], "row").status is Status.PASS  # values compare case-insensitively


def test_schema_verdicts():
    assert d.schema_result(("utf8mb4", "utf8mb4_0900_ai_ci"), "w", "u", ()).status is Status.PASS
    utf8 = d.schema_result(("utf8mb3", "utf8mb3_general_ci"), "w", "u", ())
    assert utf8.status is Status.FAIL and "utf8mb3" in utf8.message


async def test_missing_database_fix_only_with_the_create_privilege():
    async def create():
        return None

    offered = d.schema_result(None, "wandb_local", "wandb_local", MYSQL8_WANDB_GRANTS, create)
    assert offered.fix is not None
    assert offered.fix.changes == "CREATE DATABASE `wandb_local` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;"
    select_only = ("GRANT SELECT ON `wandb_local`.* TO `wandb_local`@`%`",)
    assert d.schema_result(None, "wandb_local", "wandb_local", select_only, create).fix is None


def test_tls_verdicts_without_a_server():
    section = type("S", (), {"tls": "required"})()
    assert d._tls_result(section, "", False).status is Status.FAIL
    section.tls = "preferred"
    assert d._tls_result(section, "", False).status is Status.WARN
    assert d._tls_result(section, "TLS_AES_256_GCM_SHA384", False).status is Status.PASS
    section.tls = "disabled"
    assert d._tls_result(section, "", False) is None
