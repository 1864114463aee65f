"""A real OpenID Connect provider (npm oidc-provider 9.x, run by node) on a free loopback port.

tests/services/node/oidc_provider.mjs binds 127.0.0.1:0 itself and prints its port and issuer, so there is no
port race. Clients are public (no secret), like the ones W&B's docs ask for. Only the node process started here
is stopped, by PID.
"""

from __future__ import annotations

import json
import select
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import unavailable
from tests.services.host_address import machine_address

SERVICE = "OIDC provider (node oidc-provider)"
NODE_DIR = Path(__file__).parent / "node"
SCRIPT = NODE_DIR / "oidc_provider.mjs"

# W&B's two flows. Implicit web clients must use https and not localhost, hence the made-up https HOST.
IMPLICIT_HOST = "https://wandb.test:8443"
PKCE_HOST = "http://127.0.0.1:8080"
IMPLICIT_CLIENT = {"client_id": "wandb-implicit", "redirect_uris": [f"{IMPLICIT_HOST}/oidc/callback"],
                   "response_types": ["id_token"], "grant_types": ["implicit"]}
PKCE_CLIENT = {"client_id": "wandb-pkce", "redirect_uris": [f"{PKCE_HOST}/oidc/callback"],
               "response_types": ["code"], "grant_types": ["authorization_code"]}
# A confidential client (as Azure AD "Web" apps are): the code exchange needs its secret (HTTP Basic).
CONFIDENTIAL_SECRET = "canary-oidc-client-secret-7c1e"
CONFIDENTIAL_CLIENT = {"client_id": "wandb-confidential", "client_secret": CONFIDENTIAL_SECRET,
                       "token_endpoint_auth_method": "client_secret_basic",
                       "redirect_uris": [f"{PKCE_HOST}/oidc/callback"], "response_types": ["code"],
                       "grant_types": ["authorization_code"]}


@dataclass
class OidcProvider:
    issuer: str
    port: int
    process: subprocess.Popen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process.stdout:
            self.process.stdout.close()


def start(clients: list[dict] | None = None, *, response_types: list[str] | None = None,
          issuer_path: str = "") -> OidcProvider:
    node = shutil.which("node")
    if node is None:
        unavailable(SERVICE, "`node` is not installed (apt install nodejs)")
    if not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        unavailable(SERVICE, f"run `npm ci` in {NODE_DIR}")
    options = {"clients": clients if clients is not None else [IMPLICIT_CLIENT, PKCE_CLIENT, CONFIDENTIAL_CLIENT],
               "issuerPath": issuer_path,
               "host": machine_address()}  # not loopback: browsers and the server container must reach it
    if response_types is not None:
        options["responseTypes"] = response_types
    process = subprocess.Popen([node, str(SCRIPT), json.dumps(options)], cwd=NODE_DIR, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    ready, _, _ = select.select([process.stdout], [], [], 15)
    line = process.stdout.readline().strip() if ready else ""
    try:
        info = json.loads(line)
    except ValueError:
        provider = OidcProvider("", 0, process)
        provider.stop()
        unavailable(SERVICE, f"the provider did not start (printed {line[:200]!r})")
    return OidcProvider(info["issuer"], info["port"], process)


@pytest.fixture(scope="module")
def oidc_provider() -> Iterator[OidcProvider]:
    """A provider with W&B's two clients: wandb-implicit (id_token + form_post) and wandb-pkce (code + S256)."""
    provider = start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def oidc_provider_code_only() -> Iterator[OidcProvider]:
    """A provider that offers only the code flow (no id_token response type): implicit is unsupported."""
    implicit_as_code = dict(IMPLICIT_CLIENT, response_types=["code"], grant_types=["authorization_code"])
    provider = start([implicit_as_code, PKCE_CLIENT], response_types=["code"])
    yield provider
    provider.stop()
