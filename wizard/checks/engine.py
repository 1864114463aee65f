"""The check engine: runs a step's checks concurrently, each under its own timeout, never raising.

A check is an async generator function `check(ctx)` that yields one or more CheckResult. The engine turns a
timeout or an exception into an ERROR result with a plain message (no traceback), and cancels every running
check when its consumer stops listening (the user edited a field or left the step).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping, TypeVar

DEFAULT_TIMEOUT = 5.0
DOCKER, KUBERNETES = "docker", "kubernetes"  # where the server will run (CheckContext.target)
TARGETS = (DOCKER, KUBERNETES)
T = TypeVar("T")


class Status(str, Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"
    ERROR = "error"

    @property
    def symbol(self) -> str:
        # Text symbols with words, so the status never rests on colour alone.
        return {"pass": "✓ ok", "warn": "! warn", "fail": "✗ fail", "skipped": "- skip", "error": "✗ error"}[self.value]


@dataclass(frozen=True)
class FixAction:
    """A fix offered with a result: a change to a service (`apply`), or to the settings (`edits`), never both."""

    description: str  # one line: what the fix does
    changes: str  # the exact text that will be applied (JSON, XML, statement), shown before confirming
    apply: Callable[[], Awaitable[None]] | None = None
    edits: tuple[tuple[str, tuple[str, ...], str], ...] = ()  # (step, field path in its draft, new value)


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    status: Status
    message: str
    hint: str = ""
    fix: FixAction | None = None
    elapsed: float = 0.0
    check: str = ""  # the id of the registered check that produced it (set by the engine)


@dataclass
class CheckContext:
    """What checks may read: the validated sections of the steps that are valid so far, and network options."""

    sections: Mapping[str, Any]
    timeout: float = DEFAULT_TIMEOUT
    ca_file: str | None = None
    insecure: bool = False  # skip TLS verification: only with a visible warning
    extra: dict[str, Any] = field(default_factory=dict)
    target: str = DOCKER  # where the server will run: DOCKER (this machine) or KUBERNETES (W&B's operator)

    @property
    def in_pods(self) -> bool:
        """The server runs in Kubernetes pods: the container's-eye rules are a pod's (no Docker host entries)."""
        return self.target == KUBERNETES

    def section(self, step: str) -> Any:
        return self.sections.get(step)

    def container(self, step: str) -> Any:
        """What the step's section gives the server container (`wizard.container.ContainerInputs`)."""
        from wizard.container import ContainerInputs
        from wizard.render import section_inputs

        section = self.sections.get(step)
        return ContainerInputs() if section is None else section_inputs(section)


CheckFunction = Callable[[CheckContext], AsyncIterator[CheckResult]]


@dataclass(frozen=True)
class CheckDef:
    id: str
    title: str
    run: CheckFunction
    timeout: float | None = None  # None: the context's timeout


_REGISTRY: dict[str, list[CheckDef]] = {}


def register(step: str, check_id: str, title: str, timeout: float | None = None):
    """Decorator adding a check to a step's list, in definition order."""

    def decorate(fn: CheckFunction) -> CheckFunction:
        _REGISTRY.setdefault(step, []).append(CheckDef(check_id, title, fn, timeout))
        return fn

    return decorate


def checks_for(step: str) -> list[CheckDef]:
    _load_check_modules()
    return list(_REGISTRY.get(step, []))


# Modules whose import registers checks (one per area); heavy SDKs stay inside the check functions.
CHECK_MODULES = (
    "wizard.checks.host",
    "wizard.checks.license",
    "wizard.checks.sso",
    "wizard.checks.database",
    "wizard.checks.cache",
    "wizard.checks.slack",
    "wizard.checks.storage",
    "wizard.checks.server",
)


def _load_check_modules() -> None:
    import importlib

    for name in CHECK_MODULES:
        importlib.import_module(name)


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


async def _run_one(check: CheckDef, ctx: CheckContext, out: asyncio.Queue) -> None:
    started = time.monotonic()
    timeout = check.timeout if check.timeout is not None else ctx.timeout
    produced = False

    async def consume() -> None:
        nonlocal produced
        async for result in check.run(ctx):
            produced = True
            await out.put(replace(result, elapsed=time.monotonic() - started, check=check.id))

    try:
        await asyncio.wait_for(consume(), timeout)
        if not produced:
            raise RuntimeError("the check gave no result")
    except asyncio.TimeoutError:
        await out.put(CheckResult(
            check.id, check.title, Status.ERROR, f"No answer within {timeout:g} s.",
            "The service did not respond in time: check the address, the firewall and that the service is running.",
            elapsed=time.monotonic() - started, check=check.id,
        ))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a broken check must never take the wizard down
        await out.put(CheckResult(
            check.id, check.title, Status.ERROR, f"The check could not run: {describe_error(exc)}",
            elapsed=time.monotonic() - started, check=check.id,
        ))


async def run_checks(checks: list[CheckDef], ctx: CheckContext) -> AsyncIterator[CheckResult]:
    """Yield results as they arrive. Closing the iterator cancels the checks still running."""
    queue: asyncio.Queue = asyncio.Queue()
    tasks = [asyncio.create_task(_run_one(check, ctx, queue)) for check in checks]
    done = asyncio.gather(*tasks, return_exceptions=True)
    getter: asyncio.Future | None = None
    try:
        while not (done.done() and queue.empty()):
            getter = asyncio.ensure_future(queue.get())
            finished, _ = await asyncio.wait({getter, done}, return_when=asyncio.FIRST_COMPLETED)
            if getter in finished:
                yield getter.result()
            else:
                getter.cancel()
    finally:
        if getter is not None and not getter.done():
            getter.cancel()  # else asyncio warns about a pending task when the consumer goes away
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def run_blocking(coroutine: Awaitable[T]) -> T:
    """`coroutine` on an event loop of its own, for a headless command or a worker thread; the loop's threads are
    shut down after a normal end. Not asyncio.run: on Ctrl-C it waits for every thread of the checks to end, and a
    check blocked on a connection that never answers ends only at its timeout. Here an interrupted run leaves them
    to the exit (wizard.cli._exit_at_once)."""
    loop = asyncio.new_event_loop()
    try:
        result = loop.run_until_complete(coroutine)
        loop.run_until_complete(loop.shutdown_default_executor())
        return result
    finally:
        loop.close()
