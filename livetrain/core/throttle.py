"""A wall-clock throttle: run an action at most once per interval, coalescing requests in between."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

IDLE_EXIT = 5.0  # seconds without requests after which the helper thread ends
MOST_DEFERRED = 1.0  # the CPU budget defers a run by at most this many seconds
_running = threading.local()  # .throttle: the throttle whose action this thread runs now


def run_again(delay: float) -> bool:
    """From inside a throttle's action: ask for the action once more in ``delay`` seconds, or at the end of the
    interval if that is sooner, as a throttled request the throttle's helper serves (the action left part of its
    work for then). ``False`` outside an action, where nobody would call back: the caller must do the work now.

    Example:
        >>> run_again(0.05)
        False
        >>> runs = []
        >>> t = Throttle(lambda: runs.append(run_again(0.05) if not runs else True), interval=60)
        >>> t.request(); time.sleep(0.5); runs
        [True, True]
    """
    throttle = getattr(_running, "throttle", None)
    if throttle is None:
        return False
    throttle._again(delay)
    return True


@contextmanager
def one_off() -> Iterator[None]:
    """Inside a throttle's action: the CPU time the block takes is a one-off (a view making a new panel), not the
    steady cost the budget paces, so the next run is not held back for it. Outside an action, nothing.

    Example:
        >>> def action():
        ...     with one_off():
        ...         sum(range(10**6))  # tens of ms: without one_off, the next run would wait MOST_DEFERRED
        >>> t = Throttle(action, interval=0.01, budget=0.001)
        >>> t.request(); t._next - time.monotonic() < 0.5
        True
    """
    start = time.thread_time()
    try:
        yield
    finally:
        throttle = getattr(_running, "throttle", None)
        if throttle is not None:
            throttle._exempt += time.thread_time() - start


class Throttle:
    """Coalesce calls to ``action`` so it runs at most once per ``interval`` seconds, and with at most ``budget`` of
    one CPU.

    :meth:`request` runs the action at once if the last run is at least ``interval`` ago and no helper thread is
    serving requests; otherwise the helper runs it when the interval is up, so a request is served within
    ``interval`` even if no other request follows. While the helper is serving (running the action, or waiting
    for the interval's end) a request takes no lock: it only sets a flag, so a training loop never waits for a
    push. After a run that took ``c`` seconds of CPU time, the next waits at least ``c / budget`` seconds: a
    costly action runs less often rather than slow the caller down. :meth:`flush` runs it now (the action may still
    leave part of its work to the throttle with :func:`run_again`: the display's outputs do, to keep a hard minimum
    time between two updates of a page however often ``flush`` is called). ``lock`` is held while the action runs;
    take it to change what the action reads. The helper thread is started on demand, reused while requests keep
    coming, and ends after ``IDLE_EXIT`` idle seconds.

    Example:
        >>> runs = []
        >>> t = Throttle(lambda: runs.append(1), interval=60)
        >>> for _ in range(1000): t.request()
        >>> t.flush(); len(runs)
        2
    """

    def __init__(self, action: Callable[[], None], interval: float = 0.1, budget: float = 0.003,
                 burst: float = 0.01) -> None:
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval >= 0:
            raise ValueError(f"interval must be a number of seconds >= 0, got {interval!r}")
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 < budget <= 1:
            raise ValueError(f"budget must be a fraction of one CPU in (0, 1], got {budget!r}")
        self.action = action
        self.interval, self.budget, self.burst = interval, budget, burst
        self._credit, self._earned = burst, time.monotonic()  # CPU seconds the action may still spend, and since when
        self._exempt = 0.0  # CPU seconds of the running action that are one-offs (see one_off)
        self.lock = threading.RLock()
        self._wake = threading.Condition(self.lock)
        self._next = 0.0
        self._pending = False
        self._stop = False
        self._idle = False
        self._serving = False  # the helper will look at _pending again before it idles or ends: a request needs no lock
        self._helper: threading.Thread | None = None
        #: ``True``: :meth:`request` never runs the action in the caller's thread; the helper runs it (within
        #: ``interval``), so a caller that logs never pays for an update
        self.background = False

    def request(self) -> None:
        """Ask for a run: now if the interval is up (and no helper serves), else once at the end of the interval."""
        if self._serving:  # set the flag, then check the helper still serves (it clears _serving, then reads _pending)
            self._pending = True
            if self._serving:
                return
        with self.lock:
            self._pending = True
            if time.monotonic() >= self._next and not self._serving and not self.background:
                self._run()
                return
            self._wake_helper()

    def _wake_helper(self) -> None:
        self._stop = False  # a helper told to stop by close() keeps serving instead
        if self._helper is None:
            self._helper = threading.Thread(target=self._serve, name="livetrain-throttle", daemon=True)
            self._helper.start()
        elif self._idle:
            self._wake.notify()  # the helper sleeps without a deadline: give it one

    def _again(self, delay: float) -> None:
        """Called by :func:`run_again` during the action, with the lock held: the sooner of the two wins."""
        self._pending, self._next = True, min(self._next, time.monotonic() + delay)
        self._wake_helper()

    def flush(self) -> None:
        """Run now if a request is pending."""
        with self.lock:
            if self._pending:
                self._run()

    def close(self) -> None:
        """Run any pending request now and let the helper thread end."""
        with self.lock:
            self.flush()
            self._stop = True
            self._wake.notify()

    def _serve(self) -> None:
        with self.lock:
            try:
                while True:
                    self._serving = True
                    wait = self._next - time.monotonic()
                    if self._pending and wait <= 0:
                        self._run()
                    elif self._pending or wait > 0 and not self._stop:
                        self._wake.wait(wait)  # until the interval ends; requests meanwhile need no wake-up
                    else:
                        self._serving = False  # from now on a request takes the lock, and wakes or restarts this thread
                        if self._pending:
                            continue
                        if self._stop:
                            break
                        self._idle = True
                        woken = self._wake.wait(IDLE_EXIT)
                        self._idle = False
                        if not (woken or self._pending):
                            break
            finally:
                self._serving = False
                self._helper = None

    def _run(self) -> None:
        self._pending, self._exempt = False, 0.0
        start, cpu = time.monotonic(), time.thread_time()
        self._next = start + self.interval
        outer, _running.throttle = getattr(_running, "throttle", None), self
        try:
            self.action()
        finally:
            _running.throttle = outer
            if self.interval > 0:  # interval 0 asks for every request at once (a replica drawing frames)
                self._charge(start, max(time.thread_time() - cpu - self._exempt, 0.0))

    def _charge(self, now: float, spent: float) -> None:
        """Take ``spent`` CPU seconds from the credit, which grows by ``budget`` a second up to ``burst``; in debt,
        the next run waits until it is paid."""
        self._credit = min(self.burst, self._credit + (now - self._earned) * self.budget) - spent
        self._credit, self._earned = max(self._credit, -self.budget * MOST_DEFERRED), now
        if self._credit < 0:
            self._next = max(self._next, now - self._credit / self.budget)
