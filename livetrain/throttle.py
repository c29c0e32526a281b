"""A wall-clock throttle: run an action at most once per interval, coalescing requests in between."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    """Coalesce calls to ``action`` so it runs at most once per ``interval`` seconds.

    :meth:`request` runs the action at once if the last run is at least ``interval`` ago;
    otherwise it schedules one run (on a timer thread) for when the interval is up, so a
    request is served within ``interval`` even if no other request follows. :meth:`flush`
    runs it now. ``lock`` is held while the action runs; take it to change what the action reads.

    Example:
        >>> runs = []
        >>> t = Throttle(lambda: runs.append(1), interval=60)
        >>> for _ in range(1000): t.request()
        >>> t.flush(); len(runs)
        2
    """

    def __init__(self, action: Callable[[], None], interval: float = 0.1) -> None:
        if not interval >= 0:
            raise ValueError(f"interval must be a number of seconds >= 0, got {interval!r}")
        self.action = action
        self.interval = interval
        self.lock = threading.RLock()
        self.runs = 0
        self._next = 0.0
        self._pending = False
        self._timer: threading.Timer | None = None

    def request(self) -> None:
        """Ask for a run: now if the interval is up, else once at the end of the interval."""
        with self.lock:
            self._pending = True
            wait = self._next - time.monotonic()
            if wait <= 0:
                self._run()
            elif self._timer is None:
                self._timer = threading.Timer(wait, self._on_timer)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Run now if a request is pending."""
        with self.lock:
            if self._pending:
                self._run()

    def close(self) -> None:
        """Run any pending request now and stop the timer."""
        self.flush()
        with self.lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _on_timer(self) -> None:
        with self.lock:
            self._timer = None
            if self._pending:
                self._run()

    def _run(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending = False
        self._next = time.monotonic() + self.interval
        self.runs += 1
        self.action()
