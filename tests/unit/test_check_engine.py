"""The check engine: concurrency, per-check timeouts, errors turned into results, cancellation."""

from __future__ import annotations

import asyncio
import time

import pytest

from wizard.checks.engine import CheckContext, CheckDef, CheckResult, Status, run_checks
from tests.check_runs import collect


def _check(check_id: str, delay: float, status: Status = Status.PASS, count: int = 1):
    async def run(ctx):
        for n in range(count):
            await asyncio.sleep(delay)
            yield CheckResult(check_id, check_id, status, f"{check_id} result {n}")

    return CheckDef(check_id, check_id, run)


async def test_checks_run_concurrently_and_take_about_the_slowest():
    checks = [_check(f"c{i}", 0.3) for i in range(5)]
    started = time.monotonic()
    results = await collect(checks, CheckContext({}))
    elapsed = time.monotonic() - started
    assert sorted(r.id for r in results) == [f"c{i}" for i in range(5)]
    assert elapsed < 1.0, f"five 0.3 s checks took {elapsed:.2f} s: they ran one after another"
    assert all(r.elapsed >= 0.29 for r in results)


async def test_a_check_may_yield_several_results_in_order():
    results = await collect([_check("multi", 0.01, count=3)], CheckContext({}))
    assert [r.message for r in results] == ["multi result 0", "multi result 1", "multi result 2"]


async def test_every_result_names_the_registered_check_that_produced_it():
    async def parts(ctx):
        yield CheckResult("cache.reachable", "Reachable", Status.PASS, "ok")
        yield CheckResult("cache.auth", "Auth", Status.FAIL, "denied")

    async def hang(ctx):
        await asyncio.sleep(3600)
        yield  # pragma: no cover

    results = await collect([CheckDef("cache", "Cache", parts), CheckDef("slow", "Slow", hang)],
                            CheckContext({}, timeout=0.2))
    assert {(r.id, r.check) for r in results} == {("cache.reachable", "cache"), ("cache.auth", "cache"),
                                                   ("slow", "slow")}


async def test_timeout_becomes_an_error_result_within_the_bound():
    async def hang(ctx):
        await asyncio.sleep(3600)
        yield  # pragma: no cover

    started = time.monotonic()
    results = await collect([CheckDef("hang", "Hangs", hang), _check("quick", 0.01)], CheckContext({}, timeout=0.3))
    elapsed = time.monotonic() - started
    by_id = {r.id: r for r in results}
    assert by_id["hang"].status is Status.ERROR
    assert "No answer within 0.3 s" in by_id["hang"].message
    assert by_id["hang"].hint
    assert by_id["quick"].status is Status.PASS
    assert elapsed < 0.8


async def test_per_check_timeout_overrides_the_context():
    async def slow(ctx):
        await asyncio.sleep(0.5)
        yield CheckResult("slow", "Slow", Status.PASS, "done")

    results = await collect([CheckDef("slow", "Slow", slow, timeout=2.0)], CheckContext({}, timeout=0.1))
    assert results[0].status is Status.PASS


async def test_exception_becomes_an_error_result_without_traceback():
    async def broken(ctx):
        raise ConnectionResetError("peer reset the connection")
        yield  # pragma: no cover

    async def silent(ctx):
        return
        yield  # pragma: no cover

    checks = [CheckDef("broken", "Broken", broken), CheckDef("silent", "Silent", silent)]
    results = await collect(checks, CheckContext({}))
    by_id = {r.id: r for r in results}
    assert by_id["broken"].status is Status.ERROR
    assert by_id["broken"].message == "The check could not run: ConnectionResetError: peer reset the connection"
    assert "Traceback" not in by_id["broken"].message
    assert by_id["silent"].status is Status.ERROR and "gave no result" in by_id["silent"].message


async def test_closing_the_iterator_cancels_running_checks():
    cancelled = asyncio.Event()

    async def long(ctx):
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        yield  # pragma: no cover

    stream = run_checks([_check("fast", 0.01), CheckDef("long", "Long", long)], CheckContext({}, timeout=60))
    first = await stream.__anext__()
    assert first.id == "fast"
    await stream.aclose()
    assert cancelled.is_set()


async def test_cancelling_the_consumer_task_cancels_the_checks():
    cancelled = asyncio.Event()

    async def long(ctx):
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        yield  # pragma: no cover

    async def consume():
        async for _ in run_checks([CheckDef("long", "Long", long)], CheckContext({}, timeout=60)):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled.is_set()



def test_status_symbols_carry_words():
    for status in Status:
        assert any(ch.isalpha() for ch in status.symbol)
