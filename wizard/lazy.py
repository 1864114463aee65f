"""Modules imported on first use. pydantic and the configuration models take a large share of the interactive
wizard's start-up; the modules that only need them later refer to them through `lazy_module`."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class lazy_module:  # lower case: it stands for a module
    """Stands for a module: the first attribute read imports it (thread-safe: importlib holds the import lock)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        module: ModuleType = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"
