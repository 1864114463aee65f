"""Test helper: build compact JWS licenses (W&B's signing key is not public: any signature bytes will do)."""

from __future__ import annotations

import base64
import json
import time


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_license(days_valid: float = 365, **claims) -> str:
    header = {"alg": "RS256", "typ": "JWT"}
    body = {"iss": "wandb", "exp": int(time.time() + days_valid * 86400), **claims}
    return ".".join((b64url(json.dumps(header).encode()), b64url(json.dumps(body).encode()), b64url(b"signature")))
