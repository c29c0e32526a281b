"""``watch(path)``: follow a log written by anything (another process, ``torchrun``'s rank 0, a Rust or Mojo program,
a job on a cluster writing to a shared folder) and draw it live, with the views a
:class:`~livetrain.SummaryWriter` draws.

Example::

    import livetrain
    watcher = livetrain.watch("runs/")      # the board appears in this cell and follows every run in the folder
    !torchrun --nproc-per-node 2 train.py   # rank 0 writes runs/<name>/metrics.jsonl; the board grows meanwhile
    watcher.stop()
"""
from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .core.callback import Callback, CallbackList
from .core.history import History
from .sources import Reader, find_logs, format_of, open_reader
from .sources.base import Point, Series
from .views.board import Board
from .views.compare import Compare

RESCAN_S = 1.0  #: how often a watched folder is searched for new runs, in seconds
#: the share of one CPU the views may spend on updates: no training runs in this process to leave the CPU to (the
#: views' default is 2%, which defers a 10 ms update by half a second)
BUDGET = 0.5


class Watcher:
    """Follows one log file, or every run in a folder, feeding :attr:`history` and the views.

    A file's tags are drawn as they are. In a folder, each run (see :func:`~livetrain.sources.find_logs`) is a line
    named after it in the tag's plot: the tag ``loss`` of run ``a`` is ``loss · a`` in the history. Each run keeps
    one colour in every plot (a new run takes the next), and hiding it from a plot's legend hides it everywhere.
    Runs that appear in the folder later are added as they start. Records are read once complete: a half-written
    line or event is picked up when its writer finishes it.

    Args:
        path: a ``.jsonl``, ``.csv`` or TensorBoard event file, or a folder of them (which may not exist yet).
        callbacks: the views (default: a :class:`~livetrain.Board`); each gets ``on_log`` for every record.
        poll: seconds between two reads of the files.
        x: the board's x axis: ``"step"``, ``"wall"`` or ``"relative"``.
        format: the file's format when its name does not tell (``"jsonl"``, ``"csv"``, ``"tfevents"``).
        compare: earlier runs the default board draws under the watched ones, a faint dashed line each (see
            :class:`~livetrain.Board`); give your own views their ``compare=`` instead.

    Example:
        >>> import tempfile, pathlib
        >>> log = pathlib.Path(tempfile.mkdtemp()) / "run.jsonl"
        >>> _ = log.write_text('{"step": 1, "phase": "train", "metrics": {"loss": 0.5}}\\n')
        >>> watcher = Watcher(log, callbacks=[])
        >>> watcher.poll(), watcher.history.steps["train/loss"].value.tolist()
        (1, [0.5])
    """

    def __init__(self, path: str | os.PathLike[str], callbacks: Iterable[Callback] | None = None, *,
                 poll: float = 0.1, x: str = "step", format: str | None = None, compare: Compare = None) -> None:
        if isinstance(poll, bool) or not isinstance(poll, (int, float)) or not poll > 0:
            raise ValueError(f"poll must be a number of seconds > 0, got {poll!r}")
        if compare is not None and callbacks is not None:
            raise ValueError("compare= is for the default board; with callbacks=, give the views compare= themselves")
        self.path = Path(path)
        self.folder = self.path.is_dir() or (not self.path.exists() and format is None and format_of(path) is None)
        if not self.folder:
            open_reader(self.path, format)  # a clear error now for a name of no known format
        self.format, self.interval = format, float(poll)
        self.history = History()  #: every record read, tagged as drawn
        #: the default view (``None`` when views are given)
        self.board = Board(x=x, compare=compare) if callbacks is None else None
        views = [self.board] if self.board is not None else list(callbacks or ())
        for view in views:
            if hasattr(view, "end_with_cell"):
                view.end_with_cell = False  # the watch goes on after the cell that started it
                view.throttle.budget = BUDGET
        self.callbacks = CallbackList(views)
        self.readers: dict[str, Reader] = {}  #: by run name ("" for a watched file)
        self.last_read = time.monotonic()  #: when a record last arrived (``time.monotonic()``)
        self._next: dict[str, int] = {}  # per run: the step after its last one, for records without a step
        self._scanned = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one poll at a time
        self._warned: set[str] = set()
        self.callbacks.on_train_begin(self.history)  # shows the views in the cell that started the watch

    def poll(self) -> int:
        """Read what the logs gained since the last poll and pass it to the views; returns the number of records.

        Example:
            >>> import tempfile
            >>> Watcher(tempfile.mkdtemp(), callbacks=[]).poll()
            0
        """
        with self._lock:
            self._discover()
            count = 0
            for run, reader in list(self.readers.items()):
                try:
                    points = reader.read()
                except (OSError, ValueError) as exc:
                    self._warn(run, f"reading {run or self.path} failed ({type(exc).__name__}: {exc}); it is retried")
                    continue
                for item in points:
                    count += self._feed(run, item) if isinstance(item, Point) else self._feed_series(run, item)
            if count:
                self.last_read = time.monotonic()
            return count

    def start(self) -> Watcher:
        """Poll every ``poll`` seconds in a background thread until :meth:`stop`; returns the watcher."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._serve, name="livetrain-watch", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling, read what is left, and leave the views' final state (``on_train_end``)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self.poll()
        self.callbacks.on_train_end(self.history)

    def wait(self, idle: float | None = None, timeout: float | None = None) -> None:
        """Block until no record arrived for ``idle`` seconds, or ``timeout`` seconds passed, or Ctrl-C (never, with
        neither); the polling thread goes on meanwhile.

        Example:
            >>> import tempfile
            >>> Watcher(tempfile.mkdtemp(), callbacks=[]).start().wait(timeout=0.2)
        """
        start = time.monotonic()
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if (idle is not None and now - self.last_read >= idle) or (timeout is not None and now - start >=
                                                                             timeout):
                    return
                time.sleep(min(self.interval, 0.1))
        except KeyboardInterrupt:
            return

    def __enter__(self) -> Watcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _ipython_display_(self) -> None:
        if self.board is not None:
            self.board.show()

    def __repr__(self) -> str:
        return f"Watcher({str(self.path)!r}, runs={sorted(self.readers)})"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception as exc:  # noqa: BLE001 - the watch must go on; the next poll retries
                self._warn("poll", f"watching {self.path} failed ({type(exc).__name__}: {exc}); it goes on")
            self._stop.wait(self.interval)

    def _discover(self) -> None:
        """Open readers for runs not followed yet (a folder is searched at most every ``RESCAN_S`` seconds)."""
        if not self.folder:
            if "" not in self.readers and self.path.exists():
                self.readers[""] = open_reader(self.path, self.format)
            return
        now = time.monotonic()
        if now - self._scanned < RESCAN_S or not self.path.is_dir():
            return
        self._scanned = now
        for run, path in find_logs(self.path).items():
            name = self.path.resolve().name if run == "." else run
            current = getattr(self.readers.get(name), "tail", None)
            if current is None or current.path != path:  # a new run, or a newer event file of a restarted writer
                self.readers[name] = open_reader(path)

    def _feed_series(self, run: str, series: Series) -> int:
        """One tag's points at once; the views hear of them once, at the last. Returns their number."""
        tag = self._tag(run, series.tag)
        self.history.extend(tag, series.step, series.value, series.wall)
        last = int(series.step[-1])
        self._next[run] = max(self._next.get(run, 0), int(series.step.max()) + 1)
        self.callbacks.on_log(last, {tag: float(series.value[-1])}, self.history)
        return len(series.step)

    def _feed(self, run: str, point: Point) -> int:
        step = point.step if point.step is not None else self._next.get(run, 0)
        self._next[run] = max(self._next.get(run, 0), step + 1)
        metrics = {self._tag(run, tag): value for tag, value in point.metrics.items()}
        logged: dict[str, Any] = {}
        if metrics:
            self.history.log(metrics, step, wall=point.wall, epoch=point.epoch)
            logged.update(metrics)
        for tag, (kind, value) in (point.records or {}).items():
            name = f"{tag} · {run}" if run else tag
            try:
                self.history.record(name, kind, value, step, wall=point.wall)
            except (TypeError, ValueError) as exc:
                self._warn(name, f"{name!r} is left out ({exc})")
                continue
            logged[name] = value
        if logged:
            self.callbacks.on_log(step, logged, self.history)
        return 1

    def _tag(self, run: str, tag: str) -> str:
        """``tag`` of ``run`` as the history and board name it (a folder's runs share a plot per tag)."""
        if not run:
            return tag
        name = f"{tag} · {run}"
        if self.board is not None and name not in self.board.groups.get(tag, ()):
            self.board.group(tag, [name], run=run)
        return name

    def _warn(self, topic: str, message: str) -> None:
        if topic not in self._warned:
            self._warned.add(topic)
            warnings.warn(f"livetrain: {message}", RuntimeWarning, stacklevel=2)


def watch(path: str | os.PathLike[str], callbacks: Iterable[Callback] | None = None, *, poll: float = 0.1,
          x: str = "step", format: str | None = None, compare: Compare = None) -> Watcher:
    """Follow ``path`` (a JSONL, CSV or TensorBoard event file, or a folder of runs) live: the board appears in this
    cell and grows while the log does, in a background thread, until :meth:`Watcher.stop`. See :class:`Watcher`.

    Example:
        >>> import tempfile
        >>> watcher = watch(tempfile.mkdtemp(), callbacks=[])
        >>> watcher.stop()
    """
    return Watcher(path, callbacks, poll=poll, x=x, format=format, compare=compare).start()
