"""A private CA and a server certificate (SAN localhost, 127.0.0.1, this machine's address, the Docker host) made with the openssl CLI, for TLS services.

The extensions are spelled out so that strict verifiers (Python 3.13's VERIFY_X509_STRICT) accept them too.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

_CA_EXT = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n"
def _server_ext() -> str:
    """The names a test service is reached at: loopback, this machine's address, and the Docker host as a container
    sees it (the bridge gateway and host.docker.internal)."""
    from tests.services.host_address import machine_address

    names = f"DNS:localhost,IP:127.0.0.1,IP:{machine_address()},DNS:host.docker.internal,IP:172.17.0.1"
    return ("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            f"extendedKeyUsage=serverAuth\nsubjectAltName={names}\nsubjectKeyIdentifier=hash\n"
            "authorityKeyIdentifier=keyid\n")


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA certificate clients must trust
    cert: Path  # the server certificate, signed by the CA
    key: Path  # the server's private key


def openssl_missing() -> str | None:
    return None if shutil.which("openssl") else "the openssl command is not installed (apt openssl)"


def make_certificates(directory: Path) -> Certificates:
    directory.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True, timeout=30)

    (directory / "ca.ext").write_text(_CA_EXT)
    (directory / "server.ext").write_text(_server_ext())
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    run("req", "-new", *ec, "-keyout", "ca.key", "-out", "ca.csr", "-subj", "/CN=wandb-local-setup test CA")
    run("x509", "-req", "-in", "ca.csr", "-signkey", "ca.key", "-out", "ca.crt", "-days", "3", "-extfile", "ca.ext")
    run("req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "3", "-extfile", "server.ext")
    for name in ("ca.key", "server.key"):
        (directory / name).chmod(0o600)
    return Certificates(directory / "ca.crt", directory / "server.crt", directory / "server.key")
