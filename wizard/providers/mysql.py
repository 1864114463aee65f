"""An external MySQL 8 database. The server gets MYSQL=mysql://<user>:<password>@<host>:<port>/<database>?tls=...
(the password URL-encoded) and, with a private CA, the CA file mounted read-only as MYSQL_CA_CERT_PATH.

Its checks: reachable from the container, TLS as chosen, login, server version (MySQL 8.0.28+), the database and
its character set, the user's privileges and the server settings W&B documents.

One connection gathers the facts (`ServerFacts`); pure functions judge them, so the verdicts for a MySQL 8
server are tested on captured values too (no MySQL 8 can run in the test environment, MariaDB can).
PyMySQL is blocking: it runs in a thread with connect/read/write timeouts, so a hung server cannot hold it long.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import ssl
from dataclasses import dataclass
from typing import Annotated, Any, Awaitable, Callable, Literal
from urllib.parse import quote

from pydantic import AfterValidator, Field, field_validator

from wizard import validators as v
from wizard.checks.container_view import Unreachable, reach
from wizard.checks.engine import CheckContext, CheckResult, FixAction, Status
from wizard.checks.net import Deadline, NetError, insecure_warning, ssl_context, truncate
from wizard.checks.tcp import certificate_error, connection_error, where
from wizard.container import FILES_DIR, Endpoint, Mount
from wizard.instructions import Instruction, provider_draft
from wizard.providers.base import ChartParts, Hostname, Parts, Port, Provider, RequiredSecret, Secrets, Section, Values, netloc
from wizard.text import MASK

TITLE = "MySQL server"
CA_PATH = f"{FILES_DIR}/mysql-ca.pem"
MIN_VERSION = (8, 0, 28)
SELF_SIGNED = "W&B does not support self-signed certificates for MySQL TLS."

# What GRANT ALL PRIVILEGES ON db.* gives on MySQL 8 (database-level privileges); W&B asks for ALL.
DATABASE_PRIVILEGES = (
    "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "REFERENCES", "INDEX", "ALTER",
    "CREATE TEMPORARY TABLES", "LOCK TABLES", "EXECUTE", "CREATE VIEW", "SHOW VIEW", "CREATE ROUTINE",
    "ALTER ROUTINE", "EVENT", "TRIGGER",
)


class MySQLDatabase(Section):
    provider: Literal["mysql"] = "mysql"
    host: Hostname = Field(title="Host", description="MySQL 8 server host name or IP")
    port: Port = Field(3306, title="Port", description="Default 3306")
    user: str = Field("wandb_local", title="User", description="Database user for W&B")
    password: RequiredSecret = Field(title="Password", description="That user's password")
    database: str = Field("wandb_local", title="Database", description="Database (schema) name")
    tls: Literal["disabled", "preferred", "required"] = Field(
        "preferred", title="TLS", description="disabled, preferred (W&B's default) or required (verified)"
    )
    ca_file: Annotated[str, AfterValidator(v.file_path)] | None = Field(
        None, title="CA file", description="Private CA, given to the server read-only (MYSQL_CA_CERT_PATH) and checked"
    )

    @field_validator("user", "database")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_$-]{1,64}", value):
            raise ValueError(f"'{value}' is not accepted: expected 1-64 letters, digits, '_', '$' or '-'")
        return value


def render(section: MySQLDatabase, out: Parts) -> None:
    password = out.url_secret("database.mysql.password", section.password)
    tls = {"disabled": "", "preferred": "?tls=preferred", "required": "?tls=true"}[section.tls]
    out.put("MYSQL", f"mysql://{quote(section.user, safe='')}:{password}@{netloc(section.host, section.port)}/"
                     f"{section.database}{tls}", True)
    if section.ca_file and section.tls != "disabled":
        out.mounts.append(Mount(section.ca_file, CA_PATH, "database.mysql.ca_file"))
        out.put("MYSQL_CA_CERT_PATH", CA_PATH)  # as W&B's operator chart gives it
    out.endpoints.append(Endpoint("MYSQL", "database.mysql.host", section.host, section.port))


def _result(suffix: str, status: Status, message: str, hint: str = "", fix: FixAction | None = None) -> CheckResult:
    return CheckResult(f"database.{suffix}", TITLE, status, message, hint, fix)


@dataclass(frozen=True)
class ServerFacts:
    """What one login learns about the server, as the queries returned it."""

    version: str  # SELECT VERSION()
    tls_cipher: str  # SHOW SESSION STATUS LIKE 'Ssl_cipher' ('' when not encrypted)
    grants: tuple[str, ...]  # SHOW GRANTS rows
    schema: tuple[str, str] | None  # (charset, collation) of the database, None when not visible
    variables: dict[str, str]  # SHOW GLOBAL VARIABLES for SETTINGS


# --- Statements ------------------------------------------------------------------------------------------------


def create_database_statement(database: str) -> str:
    return f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;"


def setup_statements(section: MySQLDatabase) -> str:
    """CREATE USER / CREATE DATABASE / GRANT for a MySQL administrator, the password as a placeholder."""
    return mysql_statements(section.user, section.database, "<PASSWORD>")


# --- Server version --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerVersion:
    flavor: str  # "mysql" or "mariadb"
    number: tuple[int, ...] | None  # (8, 0, 36); None when VERSION() cannot be read
    text: str


def parse_version(text: str) -> ServerVersion:
    """VERSION() as MySQL ('8.0.36', '8.0.36-0ubuntu0.22.04.1', '8.0.36-28' Percona) or MariaDB
    ('10.11.6-MariaDB-0+deb12u1', '5.5.5-10.11.6-MariaDB' as some proxies show it) prints it."""
    flavor = "mariadb" if "mariadb" in text.lower() else "mysql"
    text_without_prefix = re.sub(r"^5\.5\.5-", "", text) if flavor == "mariadb" else text
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", text_without_prefix)
    number = tuple(int(part) for part in match.groups() if part is not None) if match else None
    return ServerVersion(flavor, number, text)


def version_result(text: str) -> CheckResult:
    version, shown = parse_version(text), truncate(text, 80)
    if version.flavor == "mariadb":
        return _result("version", Status.FAIL, f"The server is MariaDB ({shown}); W&B requires MySQL 8.0.28 or newer "
                       "and does not support MariaDB.", "Use a MySQL 8.0.28+ server (or the embedded database).")
    if version.number is None:
        return _result("version", Status.WARN, f"The server's version '{shown}' could not be read.",
                       "Make sure the server is MySQL 8.0.28 or newer.")
    padded = (version.number + (0, 0, 0))[:3]
    if version.number[:2] == (8, 0) and len(version.number) < 3:
        return _result("version", Status.WARN, f"The server reports MySQL {shown}, without a patch version.",
                       "Make sure the server is MySQL 8.0.28 or newer (e.g. SELECT VERSION() on the server).")
    if padded < MIN_VERSION:
        return _result("version", Status.FAIL, f"The server runs MySQL {shown}; W&B requires MySQL 8.0.28 or newer.",
                       "Upgrade the server to MySQL 8.0.28 or newer (8.0 latest or 8.4 LTS).")
    return _result("version", Status.PASS, f"The server runs MySQL {shown} (W&B requires 8.0.28 or newer).")


# --- Privileges ------------------------------------------------------------------------------------------------

_GRANT = re.compile(r"^GRANT (?P<privileges>.+?) ON (?P<db>`(?:[^`]|``)*`|\*)\.(?P<table>`(?:[^`]|``)*`|\*) TO ",
                    re.IGNORECASE)


def _name_matches(pattern: str, name: str) -> bool:
    """A database name in a grant is a LIKE pattern: '_' and '%' are wildcards, '\\_' a literal '_'."""
    regex, chars, i = "", pattern, 0
    while i < len(chars):
        char = chars[i]
        if char == "\\" and i + 1 < len(chars):
            regex += re.escape(chars[i + 1])
            i += 2
            continue
        regex += ".*" if char == "%" else "." if char == "_" else re.escape(char)
        i += 1
    return re.fullmatch(regex, name, re.DOTALL) is not None


def granted_privileges(grants: tuple[str, ...] | list[str], database: str) -> set[str]:
    """Privileges on every table of `database` from the SHOW GRANTS rows (global and database grants).
    ALL [PRIVILEGES] expands to the database privileges; roles and table grants are not counted."""
    granted: set[str] = set()
    for row in grants:
        match = _GRANT.match(row.strip())
        if not match or match.group("table") != "*":
            continue
        db = match.group("db")
        if db != "*" and not _name_matches(db[1:-1].replace("``", "`"), database):
            continue
        for privilege in (part.strip().upper() for part in match.group("privileges").split(",")):
            if privilege in ("ALL", "ALL PRIVILEGES"):
                granted.update(DATABASE_PRIVILEGES)
            else:
                granted.add(privilege)
    return granted


def _grant_statement(user: str, database: str) -> str:
    return f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'%';"


def privileges_result(grants: tuple[str, ...] | list[str], database: str, user: str) -> CheckResult:
    missing = [p for p in DATABASE_PRIVILEGES if p not in granted_privileges(grants, database)]
    if not missing:
        return _result("privileges", Status.PASS, f"The user '{user}' has all privileges on `{database}`.")
    roles = [row for row in grants if " ON " not in row.upper() and row.upper().startswith("GRANT ")]
    role_note = " Privileges given through roles were not counted." if roles else ""
    if len(missing) == len(DATABASE_PRIVILEGES):
        message = f"The user '{user}' has no privileges on `{database}`; W&B needs ALL PRIVILEGES.{role_note}"
    else:
        message = (f"The user '{user}' lacks {len(missing)} of the privileges W&B needs on `{database}`: "
                   f"{', '.join(missing)}.{role_note}")
    return _result("privileges", Status.FAIL, message,
                   f"As a MySQL administrator run: {_grant_statement(user, database)} (use the user's host "
                   "instead of '%' if it was created for one host).")


def can_create_database(grants: tuple[str, ...] | list[str], database: str) -> bool:
    return "CREATE" in granted_privileges(grants, database)


# --- Database and character set --------------------------------------------------------------------------------


def schema_result(schema: tuple[str, str] | None, database: str, user: str, grants: tuple[str, ...] | list[str],
                  create: Callable[[], Awaitable[None]] | None = None) -> CheckResult:
    """`create`: an async callable creating the database, offered as a fix when the user may create it."""
    if schema is None:
        fix = None
        if create is not None and can_create_database(grants, database):
            fix = FixAction(f"Create the database `{database}` with utf8mb4 as '{user}'",
                            create_database_statement(database), create)
        return _result("schema", Status.FAIL,
                       f"The database `{database}` does not exist, or the user '{user}' cannot see it (MySQL hides "
                       "databases a user has no privileges on).",
                       f"As a MySQL administrator run: {create_database_statement(database)} "
                       f"{_grant_statement(user, database)}", fix)
    charset, collation = schema
    if charset.lower() != "utf8mb4":
        return _result("schema", Status.FAIL,
                       f"The database `{database}` uses the character set {truncate(charset, 40)}; W&B needs utf8mb4.",
                       f"If it holds no tables yet, run: ALTER DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE "
                       "utf8mb4_general_ci; (existing tables keep their character set).")
    return _result("schema", Status.PASS,
                   f"The database `{database}` exists with utf8mb4 ({truncate(collation, 40)}).")


# --- Server settings -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    name: str
    required: str  # the value W&B documents
    minimum: int | None = None  # numbers: accept this or more
    note_below: int | None = None  # numbers: from `minimum` up to this, pass with a note

    @property
    def mycnf_line(self) -> str:
        return f"{self.name} = {self.required}"


SETTINGS = (
    Setting("binlog_format", "ROW"),
    Setting("innodb_online_alter_log_max_size", "268435456", minimum=268435456),
    Setting("sync_binlog", "1"),
    Setting("innodb_flush_log_at_trx_commit", "1"),
    Setting("binlog_row_image", "MINIMAL"),
    # Current docs: 64 MiB; older docs and W&B's helm chart: 32 MiB. Both are accepted.
    Setting("sort_buffer_size", "67108864", minimum=33554432, note_below=67108864),
)


def setting_result(setting: Setting, value: str | None) -> CheckResult:
    suffix = f"setting.{setting.name}"
    how = (f"Add `{setting.mycnf_line}` under [mysqld] in the server's my.cnf and restart MySQL (or run SET PERSIST "
           f"{setting.name} = {setting.required if setting.required.isdigit() else repr(setting.required)}; as an "
           "administrator); "
           "on a managed service set it in the parameter group.")
    if value is None:
        return _result(suffix, Status.WARN, f"The server does not report {setting.name} (W&B expects "
                       f"{setting.required}).", how)
    shown = truncate(value, 40)
    if setting.minimum is not None:
        if not value.strip().isdigit():
            return _result(suffix, Status.WARN, f"{setting.name} is '{shown}', not a number; W&B expects "
                           f"{setting.required}.", how)
        number = int(value)
        if number < setting.minimum:
            return _result(suffix, Status.WARN, f"{setting.name} is {number}; W&B expects {setting.required}.", how)
        if setting.note_below is not None and number < setting.note_below:
            return _result(suffix, Status.PASS, f"{setting.name} is {number}: accepted. W&B's current docs ask for "
                           f"{setting.required} (older docs and the helm chart: {setting.minimum}).")
        return _result(suffix, Status.PASS, f"{setting.name} is {number} (W&B: {setting.required}).")
    if value.strip().upper() != setting.required.upper():
        return _result(suffix, Status.WARN, f"{setting.name} is {shown}; W&B expects {setting.required}.", how)
    return _result(suffix, Status.PASS, f"{setting.name} is {shown}, as W&B expects.")


def settings_results(variables: dict[str, str]) -> list[CheckResult]:
    lowered = {name.lower(): value for name, value in variables.items()}
    return [setting_result(setting, lowered.get(setting.name)) for setting in SETTINGS]


# --- Talking to the server -------------------------------------------------------------------------------------


class _Failed(Exception):
    def __init__(self, *results: CheckResult):
        self.results = results


def _tls_options(section: MySQLDatabase, ctx: CheckContext) -> dict:
    """PyMySQL options for the chosen TLS mode: verified TLS (system CAs + the CA file) unless disabled."""
    if section.tls == "disabled":
        return {"ssl_disabled": True}
    if ctx.insecure:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        return {"ssl": context}
    return {"ssl": ssl_context(dataclasses.replace(ctx, ca_file=section.ca_file or ctx.ca_file))}


def _connect(section: MySQLDatabase, options: dict, timeout: float):
    import pymysql

    return pymysql.connect(host=section.host, port=section.port, user=section.user,
                           password=section.password.get_secret_value(), connect_timeout=timeout,
                           read_timeout=timeout, write_timeout=timeout, autocommit=True, **options)


def _gather(connection, database: str) -> ServerFacts:
    names = ", ".join(f"'{setting.name}'" for setting in SETTINGS)
    with connection.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        version = str(cursor.fetchone()[0])
        cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        row = cursor.fetchone()
        cipher = str(row[1]) if row else ""
        cursor.execute("SHOW GRANTS")
        grants = tuple(str(row[0]) for row in cursor.fetchall())
        cursor.execute("SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "
                       "WHERE SCHEMA_NAME = %s", (database,))
        row = cursor.fetchone()
        schema = (str(row[0]), str(row[1])) if row else None
        cursor.execute(f"SHOW GLOBAL VARIABLES WHERE Variable_name IN ({names})")
        variables = {str(name): str(value) for name, value in cursor.fetchall()}
    return ServerFacts(version, cipher, grants, schema, variables)


def _login_failure(exc: BaseException, section: MySQLDatabase, timeout: float) -> CheckResult:
    """A PyMySQL connect error in plain words (never with the password)."""
    secret = section.password.get_secret_value()
    args: tuple[Any, ...] = getattr(exc, "args", ())
    code = args[0] if args and isinstance(args[0], int) else None
    text = truncate(str(args[1] if len(args) > 1 else exc).replace(secret, "****"))
    cause = getattr(exc, "original_exception", None) or exc.__cause__ or exc.__context__ or exc
    place = where(section.host, section.port)
    unverified = next((item for item in (cause, exc) if isinstance(item, ssl.SSLCertVerificationError)), None)
    if unverified is not None:
        error = certificate_error(unverified, section.host, section.port)
        if error.kind == "untrusted":
            status = Status.FAIL if section.tls == "required" else Status.WARN
            return _result("tls", status, f"{error.message} {SELF_SIGNED}",
                           "Use a certificate from a trusted CA; for a private CA set the CA file (Database › "
                           "CA file). The other checks did not run: the password is sent only over verified TLS.")
        return _result("tls", Status.FAIL, error.message, error.hint)
    if code == 2026 or "SSL is required" in text:
        return _result("tls", Status.FAIL, f"{place} does not offer TLS, and TLS is required.",
                       "Enable TLS on the server (ssl_cert, ssl_key), or choose TLS preferred or disabled.")
    if code == 1045:
        return _result("login", Status.FAIL, f"MySQL refused the login of '{section.user}': wrong user name or "
                       f"password, or the user is not allowed from this machine's address ({text}).",
                       f"Check the password; the user must exist for this host, e.g. '{section.user}'@'%'.")
    if code == 1130:
        return _result("login", Status.FAIL, f"MySQL does not let this machine connect ({text}).",
                       f"Create the user for this host or for '%', e.g. '{section.user}'@'%'.")
    if isinstance(cause, (OSError, asyncio.TimeoutError)) and not isinstance(cause, ssl.SSLError):
        error = connection_error(cause, section.host, section.port, timeout)
        return _result("login", Status.FAIL, error.message, error.hint)
    if isinstance(exc, RuntimeError) and "cryptography" in text:
        return _result("login", Status.FAIL, f"This user's authentication needs the 'cryptography' package: {text}",
                       "Install the wizard with its dependencies, or use TLS.")
    return _result("login", Status.FAIL, f"Logging in to {place} failed: {text}",
                   "Check the port (is it a MySQL server?), the TLS setting and the credentials.")


async def _login(section: MySQLDatabase, ctx: CheckContext, deadline: Deadline):
    """An open PyMySQL connection; raises _Failed with the result explaining why not."""
    import pymysql

    async def attempt(options: dict):
        timeout = deadline.left()
        try:
            return await asyncio.wait_for(asyncio.to_thread(_connect, section, options, timeout), timeout + 0.5)
        except (pymysql.err.MySQLError, OSError, RuntimeError, asyncio.TimeoutError) as exc:
            raise _Failed(_login_failure(exc, section, timeout)) from None

    try:
        options = _tls_options(section, ctx)
    except NetError as error:
        raise _Failed(_result("tls", Status.FAIL, error.message, error.hint)) from None
    try:
        return await attempt(options)
    except _Failed as failed:
        result = failed.results[0]
        if section.tls == "preferred" and result.id == "database.tls" and "does not offer TLS" in result.message:
            return await attempt({"ssl_disabled": True})  # preferred: unencrypted, as W&B will connect
        raise


def _tls_result(section: MySQLDatabase, cipher: str, insecure: bool) -> CheckResult | None:
    if section.tls == "disabled":
        return None
    if cipher:
        verified = "without certificate verification" if insecure else "with a verified certificate"
        return _result("tls", Status.PASS, f"The connection is encrypted ({truncate(cipher, 60)}) {verified}.")
    if section.tls == "required":
        return _result("tls", Status.FAIL, "The server does not offer TLS, and TLS is required.",
                       "Enable TLS on the server (ssl_cert, ssl_key), or choose TLS preferred or disabled.")
    return _result("tls", Status.WARN, "The server does not offer TLS: W&B will connect unencrypted.",
                   "Enable TLS on the server (ssl_cert, ssl_key) if the network is not private.")


async def _create_database(section: MySQLDatabase, ctx: CheckContext) -> None:
    """The fix: CREATE DATABASE as the configured user. Raises RuntimeError with the server's words on failure."""
    import pymysql

    def run() -> None:
        connection = _connect(section, _tls_options(section, ctx), ctx.timeout)
        try:
            with connection.cursor() as cursor:
                cursor.execute(create_database_statement(section.database).rstrip(";"))
        finally:
            connection.close()

    try:
        await asyncio.wait_for(asyncio.to_thread(run), ctx.timeout * 2)
    except (pymysql.err.MySQLError, OSError, NetError) as exc:
        text = str(exc).replace(section.password.get_secret_value(), "****")
        raise RuntimeError(f"Creating the database `{section.database}` failed: {truncate(text)}") from None


async def check_mysql(ctx: CheckContext, section: MySQLDatabase):
    deadline = Deadline(ctx.timeout)
    try:
        try:
            section, reached = await reach(ctx, "database", "MYSQL", section, "database.reachable", TITLE,
                                           deadline.left() * 0.5)
        except Unreachable as problem:
            raise _Failed(problem.result) from None
        yield reached
        if section.ca_file and section.tls != "disabled":
            yield _result("ca", Status.WARN, f"The server gets the CA file {section.ca_file} as MYSQL_CA_CERT_PATH "
                          f"(as W&B's operator chart gives it), but {SELF_SIGNED}",
                          "Prefer a certificate from a public CA (managed MySQL services have one); if the server "
                          "refuses the connection after launch, this is the cause.")
        if ctx.insecure and section.tls != "disabled":
            yield insecure_warning("database.tls-verify", TITLE)
        connection = await _login(section, ctx, deadline)
        try:
            facts = await asyncio.wait_for(asyncio.to_thread(_gather, connection, section.database),
                                           deadline.left() + 0.5)
        finally:
            await asyncio.to_thread(connection.close)
    except _Failed as failed:
        for result in failed.results:
            yield result
        return
    tls = _tls_result(section, facts.tls_cipher, ctx.insecure)
    if tls is not None:
        yield tls
    yield _result("login", Status.PASS, f"Logged in as '{section.user}'.")
    yield version_result(facts.version)
    yield schema_result(facts.schema, section.database, section.user, facts.grants,
                        lambda: _create_database(section, ctx))
    yield privileges_result(facts.grants, section.database, section.user)
    for result in settings_results(facts.variables):
        yield result


# --- Instructions ----------------------------------------------------------------------------------------------


def mysql_statements(user: str, database: str, password: str) -> str:
    def quoted(text: str) -> str:
        return text.replace("\\", "\\\\").replace("'", "\\'")

    return "\n".join([
        f"CREATE USER '{quoted(user)}'@'%' IDENTIFIED BY '{quoted(password)}';",
        f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;",
        f"GRANT ALL ON `{database}`.* TO '{quoted(user)}'@'%' WITH GRANT OPTION;",
    ])


def instructions(values: Values, secrets: Secrets) -> list[Instruction]:
    draft = provider_draft(values, "database", "mysql")
    user = str(draft.get("user") or "wandb_local").strip()
    name = str(draft.get("database") or "wandb_local").strip()
    password = secrets.get("database.mysql.password") or ""
    return [Instruction(
        "database.mysql-sql", "Database and user (SQL)",
        mysql_statements(user, name, MASK if password else "<PASSWORD>"),
        copy_text=mysql_statements(user, name, password or "<PASSWORD>"),
        note="Run as a MySQL administrator. " + ("The copy holds the password you entered." if password
                                                 else "Enter the password above, or replace <PASSWORD>."),
    )]


def chart(section: MySQLDatabase, out: ChartParts) -> None:
    """The chart builds mysql://$(MYSQL_USER):$(MYSQL_PASSWORD)@host:port/database?tls=preferred: the password is
    kept URL-encoded in the Secret, as it must appear in that URL."""
    out.set("mysql.install", False)
    # The chart writes $(MYSQL_HOST):$(MYSQL_PORT) into the URL: an IPv6 address needs its brackets there.
    out.set("global.mysql.host", f"[{section.host}]" if ":" in section.host else section.host)
    out.set("global.mysql.port", section.port)
    out.set("global.mysql.user", section.user)
    out.set("global.mysql.database", section.database)
    out.set("global.mysql.passwordSecret", {"name": "wandb-mysql", "passwordKey": "MYSQL_PASSWORD"})
    out.secret("wandb-mysql", "MYSQL_PASSWORD", "database.mysql.password", section.password, url_encoded=True)
    if quote(section.user, safe="") != section.user:
        out.cannot.append(f"database.mysql.user: the chart puts the user into the MYSQL URL as it is, and "
                          f"{section.user!r} needs URL-encoding there: use a user name of letters, digits, '_'")
    if section.tls != "preferred":
        out.cannot.append(f"database.mysql.tls: the chart always connects with tls=preferred, not {section.tls!r}")
    if section.ca_file and section.tls != "disabled":
        out.file("global.mysql.caCert", section.ca_file, "database.mysql.ca_file")


PROVIDER = Provider("database", "mysql", MySQLDatabase, render, checks={"database": check_mysql},
                    instructions=instructions, chart=chart)
