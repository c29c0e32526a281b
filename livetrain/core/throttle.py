"""A wall-clock throttle: run an action at most once per interval, coalescing requests in between."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

IDLE_EXIT = 5.0  # seconds without requests after which the helper thread ends
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


class Throttle:
    """Coalesce calls to ``action`` so it runs at most once per ``interval`` seconds.

    :meth:`request` runs the action at once if the last run is at least ``interval`` ago;
    otherwise a helper thread runs it when the interval is up, so a request is served within
    ``interval`` even if no other request follows. :meth:`flush` runs it now (the action may still leave
    part of its work to the throttle with :func:`run_again`: the display's outputs do, to keep a hard minimum
    time between two updates of a page however often ``flush`` is called). ``lock`` is held while the action
    runs; take it to change what the action reads. The helper thread is started on demand, reused while
    requests keep coming, and ends after ``IDLE_EXIT`` idle seconds.

    Example:
        >>> runs = []
        >>> t = Throttle(lambda: runs.append(1), interval=60)
        >>> for _ in range(1000): t.request()
        >>> t.flush(); len(runs)
        2
    """

    def __init__(self, action: Callable[[], None], interval: float = 0.1) -> None:
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval >= 0:
            raise ValueError(f"interval must be a number of seconds >= 0, got {interval!r}")
        self.action = action
        self.interval = interval
        self.lock = threading.RLock()
        self._wake = threading.Condition(self.lock)
        self._next = 0.0
        self._pending = False
        self._stop = False
        self._idle = False
        self._helper: threading.Thread | None = None

    def request(self) -> None:
        """Ask for a run: now if the interval is up, else once at the end of the interval."""
        with self.lock:
            was_pending, self._pending = self._pending, True
            if time.monotonic() >= self._next:
                self._run()
                return
            self._wake_helper(was_pending)

    def _wake_helper(self, was_pending: bool) -> None:
        self._stop = False  # a helper told to stop by close() keeps serving instead
        if self._helper is None:
            self._helper = threading.Thread(target=self._serve, name="livetrain-throttle", daemon=True)
            self._helper.start()
        elif self._idle and not was_pending:
            self._wake.notify()  # the helper sleeps without a deadline: give it one

    def _again(self, delay: float) -> None:
        """Called by :func:`run_again` during the action, with the lock held: the sooner of the two wins."""
        self._pending, self._next = True, min(self._next, time.monotonic() + delay)
        self._wake_helper(False)

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
                while not self._stop:
                    wait = self._next - time.monotonic()
                    if self._pending and wait <= 0:
                        self._run()
                    elif wait > 0:  # until the interval ends; requests meanwhile need no wake-up
                        self._wake.wait(wait)
                    else:
                        self._idle = True
                        woken = self._wake.wait(IDLE_EXIT)
                        self._idle = False
                        if not (woken or self._pending):
                            break
            finally:
                self._helper = None

    def _run(self) -> None:
        self._pending = False
        self._next = time.monotonic() + self.interval
        outer, _running.throttle = getattr(_running, "throttle", None), self
        try:
            self.action()
        finally:
            _running.throttle = outer
