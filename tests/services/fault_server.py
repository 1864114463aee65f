"""A misbehaving server on loopback, one port per kind of fault, for proving that no check hangs or crashes.

Kinds: hang (accepts, never answers), close (closes at once), reset (half an HTTP answer, then a TCP reset),
garbage (10 MB of random bytes), html (a 200 HTML page where JSON is expected), tls (self-signed TLS serving JSON).
Runs in a background thread so sync and async tests alike can use it.
"""

from __future__ import annotations

import os
import socket
import ssl
import struct
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.services.host_address import machine_address

KINDS = ("hang", "close", "reset", "garbage", "html", "tls")
GARBAGE_BYTES = 10 * 1024 * 1024
HTML = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
        b"<!doctype html><html><head><title>Sign in</title></head><body>[bold red]x[/] \x1b[31mred</body></html>")
JSON_BODY = b'{"issuer": "https://127.0.0.1"}'


@dataclass
class FaultServer:
    ports: dict[str, int] = field(default_factory=dict)
    _sockets: list[socket.socket] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _held: list[socket.socket] = field(default_factory=list)

    @property
    def host(self) -> str:
        return machine_address()  # not loopback: the checks refuse what the server container could not reach

    def url(self, kind: str, scheme: str | None = None) -> str:
        return f"{scheme or ('https' if kind == 'tls' else 'http')}://{self.host}:{self.ports[kind]}"

    def close(self) -> None:
        self._stop.set()
        for sock in self._sockets + self._held:
            try:
                sock.close()
            except OSError:
                pass


def _self_signed(folder: Path) -> ssl.SSLContext:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", f"subjectAltName=IP:127.0.0.1,DNS:localhost,IP:{machine_address()}", "-keyout", str(key),
                    "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def _serve(server: FaultServer, kind: str, listener: socket.socket, tls: ssl.SSLContext | None) -> None:
    listener.settimeout(0.2)
    while not server._stop.is_set():
        try:
            conn, _ = listener.accept()
        except (socket.timeout, OSError):
            continue
        threading.Thread(target=_handle, args=(server, kind, conn, tls), daemon=True).start()


def _handle(server: FaultServer, kind: str, conn: socket.socket, tls: ssl.SSLContext | None) -> None:
    try:
        if kind == "hang":
            server._held.append(conn)  # keep it open, say nothing
            return
        if kind == "close":
            conn.close()
            return
        conn.settimeout(2)
        if kind == "tls":
            conn = tls.wrap_socket(conn, server_side=True)
        try:
            conn.recv(65536)
        except (socket.timeout, OSError, ssl.SSLError):
            pass
        if kind == "reset":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"partial\": ")
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
        elif kind == "garbage":
            chunk = os.urandom(64 * 1024)
            for _ in range(GARBAGE_BYTES // len(chunk)):
                if server._stop.is_set():
                    break
                conn.sendall(chunk)
            conn.close()
        elif kind == "html":
            conn.sendall(HTML)
            conn.close()
        elif kind == "tls":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                         b"Connection: close\r\n\r\n" % len(JSON_BODY) + JSON_BODY)
            conn.close()
    except (OSError, ssl.SSLError):
        pass  # the client gave up first: that is what these tests provoke


def start(folder: Path) -> FaultServer:
    server = FaultServer()
    tls = _self_signed(folder)
    for kind in KINDS:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((machine_address(), 0))
        listener.listen(64)
        server.ports[kind] = listener.getsockname()[1]
        server._sockets.append(listener)
        threading.Thread(target=_serve, args=(server, kind, listener, tls if kind == "tls" else None),
                         daemon=True).start()
    return server


@pytest.fixture(scope="session")
def fault_server(tmp_path_factory) -> FaultServer:
    server = start(tmp_path_factory.mktemp("fault-server"))
    yield server
    server.close()
