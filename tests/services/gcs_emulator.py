"""A real Cloud Storage emulator (pip gcp-storage-emulator) on a free port of this machine's address, one per test session.

Buckets, objects and CORS work; there is no notifications API (it answers 404/501) and no IAM, so the checks
must say "cannot be checked here" for those. Clients use the JSON API endpoint with anonymous credentials.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import unavailable
from tests.services.host_address import machine_address
from tests.services.local_process import free_port, log_tail, stop, wait_for_port

SERVICE = "Cloud Storage emulator (gcp-storage-emulator)"


@dataclass
class GcsEmulator:
    endpoint: str
    process: subprocess.Popen

    def client(self):
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(project="test-project", credentials=AnonymousCredentials(),
                              client_options={"api_endpoint": self.endpoint})

    @staticmethod
    def unique(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"


def start(folder: Path) -> GcsEmulator:
    binary = Path(sys.executable).parent / "gcp-storage-emulator"
    if not binary.exists():
        unavailable(SERVICE, "pip install gcp-storage-emulator")
    port, host = free_port(), machine_address()  # not loopback, which Go's net/http never sends through a proxy
    log = folder / "gcs.log"
    with open(log, "w") as out:
        process = subprocess.Popen([str(binary), "start", "--host", host, "--port", str(port), "--in-memory"],
                                   stdout=out, stderr=subprocess.STDOUT, cwd=folder)
    if not wait_for_port(process, port, 20, host):
        stop(process)
        unavailable(SERVICE, f"the emulator did not start: {log_tail(log)}")
    return GcsEmulator(f"http://{host}:{port}", process)


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory) -> Iterator[GcsEmulator]:
    server = start(tmp_path_factory.mktemp("gcs"))
    yield server
    stop(server.process)
