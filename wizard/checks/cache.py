"""The check of the Cache step, run by the chosen provider (`wizard.providers.redis`; the embedded cache has
nothing to check)."""

from __future__ import annotations

from wizard.providers import slot

slot("cache", "cache", "Redis server")
