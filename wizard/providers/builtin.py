"""The choices that need no outside service: no SSO (W&B accounts), and the database and cache inside the server
container. They give the container nothing and have nothing to paste elsewhere; their checks say so."""

from __future__ import annotations

from typing import Literal

from wizard.checks.engine import CheckResult, Status
from wizard.providers.base import ChartParts, Provider, Section, nothing_to_check


class NoSSO(Section):
    provider: Literal["none"] = "none"


class EmbeddedDatabase(Section):
    provider: Literal["embedded"] = "embedded"


class EmbeddedCache(Section):
    provider: Literal["embedded"] = "embedded"


def _no_sso_chart(section: NoSSO, out: ChartParts) -> None:
    """Users sign in with W&B's own accounts: the chart needs nothing."""


def _embedded_database_chart(section: EmbeddedDatabase, out: ChartParts) -> None:
    out.set("mysql.install", True)
    out.cannot.append("database: the chart's own MySQL is for trials (one pod, no backups): for production, use an "
                      "external MySQL 8 (Database step)")


def _embedded_cache_chart(section: EmbeddedCache, out: ChartParts) -> None:
    out.set("redis.install", True)


NO_SSO = Provider("sso", "none", NoSSO, in_container=True, chart=_no_sso_chart)
EMBEDDED_DATABASE = Provider("database", "embedded", EmbeddedDatabase, in_container=True, chart=_embedded_database_chart, checks={
    "database": nothing_to_check(CheckResult("database.embedded", "MySQL server", Status.SKIPPED,
                                             "The database inside the container is used: nothing to check.")),
})
EMBEDDED_CACHE = Provider("cache", "embedded", EmbeddedCache, in_container=True, chart=_embedded_cache_chart, checks={
    "cache": nothing_to_check(CheckResult("cache.embedded", "Redis server", Status.SKIPPED,
                                          "The cache inside the container is used: nothing to check.")),
})
