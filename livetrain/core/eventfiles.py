"""A writer's TensorBoard event files, written off the training thread: :class:`EventFiles` queues the events and a
:class:`Background` helper writes them, at most once per interval.
"""
from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .metrics import to_float
from .tfevents import EventFileWriter
from .throttle import IDLE_EXIT

Event = tuple[str, str, tuple]  # (sub-run: a folder of log_dir, "" for itself; EventFileWriter method; its arguments)


class Background:
    """Runs ``action`` in a helper thread, at most once per ``interval`` seconds after a :meth:`wake`; the caller never
    waits for it (a :class:`~livetrain.core.throttle.Throttle` runs a due action in the caller's thread: here that
    would make the training loop encode events, and wait for a JAX or torch value to be computed). :meth:`run` runs
    it now, in the caller's thread; ``lock`` is held while it runs. The helper ends after ``IDLE_EXIT`` idle seconds.

    Example:
        >>> runs = []
        >>> sync = Background(lambda: runs.append(1), interval=60)
        >>> for _ in range(1000): sync.wake()  # one run, in the helper, within a minute
        >>> sync.run(); runs  # or now, in this thread (then the helper has nothing left to do)
        [1]
    """

    def __init__(self, action: Callable[[], object], interval: float) -> None:
        self.action, self.interval = action, interval
        self.lock = threading.Lock()  # one run at a time
        self._wanted = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()  # the helper's start and end

    def wake(self) -> None:
        """Ask for a run in the helper, within ``interval`` seconds."""
        if self._wanted.is_set():
            return
        self._wanted.set()
        if self._thread is None:
            with self._guard:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._serve, name="livetrain-events", daemon=True)
                    self._thread.start()

    def _serve(self) -> None:
        while True:
            if not self._wanted.wait(IDLE_EXIT):
                with self._guard:
                    if not self._wanted.is_set():  # a wake() after this sees no helper and starts one
                        self._thread = None
                        return
                continue
            time.sleep(self.interval)  # gather the window's calls into one run
            if self._wanted.is_set():  # else run() came first
                try:
                    self.run()
                except Exception as exc:  # noqa: BLE001 - the helper must live on for the next calls
                    warnings.warn(f"livetrain: writing events failed ({type(exc).__name__}: {exc})", RuntimeWarning,
                                  stacklevel=1)

    def run(self) -> None:
        """Run the action now."""
        with self.lock:
            self._wanted.clear()
            self.action()


class EventFiles:
    """The event files of one run: one per sub-run of ``log_dir``, each opened when its first event is written.
    :meth:`put` queues events and returns at once; a helper thread writes them and flushes every file within
    ``interval`` seconds, reading a scalar only then (so a JAX or torch value is not waited for in the training
    loop). A disk that fails to open a file, or an event that fails to write, is told once to ``warn(topic,
    message)``; after the first, no more files are written (:attr:`enabled` is ``False``).

    Example:
        >>> import tempfile
        >>> files = EventFiles(tempfile.mkdtemp(), "", interval=60, warn=print)
        >>> files.put(("", "add_scalar", ("loss", 0.5, 0, 0.0)), ("test", "add_scalar", ("loss", 0.7, 0, 0.0)))
        >>> files.close(); sorted(p.name for p in Path(files.log_dir).iterdir() if p.is_dir())
        ['test']
    """

    def __init__(self, log_dir: str, suffix: str, interval: float, warn: Callable[[Any, str], None]) -> None:
        self.log_dir, self.suffix, self.warn = log_dir, suffix, warn
        self.enabled = True
        self._files: dict[str, EventFileWriter] = {}  # sub-run -> its open file
        self._pending: list[Event] = []
        self._lock = threading.Lock()  # guards _pending
        self._sync = Background(self._write, interval)

    def open(self, sub: str = "") -> EventFileWriter | None:
        """The open event file of sub-run ``sub`` (opened now if needed); ``None`` once the disk failed."""
        if sub not in self._files:
            try:
                self._files[sub] = EventFileWriter(Path(self.log_dir, sub), self.suffix)
            except OSError as exc:
                self.warn("disk", f"SummaryWriter cannot write event files in {self.log_dir!r} ({exc}); the board "
                          f"and the history still get everything")
                self.enabled = False
                return None
        return self._files[sub]

    def put(self, *events: Event) -> None:
        """Queue ``events`` for the helper, which writes them within ``interval`` seconds (none once the disk fails)."""
        if not self.enabled:
            return
        with self._lock:
            self._pending.extend(events)
        self._sync.wake()

    def flush(self) -> None:
        """Write what is queued, and flush every file, now."""
        self._sync.run()

    def close(self) -> None:
        """Write what is queued and close every file; a later :meth:`put` opens new ones (as torch's writer does)."""
        with self._sync.lock:
            self._write()
            for file in list(self._files.values()):
                file.close()
            self._files.clear()

    def _write(self) -> None:
        """The helper's action: write the queued events (reading the scalars now), then flush every file."""
        with self._lock:
            pending, self._pending = self._pending, []
        for sub, method, args in pending:
            file = self.open(sub) if self.enabled else None
            if file is None:
                return
            try:
                if method == "add_scalar":
                    tag, value, step, wall = args
                    file.add_scalar(tag, to_float(tag, value), step, wall)
                else:
                    getattr(file, method)(*args)
            except Exception as exc:  # noqa: BLE001 - one bad event must not stop the others, nor training
                self.warn(("file", method, args[0] if args else ""), f"writing {method[4:]} {args[0]!r} to the "
                          f"event file failed ({type(exc).__name__}: {exc}); it is skipped")
        for file in list(self._files.values()):
            file.flush()
