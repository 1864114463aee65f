"""Suite-wide safety: no test may reach a cloud metadata service or a real cloud endpoint by accident.

The AWS and Google credential chains fall back to the instance metadata address (169.254.169.254) when no
credentials are configured. Tests run checks only against services they start on loopback; these settings make
any forgotten endpoint fail fast on this machine instead of sending traffic anywhere else.
"""

from __future__ import annotations

import os

import pytest

from wizard.suggested_host import suggested

_SAFE_ENV = {
    "AWS_EC2_METADATA_DISABLED": "true",  # botocore: never ask the instance metadata service
    "GCE_METADATA_HOST": "127.0.0.1:9",  # google-auth: a closed local port instead of metadata.google.internal
    "GCE_METADATA_IP": "127.0.0.1:9",
    "NO_GCE_CHECK": "True",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "GOOGLE_APPLICATION_CREDENTIALS": "",
}

for _name, _value in _SAFE_ENV.items():
    if _value:
        os.environ[_name] = _value
    else:
        os.environ.pop(_name, None)


SSH_SERVER_ADDRESS = "203.0.113.5"  # a documentation address (RFC 5737): no test sends anything there


@pytest.fixture
def ssh_connection(monkeypatch: pytest.MonkeyPatch):
    """The wizard runs over SSH to SSH_SERVER_ADDRESS, so its default HOST is http://203.0.113.5:8080 (from
    SSH_CONNECTION): what a test shows or compares does not depend on this machine's name or addresses."""
    monkeypatch.setenv("SSH_CONNECTION", f"198.51.100.7 50022 {SSH_SERVER_ADDRESS} 22")
    suggested.cache_clear()
    yield
    suggested.cache_clear()  # the next test computes its own default


@pytest.fixture(autouse=True)
def _own_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test has a state dir of its own (sessions, keyring file, the relaunch journal), unless it sets one:
    nothing a test writes reaches the user's ~/.local/state, and no test sees another's leftovers."""
    monkeypatch.setenv("WANDB_LOCAL_SETUP_HOME", str(tmp_path_factory.mktemp("state")))
