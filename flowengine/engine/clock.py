"""Time for the local engine: a :class:`Clock` protocol, :class:`VirtualClock` and :class:`RealClock`.

Executions run as asyncio tasks on an event loop that the clock provides.  Every wait the
engine models (a Wait state, a Retry backoff, a TimeoutSeconds, a handler that awaits
``asyncio.sleep``) is an ordinary asyncio timer on that loop, so the clock decides how
long it really takes:

* :class:`VirtualClock` (the default) runs a loop whose ``time()`` is virtual.  When every
  task is parked on a timer and no real work is in flight, the loop jumps straight to the
  next due timer instead of sleeping.  A 24-hour Wait finishes in microseconds, many
  executions parked in waits advance together in timer order, and history timestamps keep
  the modelled time.  Synchronous handlers running in the executor count as real work:
  virtual time stands still until they return (a handler call takes no modelled time).
* :class:`RealClock` runs a standard loop and really sleeps (for demos and ``flowengine run``).

Timestamps are ``start + (loop.time() - loop_start)``: the virtual clock starts at a
fixed, settable instant (2024-01-01T00:00:00Z) so histories are reproducible.

**The virtual clock never spins.**  Loop time is a float of seconds since the loop started,
and asyncio runs a timer only when ``when < time() + clock_resolution``.  With asyncio's
resolution of a nanosecond, past 2**24 s (194 days) adding it to a float changes nothing, so a
timer the clock had advanced to exactly would never run and the loop would spin at 100 % CPU.
The virtual loop therefore widens its resolution to one unit in the last place of the current
time (a timer whose due time is at or before now always runs), and every jump of the clock
moves it forward by at least that unit.  Both hold at any magnitude, so each turn of the loop
either runs something or advances time.

**Handler threads are daemon threads.**  Synchronous handlers run in a small executor of the
clock's own (:class:`HandlerThreads`), not ``concurrent.futures.ThreadPoolExecutor``, whose
non-daemon threads the interpreter joins at exit.  A handler whose invocation timed out is
*abandoned*: its thread is left to finish on its own (Python cannot stop a thread), its result
is dropped, it no longer counts against the executor's bound, and it cannot hold the process
open at exit.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import heapq
import itertools
import math
import os
import selectors
import threading
import time as _time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any, Protocol, TypeVar, runtime_checkable

T = TypeVar("T")

#: The virtual clock's default start: fixed, so ids and timestamps are reproducible.
DEFAULT_START = datetime(2024, 1, 1, tzinfo=timezone.utc)


@runtime_checkable
class Clock(Protocol):
    """What the engine needs from time: an event loop to run on and the current instant."""

    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop executions run on (created on first use, then reused)."""

    def now(self) -> float:
        """The current instant as POSIX seconds (float)."""

    async def run_sync(self, func: Callable[..., T], *args: Any) -> T:
        """Run a synchronous callable off the loop (bounded executor) and await its result."""

    def run(self, awaitable: Awaitable[T]) -> T:
        """Drive ``awaitable`` to completion on the clock's loop."""

    def close(self) -> None:
        """Release the loop and the executor."""


def to_datetime(ts: float) -> datetime:
    """POSIX seconds → an aware UTC datetime (millisecond precision, as AWS reports)."""
    return datetime.fromtimestamp(round(ts, 3), tz=timezone.utc)


def iso(ts: float) -> str:
    """POSIX seconds → ``2024-01-01T00:00:00.000Z`` (the form of ``$$`` context times)."""
    dt = to_datetime(ts)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _in_context(func: Callable[..., T], *args: Any) -> Callable[[], T]:
    # A handler in the executor sees the caller's context variables (as asyncio.to_thread
    # does), so what it does can be traced back to the execution or event that called it.
    return functools.partial(contextvars.copy_context().run, func, *args)


def _drive(loop: asyncio.AbstractEventLoop, awaitable: Awaitable[T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return loop.run_until_complete(awaitable)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="flowengine-loop") as pool:
        return pool.submit(loop.run_until_complete, awaitable).result()


_handler_thread = threading.local()


def in_handler_thread() -> bool:
    """Whether the calling thread is running a synchronous handler for a clock's loop (code
    that must not block on the loop, since the loop waits for the handler)."""
    return bool(getattr(_handler_thread, "active", False))


class _Work:
    """One submitted call: its future, and whether the caller has given up on it."""

    __slots__ = ("abandoned", "call", "future")

    def __init__(self, future: concurrent.futures.Future[Any], call: Callable[[], Any]) -> None:
        self.future = future
        self.call = call
        self.abandoned = False


class HandlerThreads(concurrent.futures.Executor):
    """A bounded executor of daemon threads for synchronous handlers.

    Unlike ``ThreadPoolExecutor`` its threads never keep the interpreter alive, and a call the
    caller abandons (:meth:`abandon`: a handler that outlived its timeout) stops counting
    against ``max_workers`` at once, so hung handlers can neither block shutdown nor starve
    the handlers that come after them.  An abandoned call's thread ends when the call returns.
    """

    def __init__(self, max_workers: int | None = None, thread_name_prefix: str = "flowengine-handler") -> None:
        if max_workers is None:
            max_workers = min(32, (os.cpu_count() or 1) + 4)
        if max_workers < 1:
            raise ValueError("max_workers must be 1 or more")
        self._max = max_workers
        self._prefix = thread_name_prefix
        self._cond = threading.Condition()
        self._queue: deque[_Work] = deque()
        self._running: dict[concurrent.futures.Future[Any], _Work] = {}
        self._workers = 0  # threads that count against max_workers (abandoned ones do not)
        self._idle = 0
        self._shutdown = False
        self._names = 0

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._cond:
            if self._shutdown:
                raise RuntimeError("cannot schedule new calls after shutdown")
            self._queue.append(_Work(future, functools.partial(fn, *args, **kwargs)))
            if len(self._queue) > self._idle and self._workers < self._max:
                self._spawn()
            self._cond.notify()
        return future

    def abandon(self, future: concurrent.futures.Future[Any]) -> None:
        """The caller stopped waiting for ``future``: a queued call never runs; a running one
        finishes on its own thread, which leaves the pool (another may start in its place)."""
        if future.cancel():
            return
        with self._cond:
            work = self._running.get(future)
            if work is None or work.abandoned:
                return
            work.abandoned = True
            self._workers -= 1
            if len(self._queue) > self._idle and self._workers < self._max and not self._shutdown:
                self._spawn()

    def _spawn(self) -> None:  # with the lock held
        self._workers += 1
        self._names += 1
        threading.Thread(target=self._work, name=f"{self._prefix}_{self._names}", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._shutdown:
                    self._idle += 1
                    self._cond.wait()
                    self._idle -= 1
                if not self._queue:  # shut down
                    self._workers -= 1
                    return
                work = self._queue.popleft()
                if not work.future.set_running_or_notify_cancel():
                    continue
                self._running[work.future] = work
            _handler_thread.active = True
            try:
                result = work.call()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                work.future.set_exception(exc)
            else:
                work.future.set_result(result)
            finally:
                _handler_thread.active = False
            with self._cond:
                del self._running[work.future]
                if work.abandoned:
                    return  # this thread no longer belongs to the pool

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking work; idle threads end.  Running calls finish on their own (daemon)
        threads; ``wait`` waits for those that still belong to the pool."""
        with self._cond:
            self._shutdown = True
            if cancel_futures:
                while self._queue:
                    self._queue.popleft().future.cancel()
            self._cond.notify_all()
            running = [w.future for w in self._running.values() if not w.abandoned]
        if wait:
            concurrent.futures.wait(running)


class _ClockBase:
    """Shared plumbing: one loop per clock, one bounded executor for sync handlers."""

    def __init__(self, max_workers: int | None = None) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: HandlerThreads | None = None
        self._max_workers = max_workers

    def _new_loop(self) -> asyncio.AbstractEventLoop:
        raise NotImplementedError

    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._loop.is_closed():
            self._loop = self._new_loop()
        return self._loop

    def _pool(self) -> HandlerThreads:
        if self._executor is None:
            self._executor = HandlerThreads(self._max_workers)
        return self._executor

    async def run_sync(self, func: Callable[..., T], *args: Any) -> T:
        return await self._in_thread(func, *args)

    async def _in_thread(self, func: Callable[..., T], *args: Any) -> T:
        pool = self._pool()
        future = pool.submit(_in_context(func, *args))
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            pool.abandon(future)  # a timeout, or the execution stops: the thread is on its own
            raise

    def run(self, awaitable: Awaitable[T]) -> T:
        """Drive ``awaitable`` to completion on this clock's loop (synchronous entry point).

        Called from a thread that already runs an event loop (a notebook, an async test),
        the clock's loop runs in a helper thread for the duration of the call.
        """
        return _drive(self.loop(), awaitable)

    def close(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            loop = self._loop

            async def shutdown() -> None:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done() and t is not asyncio.current_task()]
                for t in pending:
                    t.cancel()
                if pending:
                    await asyncio.gather(*pending, return_exceptions=True)
                await loop.shutdown_asyncgens()

            _drive(loop, shutdown())
            loop.close()
        self._loop = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


class RealClock(_ClockBase):
    """Wall-clock time: waits, backoffs and timeouts really take their time."""

    def _new_loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.new_event_loop()

    def now(self) -> float:
        return _time.time()


class _VirtualSelector(selectors.BaseSelector):
    """Wraps the loop's selector: when asked to block while nothing real is pending,
    advance virtual time by the requested timeout instead of sleeping."""

    def __init__(self, inner: selectors.BaseSelector, loop: "_VirtualLoop") -> None:
        self._inner = inner
        self._vloop = loop

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.get_key(fileobj)

    def get_map(self) -> Any:
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        loop = self._vloop
        if timeout is not None and timeout <= 0:
            return self._inner.select(0)
        if loop.real_work > 0:
            # A handler runs in a thread: wait for it in real time; virtual time stands still.
            return self._inner.select(None if timeout is None else min(timeout, 0.05))
        ready = self._inner.select(0)
        if ready:
            return ready
        if timeout is not None:
            # A weak timer (call_at_weakly) earlier than the next timer: stop there.
            weak = loop.next_weak()
            if weak is not None and weak - loop._virtual_now < timeout:
                timeout = weak - loop._virtual_now
                if timeout <= 0:
                    loop.fire_weak()
                    return []
        if loop.horizon is not None and (timeout is None or loop._virtual_now + timeout > loop.horizon):
            # VirtualClock.settle: nothing else can happen before the horizon.
            loop.reach_horizon(scheduled=timeout is not None)
            return []
        if timeout is None:
            # Nothing is scheduled: only another thread can wake the loop.
            return self._inner.select(None)
        loop.advance(timeout)  # always moves time forward (see _VirtualLoop.advance)
        return []


class WeakTimer:
    """A timer of :func:`call_at_weakly`; ``cancel()`` it when it is no longer wanted."""

    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], Any]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


def call_at_weakly(loop: asyncio.AbstractEventLoop, when: float, callback: Callable[[], Any]) -> Any:
    """Call ``callback`` at loop time ``when``, like ``loop.call_at``, except that on the
    virtual clock the timer never keeps the loop busy by itself: it runs when virtual time
    reaches ``when`` because of other timers (or ``advance``), and a loop with nothing else
    scheduled stays idle.  For bounds that should not make time pass on their own, e.g. AWS's
    one-year maximum execution time, which would otherwise turn every execution waiting for a
    task token into one that times out a year later.  Returns an object with ``cancel()``."""
    if isinstance(loop, _VirtualLoop):
        return loop.call_weakly_at(when, callback)
    return loop.call_at(when, callback)


class _VirtualLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` is virtual; see :class:`VirtualClock`."""

    def __init__(self) -> None:
        self._virtual_now = 0.0
        self._base_resolution = 1e-9
        self._weak: list[tuple[float, int, WeakTimer]] = []
        self._weak_seq = itertools.count()
        self._weak_purge_at = 64
        self.real_work = 0
        #: VirtualClock.settle's horizon (loop time) and what to call when it is reached.
        self.horizon: float | None = None
        self.on_horizon: Callable[[bool], None] | None = None
        super().__init__(selector=selectors.DefaultSelector())
        self._selector = _VirtualSelector(self._selector, self)  # type: ignore[has-type]

    def time(self) -> float:
        return self._virtual_now

    # asyncio's _run_once runs a timer when ``when < self.time() + self._clock_resolution``
    # (BaseEventLoop sets the attribute in __init__, hence the setter).  One unit in the last
    # place of the current time makes "due at or before now" always run, however large the
    # virtual time has grown; asyncio's own 1e-9 stops changing a float past 2**24 s.
    @property
    def _clock_resolution(self) -> float:
        return max(self._base_resolution, math.ulp(self._virtual_now))

    @_clock_resolution.setter
    def _clock_resolution(self, value: float) -> None:
        self._base_resolution = value

    def advance(self, seconds: float) -> None:
        """Move virtual time forward by ``seconds``; a positive step always changes the clock,
        even one below the float resolution at this magnitude (the loop can never spin)."""
        now = self._virtual_now
        later = now + seconds
        if seconds > 0 and later <= now:
            later = math.nextafter(now, math.inf)
        self.move_to(later)

    def move_to(self, when: float) -> None:
        """Set virtual time to ``when`` (never backwards); weak timers it passes fall due."""
        if when > self._virtual_now:
            self._virtual_now = when
        self.fire_weak()

    # -- weak timers ---------------------------------------------------------------------

    def call_weakly_at(self, when: float, callback: Callable[[], Any]) -> "WeakTimer":
        timer = WeakTimer(when, callback)
        if len(self._weak) >= self._weak_purge_at:
            # Cancelled timers (every finished execution leaves one) go, amortized O(1).
            self._weak = [entry for entry in self._weak if not entry[2].cancelled]
            heapq.heapify(self._weak)
            self._weak_purge_at = max(64, 2 * len(self._weak))
        heapq.heappush(self._weak, (when, next(self._weak_seq), timer))
        if when <= self._virtual_now:
            self.fire_weak()
        return timer

    def next_weak(self) -> float | None:
        """The due time of the earliest live weak timer."""
        heap = self._weak
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def fire_weak(self) -> None:
        heap = self._weak
        while heap and heap[0][0] <= self._virtual_now:
            timer = heapq.heappop(heap)[2]
            if not timer.cancelled:
                timer.cancelled = True
                self.call_soon(timer.callback)

    def reach_horizon(self, scheduled: bool) -> None:
        assert self.horizon is not None
        if scheduled:
            self.move_to(self.horizon)
        callback, self.horizon, self.on_horizon = self.on_horizon, None, None
        if callback is not None:
            self.call_soon(callback, scheduled)


class VirtualClock(_ClockBase):
    """Modelled time: the loop skips to the next due timer whenever everything is waiting.

    ``start`` is the instant the clock reads when the loop is created (default
    2024-01-01T00:00:00Z).  ``advance(seconds)`` moves time forward by hand, e.g. between
    executions in a test.
    """

    def __init__(self, start: datetime | float | None = None, max_workers: int | None = None) -> None:
        super().__init__(max_workers)
        if start is None:
            start = DEFAULT_START
        if isinstance(start, datetime):
            if start.tzinfo is None:
                start = start.replace(tzinfo=timezone.utc)
            start = start.timestamp()
        self._start = float(start)

    def _new_loop(self) -> asyncio.AbstractEventLoop:
        return _VirtualLoop()

    def now(self) -> float:
        # On every event's path: read the loop's virtual time directly.
        loop = self._loop
        if loop is None:
            loop = self.loop()
        return self._start + loop._virtual_now  # type: ignore[attr-defined]

    def advance(self, seconds: float) -> None:
        """Move virtual time forward (timers that fall due run at the loop's next turn)."""
        loop = self.loop()
        assert isinstance(loop, _VirtualLoop)
        loop.advance(seconds)

    async def run_sync(self, func: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        if not isinstance(loop, _VirtualLoop):
            return await super().run_sync(func, *args)
        loop.real_work += 1
        try:
            return await self._in_thread(func, *args)
        finally:
            loop.real_work -= 1

    async def settle(self, until: float | None = None, *, jump: bool = False) -> bool:
        """Run everything that falls due up to ``until`` (POSIX seconds; default: now), then
        return as soon as the loop would have to wait past it.

        True: the clock reads ``until`` and something is still scheduled after it.  False:
        nothing is scheduled at all any more (every task is done or waits for something only
        another task or thread can give), and time stays where it stopped, unless ``jump``:
        then the clock moves on to ``until`` all the same (what "advance by" means to a test:
        ``TestRuntime.advance`` passes it).  The app runtime drives schedules, ``advance``
        and ``run_until_idle`` with it.
        """
        loop = asyncio.get_running_loop()
        assert isinstance(loop, _VirtualLoop), "settle() runs on the clock's own loop"
        target = loop._virtual_now if until is None else max(loop._virtual_now, until - self._start)
        while True:
            scheduled = await self._settle_once(loop, target)
            if scheduled or not jump or not math.isfinite(target):
                return scheduled
            weak = loop.next_weak()
            if weak is None or weak > target:
                loop.move_to(target)
                return False
            # A weak timer on the way (a maximum execution time): it falls due at its own
            # instant, and what it sets off settles there before time moves on.
            loop.move_to(weak)

    @staticmethod
    async def _settle_once(loop: "_VirtualLoop", target: float) -> bool:
        done: asyncio.Future[bool] = loop.create_future()

        def reached(scheduled: bool) -> None:
            if not done.done():
                done.set_result(scheduled)

        loop.horizon, loop.on_horizon = target, reached
        try:
            return await done
        finally:
            loop.horizon, loop.on_horizon = None, None
