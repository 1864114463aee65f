"""Starting and stopping one local service process for the tests: free port, wait until it listens, stop by PID."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def closed_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on, below the kernel's ephemeral range: a connection to a free port inside that range
    can be given that same port as its own source and connect to itself (TCP simultaneous open), reading back what
    it sent instead of being refused."""
    import random

    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    candidates = range(20000, min(low, 32768))
    for port in random.sample(candidates, min(200, len(candidates))):
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port below the ephemeral range ({low}) on {host}")


def wait_for_port(process: subprocess.Popen, port: int, seconds: float, host: str = "127.0.0.1") -> bool:
    """True once host:port accepts connections; False if the process died or time ran out."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(process: subprocess.Popen) -> None:
    """Stop the process this test session started (only it, by PID)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def log_tail(path: Path, size: int = 600) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return ""
