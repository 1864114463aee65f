"""Real services started on loopback for the tests (see shared test-services notes).

Each service module exposes a start function and a pytest fixture. A service that cannot be started
skips its tests on a developer machine but FAILS them under CI=true, so CI never hides a missing install.
"""

from __future__ import annotations

import os

import pytest


def unavailable(service: str, reason: str) -> None:
    """Skip (developer machine) or fail (CI=true) a test whose service cannot run here."""
    message = f"{service} is not available: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: a missing service is a failure)", pytrace=False)
    pytest.skip(message)
