"""Progress events: small frozen dataclasses handed to an `on_event` callback, in the caller's thread.

The UI runs launcher operations in a worker thread and forwards each event to the screen. Text from outside
(container logs, Docker's messages) arrives as plain `str`: it must be shown literally, never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union


@dataclass(frozen=True)
class Step:
    """A phase of an operation starts or finishes: "image", "volume", "create", "start", "wait", "rename", ..."""

    phase: str
    message: str


@dataclass(frozen=True)
class LayerProgress:
    """One layer of an image pull. `current`/`total` are bytes when Docker reports them (while downloading)."""

    layer: str
    status: str  # Docker's words: "Waiting", "Downloading", "Extracting", "Pull complete", "Already exists", ...
    current: int | None = None
    total: int | None = None


@dataclass(frozen=True)
class PullProgress:
    """Totals over all layers seen so far of an image pull."""

    layers_done: int
    layers_total: int
    downloaded_bytes: int
    total_bytes: int  # of the layers whose size is known yet


@dataclass(frozen=True)
class LogLine:
    """A line of the container's output (stdout and stderr), secrets of the spec masked. Literal text."""

    text: str


@dataclass(frozen=True)
class MarkerSeen:
    """A start-up milestone printed by wandb/local (see `watch.MARKERS`)."""

    marker: str
    line: str
    elapsed: float


@dataclass(frozen=True)
class ReadyProbe:
    """One readiness probe: the HTTP status of /ready (None: no answer) and the time since the container started."""

    elapsed: float
    status: int | None
    detail: str = ""


LaunchEvent = Union[Step, LayerProgress, PullProgress, LogLine, MarkerSeen, ReadyProbe]
EventCallback = Callable[[LaunchEvent], None]


def emit(on_event: EventCallback | None, event: LaunchEvent) -> None:
    if on_event is not None:
        on_event(event)
