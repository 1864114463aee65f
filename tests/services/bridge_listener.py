"""A TCP listener on the Docker bridge's gateway address: a dependency a container can really connect to.

The stand-in server opens a TCP connection to every dependency in its environment before it gets ready (see
standin/entrypoint.sh). A container on the default bridge reaches this machine at the bridge's gateway address
(172.17.0.1 as a rule, also with `dockerd --iptables=false`), never at 127.0.0.1 (its own loopback): a service for
containers must listen there. The listener accepts each connection, notes the peer and closes it: enough for a
"can I connect" check, and it answers at once, so a check of the real protocol run from this machine fails fast.

`bridge_listener` (session scope) is the one the stand-in's MYSQL points at (`standin_image.standin_spec`);
`bridge_gateway` is the address; `BridgeListener.start(address)` makes more (one per dependency, when a test
wants to tell them apart).
"""

from __future__ import annotations

import atexit
import fcntl
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.services import unavailable
from tests.services.docker_engine import DockerEngine

SERVICE = "listener on the Docker bridge"
SIOCGIFADDR = 0x8915


class BridgeListener:
    """Accepts TCP connections on (host, port) in a daemon thread; `peers` lists who connected."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.host, self.port = sock.getsockname()[:2]
        self.peers: list[str] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"bridge-listener-{self.port}", daemon=True)
        self._thread.start()

    @classmethod
    def start(cls, host: str, port: int = 0) -> BridgeListener:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            sock.close()
            unavailable(SERVICE, f"cannot listen on {host}:{port}: {error}")
        sock.listen(64)
        sock.settimeout(0.2)
        return cls(sock)

    @property
    def address(self) -> str:
        """host:port as a URL's netloc writes it."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def connections_from(self, peer: str) -> int:
        with self._lock:
            return self.peers.count(peer)

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                conn, peer = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.peers.append(peer[0])
            conn.close()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2)
        self._sock.close()

    def __repr__(self) -> str:
        return f"BridgeListener({self.address})"


def gateway_address(client: Any) -> str:
    """The default bridge's gateway: what a container on it reaches this machine at.

    The engine reports it in the network's IPAM configuration when it was configured (`--bip`, newer engines);
    Docker 20.10 leaves it out for the default bridge, so then it is read from the bridge interface itself."""
    network = client.networks.get("bridge")
    for config in (network.attrs.get("IPAM") or {}).get("Config") or []:
        gateway = (config or {}).get("Gateway")
        if gateway and ":" not in gateway:
            return gateway.split("/")[0]
    interface = ((network.attrs.get("Options") or {}).get("com.docker.network.bridge.name")) or "docker0"
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            packed = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, struct.pack("256s", interface.encode()[:15]))
        return socket.inet_ntoa(packed[20:24])
    except OSError as error:
        unavailable(SERVICE, f"the bridge network has no gateway in its IPAM config and {interface} has no "
                             f"IPv4 address ({error})")
    raise AssertionError("unreachable")


_shared: BridgeListener | None = None
_shared_lock = threading.Lock()


def shared_listener(client: Any) -> BridgeListener:
    """The session's listener on the gateway (started on first use, closed by the fixture or at exit)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = BridgeListener.start(gateway_address(client))
            atexit.register(_shared.close)
        return _shared


@pytest.fixture(scope="session")
def bridge_gateway(docker_engine: DockerEngine) -> str:
    """The Docker bridge's gateway address (e.g. 172.17.0.1)."""
    return gateway_address(docker_engine.client)


@pytest.fixture(scope="session")
def bridge_listener(docker_engine: DockerEngine) -> Iterator[BridgeListener]:
    """A TCP listener at the bridge gateway that containers can connect to (the stand-in's MYSQL by default)."""
    global _shared
    listener = shared_listener(docker_engine.client)
    yield listener
    with _shared_lock:
        if _shared is listener:
            _shared = None
    listener.close()


class TcpForwarder:
    """Forwards TCP connections from (host, port) to a service on 127.0.0.1: a service on this machine that also
    listens on the Docker bridge, as an admin makes it listen there for the server container (bounded: it lives
    for one test and stops with it)."""

    def __init__(self, host: str, target_port: int) -> None:
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.2)
        self.host, self.port = self._listener.getsockname()[:2]
        self.target_port = target_port
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._start(self._accept)

    def _start(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            for source, sink in ((client, upstream), (upstream, client)):
                self._start(self._pipe, source, sink)

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        source.settimeout(0.5)
        try:
            while not self._closed.is_set():
                try:
                    data = source.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=2)
