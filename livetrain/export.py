"""``FrameExporter``: a view's state at each epoch, or every few logged steps, as PNG frames and a GIF, without slowing
training down."""
from __future__ import annotations

import math
import os
import queue
import threading
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core.callback import Callback
from .core.checks import whole
from .core.distributed import is_rank_zero
from .core.history import History
from .core.steps import Records, Trace
from .frames import CHOICES, open_renderer
from .frames.base import Renderer, pixel_scale
from .views.base import LiveView

Lengths = dict[str, dict[str, int]]
Latest = dict[str, dict[str, Any]]
MAX_FRAMES = 100  #: a step-level run's frames, at most (see ``every_steps``)


@dataclass
class Mark:
    """What a frame needs, noted in O(tags) at an epoch's end or a logged step: the epoch history and its lengths
    then, the phases ended and their latest values; the step-level history, its traces' lengths and its records'
    latest entries (``tag -> (total, kind, step, value)``: History drops old images from memory, these references
    keep the ones the frame shows)."""

    history: Mapping[str, Mapping[str, list]] = field(default_factory=dict)
    lengths: Lengths = field(default_factory=dict)
    phases: list[str] = field(default_factory=list)
    latest: Latest = field(default_factory=dict)
    source: Any = None
    traces: dict[str, int] = field(default_factory=dict)
    records: dict[str, tuple[int, str, int, Any]] = field(default_factory=dict)
    count: int = 0  # step marks: how many logged steps had ended at this one


class FrameExporter(Callback):
    """Records what ``view`` shows at the end of each epoch, or every few logged steps; draws it as frames when asked.

    ``view`` is a live view, a :class:`~livetrain.Dashboard`, or a :class:`~livetrain.SummaryWriter` (its board;
    the exporter then hears every ``add_*`` call, and ``writer.close()`` writes ``gif``). In ``train_loop`` place it
    after the view in the callbacks. Recording a frame only notes how long each history list and trace is
    (microseconds); nothing is drawn during training unless ``eager=True``, which draws each frame in a background
    thread as it is recorded (once the epoch's last phase ends: ``train_loop``'s phases, or in your own loop the
    history's). Frames are drawn from a :meth:`~livetrain.LiveView.replica` of the view, fed the history as it was
    at each frame, in order: they show what the live plot showed, series logged only some epochs included.

    **Epochs or steps.** A run that reports epochs (``on_epoch_end``) gets a frame per epoch. A run that only logs
    steps (a ``SummaryWriter``, or ``History.log`` / ``ScalarsView.log`` in a loop without hooks, which then calls
    ``exporter.on_log(step, metrics, history)`` itself) gets a frame once every ``every_steps`` logged steps,
    each taken when the step is over (every tag logged at it, the latest image then), and one at the last step. By
    default the spacing doubles whenever more than ``MAX_FRAMES`` (100) frames are recorded: any run gets 50 to 100
    frames (seed 001's 3,000 steps: one frame every 32 steps, 94 frames).

    Args:
        view: the live view, :class:`~livetrain.Dashboard` or :class:`~livetrain.SummaryWriter` to record.
        renderer: ``"auto"``, ``"browser"``, ``"matplotlib"`` or ``"quick"`` (see
            :func:`livetrain.frames.open_renderer`).
        gif: a path to write the GIF to when training ends (normally, or by an error or an interrupt; for a
            writer, at ``close()``).
        frames_dir: a folder to write one PNG per frame to when training ends.
        eager: draw each frame in a background thread while training goes on.
        every: draw every ``every``-th recorded frame (and always the last one).
        every_steps: a step-level run's frames: one every ``every_steps`` logged steps (default: as above).
        scale: device pixels per CSS pixel of the frames: 2 draws twice the pixels each way, the same layout (a
            700 x 330 plot becomes 1400 x 660; seed 003's 300 dpi figures are about 3). The browser renderer draws
            at that device pixel ratio, matplotlib at ``dpi = 100 * scale``.

    Example:
        >>> from livetrain import LinePlotsCallback, train_loop
        >>> view = LinePlotsCallback()
        >>> exporter = FrameExporter(view, renderer="matplotlib")
        >>> _ = train_loop(lambda batch, phase: {"loss": 1 / (batch + 1), "acc": 0.5}, {"train": [1, 2]},
        ...                epochs=3, callbacks=[view, exporter], progress=False)
        >>> len(exporter.frames())  # doctest: +ELLIPSIS
        livetrain: frames drawn by matplotlib ...
        3

    A ``SummaryWriter``'s board, as a GIF written when the writer closes::

        writer = SummaryWriter()
        exporter = FrameExporter(writer, gif="run.gif")
        for step in range(3000):
            writer.add_scalar("train/loss", loss, step)
        writer.close()  # draws the frames and writes run.gif
    """

    def __init__(self, view: Any, *, renderer: str = "auto", gif: str | os.PathLike | None = None,
                 frames_dir: str | os.PathLike | None = None, eager: bool = False, every: int = 1,
                 every_steps: int | None = None, scale: float = 1.0) -> None:
        writer = None
        if not isinstance(view, LiveView) and hasattr(view, "board") and hasattr(view, "add_callback"):
            writer, view = view, view.board
            if view is None:
                raise ValueError("FrameExporter draws a SummaryWriter's board; this writer was made with show=False "
                                 "and has none")
        if not isinstance(view, LiveView):
            raise TypeError(f"FrameExporter records a livetrain view (LinePlotsCallback, Dashboard, ...) or a "
                            f"SummaryWriter; got {type(view).__name__}")
        if renderer not in CHOICES:
            raise ValueError(f"renderer must be one of {', '.join(map(repr, CHOICES))}; got {renderer!r}")
        whole("every", every, minimum=1)
        if every_steps is not None:
            whole("every_steps", every_steps, minimum=1)
        self.view, self.renderer, self.eager, self.every = view, renderer, eager, every
        self.scale = pixel_scale(scale)
        self.gif, self.frames_dir = gif, frames_dir
        self.every_steps = every_steps
        self.notice: str | None = None  # which renderer drew the frames, once they are drawn
        self.unit = "epoch"  #: what the frames are taken at: ``"epoch"``, or ``"step"`` in a run that only logs steps
        self._marks: dict[int, Mark] = {}  # by epoch, or by step
        self._drawn: dict[int, bytes] = {}
        self._replica: LiveView | None = None
        self._fed: int | None = None  # the last mark fed to the replica
        self._lock = threading.Lock()
        self._jobs: queue.Queue[int | None] | None = None
        # step-level runs
        self._by_epoch = False  # an epoch was reported: frames per epoch, steps ignored
        self._stride = every_steps or 1
        self._steps_ended = 0
        self._step: int | None = None  # the step being logged
        self._source: Any = None  # the history it is logged in
        self._latest: dict[str, tuple[int, Any]] = {}  # record tag -> the latest (step, value) logged
        self._order: dict[str, int] = {}  # tag -> when it first came: panels appear in that order
        self._past = History()  # what the replica is fed: the logged steps up to the last mark fed
        if writer is not None:
            writer.add_callback(self)

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        if params.get("epochs"):
            self._by_epoch = True

    def on_epoch_end(self, epoch: int, phase: str, history: Mapping[str, Mapping[str, list]]) -> None:
        if not is_rank_zero():  # a distributed run: rank 0 alone draws and writes
            return
        lengths = {p: {k: len(v) for k, v in series.items()} for p, series in history.items()}
        latest = {k: v[-1] for k, v in history.get(phase, {}).items() if v}
        with self._lock:
            if not self._by_epoch:  # steps logged before are drawn by epoch from now on
                self._by_epoch, self.unit = True, "epoch"
                self._marks.clear()
                self._drawn.clear()
            mark = self._marks.get(epoch) or Mark()
            self._marks[epoch] = Mark(history, lengths, [*mark.phases, phase], {**mark.latest, phase: latest})
        if self.eager and phase == (self.params.get("phases") or list(history))[-1]:
            self._queue().put(epoch)

    def on_log(self, step: int, logs: Mapping[str, Any], history: History) -> None:
        """Note ``step`` (O(1)); when a step ends (the first call of a later step) and its frame is due, note the
        history's lengths then (O(tags))."""
        if self._by_epoch or not is_rank_zero():
            return
        if step != self._step and self._step is not None:
            self._steps_ended += 1
            if self._steps_ended % self._stride == 0:
                self._mark(self._step, self._source, logs if history is self._source else ())
        self._step, self._source = step, history
        records, order = getattr(history, "records", {}), self._order
        for tag in logs:
            if tag not in order:
                order[tag] = len(order)
            if tag in records:
                self._latest[tag] = (step, logs[tag])

    def _mark(self, step: int, history: Any, later: Collection[str] = ()) -> None:
        """Record the frame of ``step``, from ``history`` less one point of each tag of ``later`` (a call of the
        next step, already in it)."""
        traces = {tag: len(t) - (tag in later) for tag, t in getattr(history, "steps", {}).items()}
        records = {tag: (r.total - (tag in later), r.kind, *self._latest[tag])
                   for tag, r in getattr(history, "records", {}).items() if tag in self._latest}
        with self._lock:
            self.unit = "step"
            self._marks[step] = Mark(source=history, traces=traces, records=records, count=self._steps_ended)
            if self.every_steps is None and len(self._marks) > MAX_FRAMES:  # twice as far apart from now on
                self._stride *= 2
                for key in [k for k, m in self._marks.items() if m.count % self._stride]:
                    del self._marks[key]
                    self._drawn.pop(key, None)
        if self.eager:
            self._queue().put(step)

    def _last_step(self) -> None:
        """Record the frame of the step being logged, unless it is drawn already: the last frame shows the end."""
        if self._by_epoch or self._step is None or self._step in self._drawn:
            return
        self._mark(self._step, self._source)

    def on_train_end(self, history: History) -> None:
        self._write()

    def on_exception(self, exception: BaseException, history: History) -> None:
        self._write()

    @property
    def recorded(self) -> int:
        """How many frames are recorded (epochs, or steps; with ``every=1``, one frame each)."""
        return len(self._marks)

    @property
    def drawn(self) -> int:
        """How many frames are drawn so far (during training only with ``eager=True``)."""
        return len(self._drawn)

    def frames(self) -> list[bytes]:
        """The recorded frames (PNG bytes), in order; drawn now if needed."""
        self._last_step()
        if self._jobs is not None:
            self._jobs.join()
        todo = [k for k in self._keys() if k not in self._drawn]
        if todo:
            self._draw(todo)
        return [self._drawn[k] for k in self._keys()]

    def save_gif(self, path: str | os.PathLike, **options: Any) -> Path:
        """Write the frames as a looping GIF; ``options`` go to :func:`livetrain.frames.gif.save_gif`."""
        from .frames.gif import save_gif  # Pillow, only once a GIF is written

        if not is_rank_zero():  # a distributed run's other ranks record nothing and write nothing
            return Path(path)
        frames = self.frames()
        if not frames:
            raise ValueError("nothing was recorded: pass the exporter to train_loop after its view, or the writer "
                             "to the exporter, or call its on_epoch_end (or on_log) after the view's")
        return save_gif(frames, path, **options)

    def save_frames(self, folder: str | os.PathLike) -> list[Path]:
        """Write one PNG per frame: ``epoch_0001.png`` and on (epochs count from 1), or ``step_0000000.png`` and on."""
        if not is_rank_zero():
            return []
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        frames = self.frames()
        paths = []
        for key, frame in zip(self._keys(), frames):
            path = folder / (f"epoch_{key + 1:04d}.png" if self.unit == "epoch" else f"step_{key:07d}.png")
            path.write_bytes(frame)
            paths.append(path)
        return paths

    def _keys(self) -> list[int]:
        with self._lock:
            keys = sorted(self._marks)
        return [k for i, k in enumerate(keys) if (i + 1) % self.every == 0 or i == len(keys) - 1]

    def _draw(self, keys: list[int], drawer: Renderer | None = None) -> None:
        """Feed the replica every recorded frame up to each of ``keys`` (in order) and capture it there; opens
        (and closes) a renderer unless given."""
        from .frames.png import to_png  # Pillow, only once frames are drawn

        self._replica = self._replica or self.view.replica()
        own = drawer is None
        if own:
            drawer, self.notice = open_renderer(self._replica.graph, self.renderer, scale=self.scale)
            print(self.notice)
        try:
            for key in keys:
                self._feed_until(key)
                self._drawn[key] = to_png(drawer.capture())  # tens of KB, not an image's MB
        finally:
            if own:
                drawer.close()

    def _feed_until(self, key: int) -> None:
        """Feed the replica the recorded frames it has not had, up to ``key``: a series logged only some epochs
        then lands where the live view drew it."""
        with self._lock:
            todo = [k for k in sorted(self._marks) if (self._fed is None or k > self._fed) and k <= key]
            marks = [self._marks[k] for k in todo]
        for k, mark in zip(todo, marks):
            if mark.source is not None:
                self._feed_steps(mark)
            else:
                self._feed_epoch(k, mark)
            with self._lock:  # fed: its references are no longer needed
                mark.latest, mark.records = {}, {}
                self._fed = k

    def _feed_epoch(self, epoch: int, mark: Mark) -> None:
        history = mark.history
        past = {p: {k: history[p][k][:n] for k, n in keys.items()} for p, keys in mark.lengths.items()}
        for p, latest in mark.latest.items():
            for k, value in latest.items():
                if past[p].get(k) and past[p][k][-1] is None:
                    past[p][k][-1] = value
        for phase in mark.phases:
            if phase in self._replica.phases:
                self._replica.on_epoch_end(epoch, phase, past)

    def _feed_steps(self, mark: Mark) -> None:
        """Bring :attr:`_past` to the mark's lengths (only the new points are copied), then tell the replica each
        tag that changed, in the order the tags first came, as ``on_log`` told the live view."""
        past, source, calls = self._past, mark.source, []
        past.steps.started = source.steps.started
        for title, tags in list(getattr(self.view, "groups", {}).items()):  # a board's add_scalars plots, made since
            self._replica.group(title, list(tags))  # the replica was (the tags it draws already stay as they are)
        for tag, n in mark.traces.items():
            trace = source.steps[tag]
            copy = past.steps.get(tag)
            have = 0 if copy is None else len(copy)
            if n > have:
                if copy is None:
                    copy = past.steps[tag] = Trace(tag)
                copy.extend(trace.step[have:n], trace.value[have:n], trace.wall[have:n], trace.epoch[have:n])
                calls.append((tag, int(copy.step[-1]), copy.value[-1]))
        for tag, (total, kind, step, value) in mark.records.items():
            copy = past.records.get(tag)
            if copy is None or copy.total < total:
                copy = past.records[tag] = Records(kind, keep=1)  # only the latest is shown
                copy.skip(total - 1)
                copy.append(step, math.nan, value)
                calls.append((tag, step, value))
        calls.sort(key=lambda call: self._order.get(call[0], math.inf))
        for tag, step, value in calls:
            self._replica.on_log(step, {tag: value}, past)

    def _queue(self) -> queue.Queue[int | None]:
        if self._jobs is None:
            self._jobs = queue.Queue()
            threading.Thread(target=self._serve, args=(self._jobs,), name="livetrain-frames", daemon=True).start()
        return self._jobs

    def _serve(self, jobs: queue.Queue[int | None]) -> None:
        """Draw queued frames as they come, with one renderer kept open, until ``None`` arrives."""
        drawer: Renderer | None = None
        while (key := jobs.get()) is not None:
            try:
                if drawer is None:
                    self._replica = self._replica or self.view.replica()
                    drawer, self.notice = open_renderer(self._replica.graph, self.renderer, scale=self.scale)
                    print(self.notice)
                self._draw([k for k in self._keys() if k <= key and k not in self._drawn], drawer)
            except Exception as exc:  # noqa: BLE001 - drawing must never stop training; save_gif retries later
                warnings.warn(f"livetrain: drawing the frame of {self.unit} {key + (self.unit == 'epoch')} failed "
                              f"({type(exc).__name__}: {exc})", RuntimeWarning, stacklevel=1)
            finally:
                jobs.task_done()
        if drawer is not None:
            drawer.close()
        jobs.task_done()

    def _write(self) -> None:
        self._last_step()
        if self._jobs is not None:
            self._jobs.put(None)
            self._jobs.join()
            self._jobs = None
        if self._marks and self.gif is not None:
            self.save_gif(self.gif)
        if self._marks and self.frames_dir is not None:
            self.save_frames(self.frames_dir)

    def __repr__(self) -> str:
        return f"FrameExporter({type(self.view).__name__}, {self.unit}s recorded={len(self._marks)})"
