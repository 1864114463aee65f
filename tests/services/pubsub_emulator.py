"""A real Pub/Sub emulator (Debian package google-cloud-cli-pubsub-emulator, Java 17) on a free port of this
machine's address.

The package comes from Google's Cloud SDK apt repository, not from Debian's: on a machine without it the tests
that need it are skipped locally and FAIL under CI=true (tests.services.unavailable). Topics, subscriptions,
publish and pull work; IAM calls answer 501.
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

SERVICE = "Pub/Sub emulator (google-cloud-cli-pubsub-emulator)"
SCRIPT = Path("/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator")
PROJECT = "test-project"


@dataclass
class PubSubEmulator:
    host: str  # host:port, as PUBSUB_EMULATOR_HOST would hold it
    process: subprocess.Popen

    def publisher(self):
        import grpc
        from google.cloud import pubsub_v1
        from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport

        return pubsub_v1.PublisherClient(transport=PublisherGrpcTransport(channel=grpc.insecure_channel(self.host)))

    def subscriber(self):
        import grpc
        from google.cloud import pubsub_v1
        from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

        return pubsub_v1.SubscriberClient(transport=SubscriberGrpcTransport(channel=grpc.insecure_channel(self.host)))

    @staticmethod
    def unique(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"


def start(folder: Path) -> PubSubEmulator:
    if not SCRIPT.exists():
        unavailable(SERVICE, "the Debian package google-cloud-cli-pubsub-emulator is not installed; it comes from "
                             "Google's Cloud SDK apt repository, which scripts/run-tests adds when it can reach it")
    if shutil.which("java") is None:
        unavailable(SERVICE, "Java 17 is missing (apt install openjdk-17-jre-headless)")
    port, host = free_port(), machine_address()  # not loopback, which Go's net/http never sends through a proxy
    log = folder / "pubsub.log"
    with open(log, "w") as out:
        process = subprocess.Popen([str(SCRIPT), f"--host={host}", f"--port={port}"], stdout=out,
                                   stderr=subprocess.STDOUT, cwd=folder)
    if not wait_for_port(process, port, 30, host):
        stop(process)
        unavailable(SERVICE, f"the emulator did not start: {log_tail(log)}")
    return PubSubEmulator(f"{host}:{port}", process)


@pytest.fixture(scope="session")
def pubsub_emulator(tmp_path_factory) -> Iterator[PubSubEmulator]:
    server = start(tmp_path_factory.mktemp("pubsub"))
    yield server
    stop(server.process)
