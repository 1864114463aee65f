"""A real Azurite (Azure Blob + Queue emulator, npm) on free ports of this machine's address, one per test session.

Both --disableTelemetry (telemetry would go outside) and --skipApiVersionCheck (the SDK is newer than Azurite) are
required. The account is Azurite's published development account. Azurite has no Event Grid: a BlobCreated event
never reaches a queue here, which is exactly the warning path the checks must show.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import unavailable
from tests.services.host_address import machine_address
from tests.services.local_process import free_port, log_tail, stop, wait_for_port

SERVICE = "Azurite (Azure Blob and Queue emulator)"
NODE_DIR = Path(__file__).parent / "node"
ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key, published in Microsoft's documentation (not a secret).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass
class Azurite:
    blob_endpoint: str
    queue_endpoint: str
    process: subprocess.Popen

    def blob_service(self):
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient(self.blob_endpoint, credential={"account_name": ACCOUNT, "account_key": KEY})

    def queue_client(self, name: str):
        from azure.storage.queue import QueueClient

        return QueueClient(self.queue_endpoint, name, credential={"account_name": ACCOUNT, "account_key": KEY})

    @staticmethod
    def unique(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"


def start(folder: Path) -> Azurite:
    node, binary = shutil.which("node"), NODE_DIR / "node_modules" / ".bin" / "azurite"
    if node is None:
        unavailable(SERVICE, "`node` is not installed (apt install nodejs)")
    if not binary.exists():
        unavailable(SERVICE, f"run `npm ci` in {NODE_DIR}")
    blob, queue, table = free_port(), free_port(), free_port()
    host = machine_address()  # not loopback, which Go's net/http never sends through a proxy
    log = folder / "azurite.log"
    command = [str(binary), "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--location", str(folder),
               "--blobHost", host, "--blobPort", str(blob), "--queueHost", host, "--queuePort", str(queue),
               "--tableHost", host, "--tablePort", str(table)]
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=folder)
    if not (wait_for_port(process, blob, 20, host) and wait_for_port(process, queue, 5, host)):
        stop(process)
        unavailable(SERVICE, f"azurite did not start: {log_tail(log)}")
    return Azurite(f"http://{host}:{blob}/{ACCOUNT}", f"http://{host}:{queue}/{ACCOUNT}", process)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory) -> Iterator[Azurite]:
    server = start(tmp_path_factory.mktemp("azurite"))
    yield server
    stop(server.process)
