"""An external Redis. The server gets REDIS=redis://[<user>:<password>@]<host>:<port>?tls=true&caCertPath=...
&ttlInSeconds=604800 (the password URL-encoded), with a private CA mounted read-only at caCertPath.

Its checks: reachable from the container, TLS (trust, or a TLS/plain mismatch), login, PING, server version and
memory limit, then the REDIS value W&B will get (masked).

One check runs the steps in order on one time budget and stops at the first failure: a later step cannot be
judged without the earlier one (no login, no INFO). The version and memory verdicts are pure functions.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import ssl
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import AfterValidator, Field, SecretStr, model_validator

from wizard import validators as v
from wizard.checks.container_view import Unreachable, reach
from wizard.checks.engine import CheckContext, CheckResult, Status
from wizard.checks.net import Deadline, NetError, insecure_warning, ssl_context, truncate
from wizard.checks.tcp import close, open_stream, speaks_tls, where
from wizard.container import FILES_DIR, Endpoint, Mount
from wizard.providers.base import ChartParts, FieldProblem, Hostname, Parts, Port, Provider, Section, netloc, query

TITLE = "Redis server"
TTL_SECONDS = 604800  # what every W&B deployment sets (Terraform modules, the operator chart)
CA_PATH = f"{FILES_DIR}/redis-ca.pem"
GIB = 1024 ** 3
MIN_MEMORY, SUGGESTED_MEMORY = 4 * GIB, 8 * GIB


class RedisCache(Section):
    provider: Literal["redis"] = "redis"
    host: Hostname = Field(title="Host", description="Redis server host name or IP")
    port: Port = Field(6379, title="Port", description="Default 6379")
    user: str | None = Field(None, title="User", description="ACL user (empty: password-only or no auth)")
    password: SecretStr | None = Field(None, title="Password", description="Password (AUTH)")
    tls: bool = Field(True, title="TLS", description="In-transit encryption (recommended)")
    ca_file: Annotated[str, AfterValidator(v.file_path)] | None = Field(
        None, title="CA file", description="Private CA, given to the server read-only (caCertPath in REDIS)"
    )

    @model_validator(mode="after")
    def _user_needs_password(self) -> "RedisCache":
        if self.user and not (self.password and self.password.get_secret_value()):
            raise FieldProblem("password", "an ACL user needs a password: enter the password or clear the user")
        return self


def render(section: RedisCache, out: Parts) -> None:
    auth = ""
    if section.password is not None:
        auth = f"{quote(section.user or '', safe='')}:{out.url_secret('cache.redis.password', section.password)}@"
    params = []
    if section.tls:
        params.append(("tls", "true"))
        if section.ca_file:
            out.mounts.append(Mount(section.ca_file, CA_PATH, "cache.redis.ca_file"))
            params.append(("caCertPath", CA_PATH))
    params.append(("ttlInSeconds", str(TTL_SECONDS)))
    out.put("REDIS", f"redis://{auth}{netloc(section.host, section.port)}{query(params)}",
            section.password is not None)
    out.endpoints.append(Endpoint("REDIS", "cache.redis.host", section.host, section.port))


def _result(suffix: str, status: Status, message: str, hint: str = "") -> CheckResult:
    return CheckResult(f"cache.{suffix}", TITLE, status, message, hint)


def _gib(value: int) -> str:
    return f"{value / GIB:.1f} GiB" if value % GIB else f"{value // GIB} GiB"


def parse_info(text: str) -> dict[str, str]:
    """INFO's `key:value` lines (section headers and blank lines skipped)."""
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))


def version_result(info: dict[str, str]) -> CheckResult:
    version = info.get("redis_version", "")
    match = re.match(r"(\d+)\.(\d+)", version)
    if not match:
        return _result("version", Status.WARN, "The server did not report a Redis version in INFO server.",
                       "Make sure it is Redis 6 or 7 (W&B's documented versions).")
    major = int(match.group(1))
    name = f"Redis {truncate(version, 40)}"
    if info.get("valkey_version"):
        name = f"Valkey {truncate(info['valkey_version'], 40)} (Redis-compatible {truncate(version, 40)})"
    if major < 6:
        return _result("version", Status.FAIL, f"The server runs {name}; W&B needs Redis 6 or newer.",
                       "Upgrade the server to Redis 7 (or 6).")
    if major > 7:
        return _result("version", Status.PASS, f"The server runs {name}. W&B documents Redis 6.x and 7.x; newer "
                       "versions are expected to work but are not listed by W&B.")
    return _result("version", Status.PASS, f"The server runs {name} (W&B documents Redis 6.x and 7.x).")


def memory_result(info: dict[str, str]) -> CheckResult:
    try:
        limit = int(info.get("maxmemory", ""))
    except ValueError:
        return _result("memory", Status.WARN, "The server did not report maxmemory in INFO memory.",
                       "Make sure the cache has at least 4 GB of memory (8 GB suggested).")
    host_ram = int(info["total_system_memory"]) if info.get("total_system_memory", "").isdigit() else 0
    setting = "Set `maxmemory 8gb` in redis.conf (or run CONFIG SET maxmemory 8gb); on a managed service choose " \
              "a node type with at least 4 GB (8 GB suggested)."
    if limit == 0:
        ram = f" (the host has {_gib(host_ram)})" if host_ram else ""
        return _result("memory", Status.WARN, "No memory limit is set (maxmemory 0): the cache can grow until the "
                       f"host's RAM runs out{ram}.", setting)
    if limit < MIN_MEMORY:
        return _result("memory", Status.WARN, f"maxmemory is {_gib(limit)}; W&B recommends at least 4 GB "
                       "(8 GB suggested).", setting)
    if limit < SUGGESTED_MEMORY:
        return _result("memory", Status.PASS, f"maxmemory is {_gib(limit)}: at least the 4 GB W&B requires "
                       "(8 GB suggested).")
    return _result("memory", Status.PASS, f"maxmemory is {_gib(limit)} (W&B: at least 4 GB, 8 GB suggested).")


def redis_url(cache: RedisCache) -> str:
    """The REDIS value the container gets, with the password masked (rendered by the same code as the env file)."""
    from wizard.render import mask

    out = Parts(mask)
    render(cache, out)
    return out.inputs().environment()["REDIS"]


class _Failed(Exception):
    """A step failed: the result says why; later steps do not run."""

    def __init__(self, result: CheckResult):
        self.result = result


async def _speaks_plain_redis(host: str, port: int, timeout: float) -> bool:
    """Whether the port answers a plain-text PING with a RESP reply (+PONG, or an error such as -NOAUTH)."""
    try:
        reader, writer = await open_stream(host, port, timeout)
    except NetError:
        return False
    try:
        writer.write(b"PING\r\n")
        first = await asyncio.wait_for(reader.read(1), timeout)
        return first in (b"+", b"-")
    except Exception:  # no answer or a reset: not plain Redis
        return False
    finally:
        await close(writer)


async def _tls_handshake(cache: RedisCache, context: ssl.SSLContext, deadline: Deadline) -> None:
    place = where(cache.host, cache.port)
    try:
        _, writer = await open_stream(cache.host, cache.port, deadline.left() * 0.6, context)
    except NetError as error:
        if error.kind == "untrusted":
            raise _Failed(_result("tls", Status.FAIL, error.message, (
                "Set the CA file (Cache › CA file) to the CA certificate that signed the server's certificate, "
                "or for a self-signed certificate to that certificate itself."))) from None
        if error.kind in ("timeout", "closed", "tls") and await _speaks_plain_redis(cache.host, cache.port,
                                                                                     deadline.left()):
            raise _Failed(_result("tls", Status.FAIL, f"{place} speaks plain Redis, without TLS.",
                                  "Turn TLS off here, or use the server's TLS port (tls-port).")) from None
        if error.kind == "timeout":
            raise _Failed(_result("tls", Status.FAIL, f"{place} accepted the connection but completed no TLS "
                                  "handshake in time, and did not answer as plain Redis either.",
                                  "Check that this port belongs to Redis and whether it expects TLS.")) from None
        raise _Failed(_result("tls", Status.FAIL, error.message, error.hint)) from None
    await close(writer)


def _connection(cache: RedisCache, ctx: CheckContext, timeout: float):
    from redis.asyncio.connection import Connection, SSLConnection
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    options: dict[str, Any] = dict(host=cache.host, port=cache.port, username=cache.user or None,
                   password=cache.password.get_secret_value() if cache.password else None,
                   socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
                   protocol=2)  # RESP2: plain AUTH, understood by every Redis (HELLO needs 6+)
    if not cache.tls:
        return Connection(**options)
    return SSLConnection(ssl_ca_certs=cache.ca_file or ctx.ca_file, ssl_check_hostname=not ctx.insecure,
                         ssl_cert_reqs="none" if ctx.insecure else "required", **options)


def _auth_failure(cache: RedisCache, text: str) -> CheckResult:
    who = f"the user '{cache.user}'" if cache.user else "the password (default user)"
    if "WRONGPASS" in text or "invalid username-password" in text or "invalid password" in text:
        hint = ("Check the user name and password; for a server with only a password (requirepass), leave the "
                "user name empty." if cache.user else
                "Check the password; if the server uses ACL users, enter the user name too.")
        return _result("auth", Status.FAIL, f"The server refused {who}: wrong user name or password, or the user "
                       "is disabled.", hint)
    if "NOAUTH" in text or "Authentication required" in text or "client already authenticated" in text:
        return _result("auth", Status.FAIL, "The server requires authentication and no password was given.",
                       "Enter the password (and the user name, for an ACL user).")
    if "without any password configured" in text or "no password is set" in text:
        return _result("auth", Status.FAIL, "A password was given but the server has none set, so it refuses AUTH.",
                       "Clear the password here, or set one on the server (requirepass or an ACL user).")
    if "wrong number of arguments" in text:
        return _result("auth", Status.FAIL, "The server does not know ACL users (AUTH with a user name failed): it "
                       "is older than Redis 6.", "Clear the user name and use the password only, or upgrade Redis.")
    return _result("auth", Status.FAIL, f"Authentication failed: {text}", "Check the user name and password.")


async def _no_answer(cache: RedisCache, exc: BaseException, text: str, timeout: float,
                     deadline: Deadline) -> CheckResult:
    """The server closed the connection or stayed silent: a TLS port spoken to in plain text, or not Redis."""
    from redis import exceptions as rx

    place = where(cache.host, cache.port)
    if not cache.tls and await speaks_tls(cache.host, cache.port, deadline.left()):
        return _result("tls", Status.FAIL, f"{place} expects TLS.",
                       "Turn TLS on here (and set the CA file if the certificate is private).")
    if isinstance(exc, (rx.TimeoutError, asyncio.TimeoutError, TimeoutError)):
        return _result("auth", Status.FAIL, f"{place} accepted the connection but sent no Redis answer within "
                       f"{timeout:.1f} s.", "Check that this port belongs to Redis and that the server is not "
                       "overloaded.")
    return _result("auth", Status.FAIL, f"{place} closed the connection ({text}).",
                   "Check the port and the TLS setting.")


def _not_redis(cache: RedisCache, text: str) -> CheckResult:
    return _result("auth", Status.FAIL, f"{where(cache.host, cache.port)} answered, but not in the Redis protocol "
                   f"({text}).", "Check the host and port: another service (HTTP?) listens there.")


async def _command(connection, *args: str):
    await connection.send_command(*args)
    return await connection.read_response()


async def _session(cache: RedisCache, ctx: CheckContext, deadline: Deadline, secret: str):
    """Log in, PING and read INFO on one connection. Returns (auth result, server info, memory info)."""
    from redis import exceptions as rx

    def plain(exc: BaseException) -> str:
        text = str(exc) or type(exc).__name__
        return truncate(text.replace(secret, "****") if secret else text)

    connect_timeout = deadline.left() * 0.7  # the rest is for telling a TLS port apart
    connection = _connection(cache, ctx, connect_timeout)
    try:
        try:
            await asyncio.wait_for(connection.connect(), connect_timeout)
        except rx.AuthenticationWrongNumberOfArgsError as exc:
            raise _Failed(_auth_failure(cache, "wrong number of arguments " + plain(exc))) from None
        except (rx.AuthenticationError, rx.ResponseError) as exc:
            raise _Failed(_auth_failure(cache, plain(exc))) from None
        except (rx.ConnectionError, rx.TimeoutError, asyncio.TimeoutError, OSError) as exc:
            raise _Failed(await _no_answer(cache, exc, plain(exc), connect_timeout, deadline)) from None
        except rx.InvalidResponse as exc:
            raise _Failed(_not_redis(cache, plain(exc))) from None
        try:
            pong = await asyncio.wait_for(_command(connection, "PING"), deadline.left())
        except (rx.AuthenticationError, rx.ResponseError) as exc:  # redis-py maps NOAUTH to AuthenticationError
            text = plain(exc)
            if "NOAUTH" in text or "Authentication required" in text:
                raise _Failed(_auth_failure(cache, text)) from None
            if "NOPERM" in text:
                raise _Failed(_result("auth", Status.FAIL, f"The user may not run PING: {text}",
                                      "Give the user all commands and keys (ACL: on ~* &* +@all).")) from None
            raise _Failed(_result("ping", Status.FAIL, f"PING failed: {text}")) from None
        except (rx.ConnectionError, rx.TimeoutError, asyncio.TimeoutError, OSError) as exc:
            raise _Failed(await _no_answer(cache, exc, plain(exc), connect_timeout, deadline)) from None
        except rx.InvalidResponse as exc:
            raise _Failed(_not_redis(cache, plain(exc))) from None
        if cache.password is None:
            auth = _result("auth", Status.WARN, "The server answers without authentication.",
                           "Protect it with a password (requirepass or an ACL user): W&B recommends authentication.")
        elif cache.user:
            auth = _result("auth", Status.PASS, f"Logged in as the ACL user '{cache.user}'.")
        else:
            auth = _result("auth", Status.PASS, "Logged in with the password (default user).")
        if pong not in (b"PONG", "PONG", True):
            raise _Failed(_result("ping", Status.FAIL, f"PING answered {truncate(repr(pong))} instead of PONG."))
        server, memory = {}, {}
        try:
            server = parse_info(_text(await asyncio.wait_for(_command(connection, "INFO", "server"), deadline.left())))
            memory = parse_info(_text(await asyncio.wait_for(_command(connection, "INFO", "memory"), deadline.left())))
        except rx.ResponseError as exc:  # INFO can be forbidden by ACLs; version and memory then stay unknown
            server = memory = {"error": plain(exc)}
        return auth, server, memory
    finally:
        await connection.disconnect()


def _text(value) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


async def check_redis(ctx: CheckContext, cache: RedisCache):
    deadline = Deadline(ctx.timeout)
    secret = cache.password.get_secret_value() if cache.password else ""
    try:
        configured = cache
        try:
            cache, reached = await reach(ctx, "cache", "REDIS", cache, "cache.reachable", TITLE, deadline.left() * 0.5)
        except Unreachable as problem:
            raise _Failed(problem.result) from None
        place = where(cache.host, cache.port)
        yield reached
        if cache.tls:
            try:
                verified = ssl_context(dataclasses.replace(ctx, ca_file=cache.ca_file or ctx.ca_file))
            except NetError as error:
                raise _Failed(_result("tls", Status.FAIL, error.message, error.hint)) from None
            if isinstance(verified, ssl.SSLContext):
                context = verified
            else:  # verification is off (--insecure): said in a warning
                yield insecure_warning("cache.tls-verify", TITLE)
                context = ssl.create_default_context()
                context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            await _tls_handshake(cache, context, deadline)
            trusted = "" if ctx.insecure else f"; its certificate is valid for '{cache.host}'"
            yield _result("tls", Status.PASS, f"TLS handshake with {place} succeeded{trusted}.")
        auth, server, memory = await _session(cache, ctx, deadline, secret)
        if not cache.tls:
            yield _result("tls", Status.WARN, "The connection is not encrypted (TLS is off).",
                          "W&B recommends TLS: enable it on the server (tls-port) and turn TLS on here, unless the "
                          "network between W&B and Redis is private.")
        yield auth
        yield _result("ping", Status.PASS, "PING answered PONG.")
        if "error" in server:
            yield _result("version", Status.WARN, f"INFO is not allowed for this user: {server['error']}",
                          "Allow INFO (ACL +info) so the version and memory limit can be checked.")
        else:
            yield version_result(server)
            yield memory_result(memory)
        note = ""
        if cache.tls and cache.ca_file:
            note = " The server gets the same CA file (caCertPath)."
        elif cache.tls and ctx.ca_file:
            note = " The checks trusted the CA given with --ca-file, which the server does not get: set the CA file."
        yield _result("url", Status.PASS, f"W&B will connect with REDIS={redis_url(configured)}.{note}")
    except _Failed as failed:
        yield failed.result


def chart(section: RedisCache, out: ChartParts) -> None:
    out.set("redis.install", False)
    # The chart writes $(REDIS_HOST):$(REDIS_PORT) into the URL: an IPv6 address needs its brackets there.
    out.set("global.redis.host", f"[{section.host}]" if ":" in section.host else section.host)
    out.set("global.redis.port", section.port)
    params: dict[str, str] = {"ttlInSeconds": str(TTL_SECONDS)}
    if section.tls:
        params["tls"] = "true"
        if section.ca_file:  # the chart mounts it and sets caCertPath itself
            out.file("global.redis.caCert", section.ca_file, "cache.redis.ca_file")
    out.set("global.redis.params", params)
    if section.password is not None:
        out.set("global.redis.secret", {"secretName": "wandb-redis", "secretKey": "REDIS_PASSWORD"})
        out.secret("wandb-redis", "REDIS_PASSWORD", "cache.redis.password", section.password, url_encoded=True)
        if section.tls and section.ca_file:  # the chart mounts the CA from this Secret's REDIS_CA_CERT once it is named
            out.secret_file("wandb-redis", "REDIS_CA_CERT", section.ca_file, "cache.redis.ca_file")
    if section.user:
        out.cannot.append(f"cache.redis.user: the chart connects as redis://:PASSWORD@ (the default user) and has "
                          f"no setting for the ACL user {section.user!r}: give the default user this password, or "
                          "use a Redis without ACL users")


PROVIDER = Provider("cache", "redis", RedisCache, render, checks={"cache": check_redis}, chart=chart)
