"""The check of the Database step, run by the chosen provider (`wizard.providers.mysql`; the embedded database
has nothing to check)."""

from __future__ import annotations

from wizard.providers import slot

slot("database", "database", "MySQL server")
