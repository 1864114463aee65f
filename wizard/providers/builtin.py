"""The choices that need no outside service: no SSO (W&B accounts), and the database and cache inside the server
container. They give the container nothing and have nothing to paste elsewhere; their checks say so."""

from __future__ import annotations

from typing import Literal

from wizard.checks.engine import CheckResult, Status
from wizard.providers.base import Provider, Section, nothing_to_check


class NoSSO(Section):
    provider: Literal["none"] = "none"


class EmbeddedDatabase(Section):
    provider: Literal["embedded"] = "embedded"


class EmbeddedCache(Section):
    provider: Literal["embedded"] = "embedded"


NO_SSO = Provider("sso", "none", NoSSO, in_container=True)
EMBEDDED_DATABASE = Provider("database", "embedded", EmbeddedDatabase, in_container=True, checks={
    "database": nothing_to_check(CheckResult("database.embedded", "MySQL server", Status.SKIPPED,
                                             "The database inside the container is used: nothing to check.")),
})
EMBEDDED_CACHE = Provider("cache", "embedded", EmbeddedCache, in_container=True, checks={
    "cache": nothing_to_check(CheckResult("cache.embedded", "Redis server", Status.SKIPPED,
                                          "The cache inside the container is used: nothing to check.")),
})
