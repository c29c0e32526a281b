"""``FrameExporter``: a view's state at each epoch, as PNG frames and a GIF, without slowing training down."""
from __future__ import annotations

import os
import queue
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .core.callback import Callback
from .core.checks import whole
from .core.history import History
from .frames import CHOICES, open_renderer
from .frames.base import Renderer
from .views.base import LiveView

Lengths = dict[str, dict[str, int]]
Latest = dict[str, dict[str, Any]]


class FrameExporter(Callback):
    """Records what ``view`` shows at the end of each epoch; draws it as frames when asked.

    Place it after the view in the callbacks. At an epoch's end it only notes how long each history
    list is (microseconds); nothing is drawn during training unless ``eager=True``, which draws each
    epoch in a background thread as it ends (once the run's last phase ends: ``train_loop``'s phases, or in
    your own loop the history's). Frames are drawn from a :meth:`~livetrain.LiveView.replica` of the view,
    fed every recorded epoch in order, each with the history as it was then, and captured at the chosen
    epochs: they show what the live plot showed, series logged only some epochs included.

    Args:
        view: the live view or :class:`~livetrain.Dashboard` to record.
        renderer: ``"auto"``, ``"browser"``, ``"matplotlib"`` or ``"quick"`` (see
            :func:`livetrain.frames.open_renderer`).
        gif: a path to write the GIF to when training ends (normally, or by an error or an interrupt).
        frames_dir: a folder to write one PNG per epoch to when training ends.
        eager: draw each epoch in a background thread while training goes on.
        every: draw every ``every``-th recorded epoch (and always the last one).

    Example:
        >>> from livetrain import LinePlotsCallback, train_loop
        >>> view = LinePlotsCallback()
        >>> exporter = FrameExporter(view, renderer="matplotlib")
        >>> _ = train_loop(lambda batch, phase: {"loss": 1 / (batch + 1), "acc": 0.5}, {"train": [1, 2]},
        ...                epochs=3, callbacks=[view, exporter], progress=False)
        >>> len(exporter.frames())  # doctest: +ELLIPSIS
        livetrain: frames drawn by matplotlib ...
        3
    """

    def __init__(self, view: LiveView, *, renderer: str = "auto", gif: str | os.PathLike | None = None,
                 frames_dir: str | os.PathLike | None = None, eager: bool = False, every: int = 1) -> None:
        if not isinstance(view, LiveView):
            raise TypeError(f"FrameExporter records a livetrain view (LinePlotsCallback, Dashboard, ...); "
                            f"got {type(view).__name__}")
        if renderer not in CHOICES:
            raise ValueError(f"renderer must be one of {', '.join(map(repr, CHOICES))}; got {renderer!r}")
        whole("every", every, minimum=1)
        self.view, self.renderer, self.eager, self.every = view, renderer, eager, every
        self.gif, self.frames_dir = gif, frames_dir
        self.notice: str | None = None  # which renderer drew the frames, once they are drawn
        # per epoch: the history, its lengths then, the phases ended, and their latest values (History drops old
        # image batches from memory; these references keep the ones the frames need)
        self._marks: dict[int, tuple[Mapping[str, Mapping[str, list]], Lengths, list[str], Latest]] = {}
        self._drawn: dict[int, bytes] = {}
        self._replica: LiveView | None = None
        self._fed = 0  # how many of the recorded epochs, in order, the replica has been fed
        self._lock = threading.Lock()
        self._jobs: queue.Queue[int | None] | None = None

    def on_epoch_end(self, epoch: int, phase: str, history: Mapping[str, Mapping[str, list]]) -> None:
        lengths = {p: {k: len(v) for k, v in series.items()} for p, series in history.items()}
        latest = {k: v[-1] for k, v in history.get(phase, {}).items() if v}
        with self._lock:
            _, _, phases, kept = self._marks.get(epoch, (None, None, [], {}))
            self._marks[epoch] = (history, lengths, [*phases, phase], {**kept, phase: latest})
        if self.eager and phase == (self.params.get("phases") or list(history))[-1]:
            self._queue().put(epoch)

    def on_train_end(self, history: History) -> None:
        self._write()

    def on_exception(self, exception: BaseException, history: History) -> None:
        self._write()

    @property
    def recorded(self) -> int:
        """How many epochs are recorded (one frame each, with ``every=1``)."""
        return len(self._marks)

    @property
    def drawn(self) -> int:
        """How many frames are drawn so far (during training only with ``eager=True``)."""
        return len(self._drawn)

    def frames(self) -> list[bytes]:
        """The recorded epochs drawn as frames (PNG bytes), in order; drawn now if needed."""
        if self._jobs is not None:
            self._jobs.join()
        todo = [e for e in self._epochs() if e not in self._drawn]
        if todo:
            self._draw(todo)
        return [self._drawn[e] for e in self._epochs()]

    def save_gif(self, path: str | os.PathLike, **options: Any) -> Path:
        """Write the frames as a looping GIF; ``options`` go to :func:`livetrain.frames.gif.save_gif`."""
        from .frames.gif import save_gif  # Pillow, only once a GIF is written

        frames = self.frames()
        if not frames:
            raise ValueError("no epoch was recorded: pass the exporter to train_loop after its view, or call "
                             "its on_epoch_end after the view's")
        return save_gif(frames, path, **options)

    def save_frames(self, folder: str | os.PathLike) -> list[Path]:
        """Write one PNG per recorded epoch, ``epoch_0001.png`` and on (epochs count from 1)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for epoch, frame in zip(self._epochs(), self.frames()):
            path = folder / f"epoch_{epoch + 1:04d}.png"
            path.write_bytes(frame)
            paths.append(path)
        return paths

    def _epochs(self) -> list[int]:
        epochs = sorted(self._marks)
        return [e for i, e in enumerate(epochs) if (i + 1) % self.every == 0 or i == len(epochs) - 1]

    def _draw(self, epochs: list[int], drawer: Renderer | None = None) -> None:
        """Feed the replica every recorded epoch up to each of ``epochs`` (in order) and capture it there; opens
        (and closes) a renderer unless given."""
        from .frames.png import to_png  # Pillow, only once frames are drawn

        self._replica = self._replica or self.view.replica()
        own = drawer is None
        if own:
            drawer, self.notice = open_renderer(self._replica.graph, self.renderer)
            print(self.notice)
        try:
            for epoch in epochs:
                self._feed_until(epoch)
                self._drawn[epoch] = to_png(drawer.capture())  # tens of KB, not an image's MB
        finally:
            if own:
                drawer.close()

    def _feed_until(self, epoch: int) -> None:
        """Feed the replica the recorded epochs it has not had, up to ``epoch``: a series logged only some
        epochs then lands where the live view drew it."""
        with self._lock:
            todo = [e for e in sorted(self._marks)[self._fed:] if e <= epoch]
            marks = [self._marks[e] for e in todo]
        for e, (history, lengths, phases, kept) in zip(todo, marks):
            past = {p: {k: history[p][k][:n] for k, n in keys.items()} for p, keys in lengths.items()}
            for p, latest in kept.items():
                for k, value in latest.items():
                    if past[p].get(k) and past[p][k][-1] is None:
                        past[p][k][-1] = value
            with self._lock:  # fed: its references are no longer needed
                self._marks[e] = (history, lengths, phases, {})
            for phase in phases:
                if phase in self._replica.phases:
                    self._replica.on_epoch_end(e, phase, past)
            self._fed += 1

    def _queue(self) -> queue.Queue[int | None]:
        if self._jobs is None:
            self._jobs = queue.Queue()
            threading.Thread(target=self._serve, args=(self._jobs,), name="livetrain-frames", daemon=True).start()
        return self._jobs

    def _serve(self, jobs: queue.Queue[int | None]) -> None:
        """Draw queued epochs as they come, with one renderer kept open, until ``None`` arrives."""
        drawer: Renderer | None = None
        while (epoch := jobs.get()) is not None:
            try:
                if drawer is None:
                    self._replica = self._replica or self.view.replica()
                    drawer, self.notice = open_renderer(self._replica.graph, self.renderer)
                    print(self.notice)
                self._draw([e for e in self._epochs() if e <= epoch and e not in self._drawn], drawer)
            except Exception as exc:  # noqa: BLE001 - drawing must never stop training; save_gif retries later
                warnings.warn(f"livetrain: drawing frame {epoch + 1} failed ({type(exc).__name__}: {exc})",
                              RuntimeWarning, stacklevel=1)
            finally:
                jobs.task_done()
        if drawer is not None:
            drawer.close()
        jobs.task_done()

    def _write(self) -> None:
        if self._jobs is not None:
            self._jobs.put(None)
            self._jobs.join()
            self._jobs = None
        if self._marks and self.gif is not None:
            self.save_gif(self.gif)
        if self._marks and self.frames_dir is not None:
            self.save_frames(self.frames_dir)

    def __repr__(self) -> str:
        return f"FrameExporter({type(self.view).__name__}, epochs recorded={len(self._marks)})"
