"""Plain TCP and TLS probes for services that do not speak HTTP (MySQL, Redis): connect within a time bound and
turn the failure into a NetError with a plain message, telling an untrusted (self-signed) certificate apart."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl

from wizard.checks.net import NetError, truncate

# OpenSSL verify codes meaning "no trusted CA signed this": self-signed leaf, self-signed CA in the chain,
# issuer not found locally, leaf whose issuer is unknown.
UNTRUSTED_CODES = {18, 19, 20, 21}
HOSTNAME_MISMATCH = 62
EXPIRED = 10


def where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def certificate_error(exc: ssl.SSLCertVerificationError, host: str, port: int) -> NetError:
    """A certificate the client refused, in words. kind "untrusted" for self-signed or private-CA certificates."""
    code, reason = getattr(exc, "verify_code", None), truncate(getattr(exc, "verify_message", "") or str(exc))
    if code in UNTRUSTED_CODES:
        return NetError("untrusted", f"{where(host, port)} presented a self-signed certificate, or one signed by a CA "
                        f"this machine does not trust ({reason}).",
                        "Set the CA file to the CA certificate that signed the server's certificate.", {"code": code})
    if code == HOSTNAME_MISMATCH:
        return NetError("tls", f"The certificate of {where(host, port)} is not valid for the name '{host}' ({reason}).",
                        "Use the host name the certificate was issued for, or reissue the certificate with this name "
                        "(or IP address) in its subject alternative names.", {"code": code})
    if code == EXPIRED:
        return NetError("tls", f"The certificate of {where(host, port)} has expired ({reason}).",
                        "Renew the server's certificate.", {"code": code})
    return NetError("tls", f"The certificate of {where(host, port)} was refused ({reason}).",
                    "Check the server's certificate and the CA file.", {"code": code})


def connection_error(exc: BaseException, host: str, port: int, timeout: float) -> NetError:
    """An exception from connecting (socket, ssl, asyncio) as a NetError naming host and port."""
    place = where(host, port)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return certificate_error(exc, host, port)
    if isinstance(exc, socket.gaierror):
        return NetError("dns", f"The name '{host}' does not resolve (DNS lookup failed).",
                        "Check the spelling of the host name, and that this machine's DNS can resolve it.")
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError, socket.timeout)):
        return NetError("timeout", f"{place} did not answer within {timeout:.1f} s.",
                        "Check the address and port, that the service runs, and that no firewall drops the traffic.")
    if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
        return NetError("refused", f"{place} refused the connection: nothing listens on that port.",
                        "Check the host name and port, and that the service is running.")
    if getattr(exc, "errno", None) in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return NetError("unreachable", f"{place} cannot be reached from this machine (no route).",
                        "Check the address and this machine's network and firewall settings.")
    if isinstance(exc, ssl.SSLError):
        return NetError("tls", f"The TLS handshake with {place} failed ({truncate(str(exc))}).",
                        "Check that this port speaks TLS, and that the server supports TLS 1.2 or newer.")
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError, EOFError)):
        return NetError("closed", f"{place} closed the connection.", "Check the port and whether it expects TLS.")
    return NetError("other", f"Connecting to {place} failed: {truncate(str(exc) or type(exc).__name__)}.",
                    "Check the address and this machine's network settings.")


async def open_stream(host: str, port: int, timeout: float, context: ssl.SSLContext | None = None):
    """(reader, writer) connected within `timeout` (TLS handshake included when `context` is given)."""
    try:
        return await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=host if context else None,
                                    ssl_handshake_timeout=timeout if context else None),
            timeout,
        )
    except Exception as exc:  # every failure becomes a NetError
        raise connection_error(exc, host, port, timeout) from None


async def close(writer) -> None:
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 1)
    except Exception:  # closing is best effort: the peer may already be gone
        pass


async def reachable(host: str, port: int, timeout: float) -> NetError | None:
    """None when a TCP connection opens within `timeout`, else why not."""
    try:
        _, writer = await open_stream(host, port, timeout)
    except NetError as error:
        return error
    await close(writer)
    return None


async def speaks_tls(host: str, port: int, timeout: float) -> bool:
    """Whether the port completes a TLS handshake. Sends nothing but the handshake, so it may skip verification."""
    probe = ssl.create_default_context()
    probe.check_hostname = False
    probe.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await open_stream(host, port, timeout, probe)
    except NetError:
        return False
    await close(writer)
    return True
