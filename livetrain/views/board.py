"""``Board``: one live dashboard of every tag a :class:`~livetrain.SummaryWriter` logs, laid out as TensorBoard does."""
from __future__ import annotations

import html
import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
from bokeh.layouts import column, row
from bokeh.model import Model
from bokeh.models import ColumnDataSource, Div, Range1d
from bokeh.palettes import Category10_10
from bokeh.plotting import figure
from bokeh.util.serialization import make_id

from ..core.callback import Callback
from ..core.checks import names, whole
from ..core.history import History
from ..core.images import grid_picture, shrink
from ..core.modelsummary import read_summary
from ..core.throttle import one_off
from .base import LiveView
from .compare import Compare, load_runs
from .embedding import EmbeddingPanel
from .histograms import HistogramPanel
from .image import ImagePlotsCallback
from .line import LinePlotsCallback
from .model import ModelPanel
from .prcurves import PRCurvePanel
from .scalars import ScalarPanel, is_scalar, scalar_controls

#: What each kind of record is called on its placeholder panel.
KINDS = {"graph": "model graph", "hparams": "hyperparameters"}
TEXT_SHOWN = 10_000  #: characters of a text panel's latest text that are shown
RUN_COLORS = Category10_10  #: the runs' colours, in the order the runs arrive (then again from the first)
_BLANK = np.zeros((1, 1), np.uint32)


class Panel(Protocol):
    """One tag's (or one ``add_scalars`` group's) part of the board: ``root`` is placed in the layout, ``stage`` is
    called with the owner's lock held when values arrive, ``apply`` in the push."""

    root: Model

    def stage(self, tag: str, step: int, value: Any, history: History) -> None: ...

    def apply(self) -> None: ...


class ScalarsPanel:
    """A :class:`~livetrain.views.scalars.ScalarPanel` as a board panel: ``stage`` only notes the history (O(1));
    ``apply`` reads the new points of its traces, once per push (a device sync for JAX and torch values at most once
    per throttle window), smooths, decimates and draws them. A tag staged that it does not draw yet is added as a
    new line (a key that joins an ``add_scalars`` group later).

    Example:
        >>> h = History(); _ = h.log({"loss/train": 0.5, "loss/test": 0.7}, step=0)
        >>> panel = ScalarsPanel(["loss/train"], "loss", "step", "g")
        >>> panel.stage("loss/test", 0, 0.7, h); panel.apply(); panel.panel.tags
        ('loss/train', 'loss/test')
    """

    def __init__(self, tags: Sequence[str], title: str, x: str, group: str,
                 warn: Callable[[str, str], None] | None = None, compare: Mapping[str, History] | None = None,
                 runs: Mapping[str, tuple[str, str]] | None = None) -> None:
        self.panel = ScalarPanel(tags, title, x, group=group, warn=warn, compare=compare, runs=runs)
        self.root = self.panel.figure
        self._history: Any = None

    def stage(self, tag: str, step: int, value: Any, history: History) -> None:
        if tag not in self.panel.sources:
            self.panel.add(tag)
        self._history = history

    def apply(self) -> None:
        if self._history is not None and self.panel.update(self._history):
            self.panel.apply()
        self._history = None


class ImagePanel:
    """The latest image of a tag, replaced in place (one binary buffer of RGBA bytes per update), titled with its step.

    ``value``: an ``(H, W, 3|4)`` uint8 picture (what the writer records), or anything
    :func:`~livetrain.core.images.grid_picture` takes (a batch, floats in 0..1). Pictures larger than twice ``size``
    are shrunk by block averages for the page; the history keeps them whole.

    Example:
        >>> panel = ImagePanel("digits")
        >>> panel.stage("digits", 3, np.zeros((28, 28, 3), np.uint8), History()); panel.apply()
        >>> panel.root.title.text, panel.source.data["image"][0].shape
        ('digits (step 3)', (28, 28))
    """

    def __init__(self, tag: str, size: int = 300) -> None:
        self.tag, self.size = tag, size
        self.source = ColumnDataSource({"image": [_BLANK]}, name=f"livetrain:board:image:{tag}")
        self.root = figure(title=tag, frame_width=size, frame_height=size, x_range=Range1d(0, 1),
                           y_range=Range1d(0, 1), tools="", min_border=4, toolbar_location=None)
        self.root.axis.visible = False
        self.root.grid.visible = False
        self.glyph = self.root.image_rgba(image="image", x=0, y=0, dw=1, dh=1, source=self.source).glyph
        self._latest: tuple[int, Any] | None = None

    def stage(self, tag: str, step: int, value: Any, history: History) -> None:
        self._latest = (step, value)

    def apply(self) -> None:
        if self._latest is None:
            return
        (step, value), self._latest = self._latest, None
        picture = upright_rgba(shrunk(value, 2 * self.size), most=2 * self.size)
        h, w = picture.shape
        if (self.glyph.dw, self.glyph.dh) != (w, h):  # a new size: refit the figure, once
            scale = self.size / max(w, h)
            self.root.update(frame_width=max(1, round(w * scale)), frame_height=max(1, round(h * scale)))
            self.root.x_range.update(start=0, end=w, reset_start=0, reset_end=w)
            self.root.y_range.update(start=0, end=h, reset_start=0, reset_end=h)
            self.glyph.update(dw=w, dh=h)
        self.root.title.text = f"{self.tag} (step {step})"
        self.source.patch({"image": [(0, picture)]})


class TextPanel:
    """The latest text of a tag, shown as text: HTML-escaped, never interpreted.

    Example:
        >>> panel = TextPanel("notes")
        >>> panel.stage("notes", 0, "<b>bold?</b>", History()); panel.apply()
        >>> "&lt;b&gt;bold?&lt;/b&gt;" in panel.root.text
        True
    """

    def __init__(self, tag: str, width: int = 400) -> None:
        self.tag = tag
        self.root = Div(text=_header(tag, "no text yet"), width=width, margin=0, name=f"livetrain:board:text:{tag}")
        self._latest: tuple[int, str] | None = None

    def stage(self, tag: str, step: int, value: Any, history: History) -> None:
        self._latest = (step, str(value))

    def apply(self) -> None:
        if self._latest is None:
            return
        (step, text), self._latest = self._latest, None
        more = len(text) - TEXT_SHOWN
        tail = f"\n… ({more} more characters in the history)" if more > 0 else ""
        self.root.text = (_header(self.tag, f"step {step}") + '<pre style="white-space: pre-wrap; margin: 4px 0">'
                          + html.escape(text[:TEXT_SHOWN] + tail) + "</pre>")


class PlaceholderPanel:
    """What was recorded for a kind the board does not draw yet (hyperparameters; graphs of models that could not be
    summarised): how many, and the last step; the values are in the history.

    Example:
        >>> panel = PlaceholderPanel("model", "graph")
        >>> panel.stage("model", 7, None, History()); panel.apply()
        >>> "last at step 7" in panel.root.text
        True
    """

    def __init__(self, tag: str, kind: str, width: int = 400) -> None:
        self.tag, self.kind = tag, kind
        self.root = Div(text=_header(tag, KINDS.get(kind, kind)), width=width, margin=0,
                        name=f"livetrain:board:{kind}:{tag}")
        self._count, self._step, self._changed = 0, 0, False

    def stage(self, tag: str, step: int, value: Any, history: History) -> None:
        records = getattr(history, "records", {}).get(tag)
        self._count = records.total if records is not None else self._count + 1
        self._step, self._changed = step, True

    def apply(self) -> None:
        if not self._changed:
            return
        self._changed = False
        name = KINDS.get(self.kind, self.kind)
        why = ("No layer table was recorded (<code>add_graph(model, input_to_model)</code> records one for a torch "
               "module)" if self.kind == "graph" else
               f"The {html.escape(name)} view comes in a later version of livetrain")
        self.root.text = (_header(self.tag, f"{name}: {self._count} recorded, last at step {self._step}")
                          + f"<div style='color: #666'>{why}; the values are in "
                            f"<code>history.records[{html.escape(repr(self.tag))}]</code>.</div>")


def _header(tag: str, note: str) -> str:
    return f"<b>{html.escape(tag)}</b> <span style='color: #666'>{html.escape(note)}</span>"


def shrunk(picture: Any, most: int) -> Any:
    """An ``(H, W, C)`` uint8 ``picture`` averaged over blocks so that its longer side is at most about ``most``
    pixels; anything else as it is.

    Example:
        >>> shrunk(np.zeros((1000, 400, 3), np.uint8), 300).shape
        (250, 100, 3)
    """
    if not (isinstance(picture, np.ndarray) and picture.ndim == 3 and picture.dtype == np.uint8):
        return picture
    k = math.ceil(max(picture.shape[:2]) / most)
    return picture if k <= 1 else shrink(picture, k).round().astype(np.uint8)


def upright_rgba(picture: Any, most: int | None = None) -> np.ndarray:
    """A picture as the 2-D uint32 array Bokeh's ``image_rgba`` draws, rows flipped: an ``(H, W, 3|4)`` uint8
    picture directly, anything else through :func:`~livetrain.core.images.grid_picture` (batches, floats in 0..1;
    a grid at most ``most`` pixels a side).

    Example:
        >>> upright_rgba(np.full((2, 3, 3), 255, np.uint8)).shape
        (2, 3)
    """
    if isinstance(picture, np.ndarray) and picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] > 2:
        h, w, c = picture.shape
        rgba = np.full((h, w, 4), 255, np.uint8)
        rgba[..., :c] = picture[::-1]
        return rgba.view(np.uint32)[..., 0]
    return grid_picture(picture, most=most)


class Board(LiveView):
    """One live dashboard: a panel per tag, in sections named by the part of the tag before ``/`` (as TensorBoard
    groups them), each panel added when its tag first arrives.

    Scalars are :class:`~livetrain.views.scalars.ScalarPanel` plots (decimated to the plot's width, with smoothing
    and a log-scale toggle in the page); an ``add_scalars`` group is one plot with a line per key. Images show the
    latest picture, texts the latest text (as text, never HTML), histograms a step×value heatmap
    (:class:`~livetrain.views.histograms.HistogramPanel`), embeddings a 2-D PCA scatter coloured by label
    (:class:`~livetrain.views.embedding.EmbeddingPanel`), graphs the model's layer table and diagram
    (:class:`~livetrain.views.model.ModelPanel`). Hyperparameters, and graphs without a layer table (a model that
    could not be summarised, a history saved before livetrain summarised them), show a placeholder saying what was
    recorded; the values are in the history. Updates are in place, throttled, and cost the new data only.

    It learns values from ``on_log(step, logs, history)`` (a :class:`~livetrain.SummaryWriter` calls it), from
    :meth:`log` (into its own :attr:`history`), or, in ``train_loop``, from ``on_epoch_end``: each phase's numbers as
    ``<phase>/<key>`` at step ``epoch + 1``, and its image batches as image panels.

    Args:
        tags: show only these tags (default: every tag, as it arrives).
        x: the scalar plots' x axis: ``"step"``, ``"epoch"``, ``"wall"`` or ``"relative"``.
        ncols: panels per row within a section (as ``ScalarsView``'s and ``Dashboard``'s ``ncols``).
        interval: the minimum time between two pushes, in seconds.
        compare: earlier runs drawn under the live ones, a faint dashed line each in the panels of their tags,
            named after the run: saved histories, JSONL, CSV or event logs, or folders of them (see
            :func:`~livetrain.views.compare.load_runs`). They are drawn once, with their panel; updates never send
            them again.

    A folder's runs (:meth:`group` with ``run=``, as :func:`~livetrain.watch` does) are drawn one colour per run, the
    same in every panel and for good; hiding a run from a panel's legend hides it in every panel.

    Example:
        >>> board = Board()
        >>> board.log({"train/loss": 0.5, "train/acc": 0.8}, step=1)
        >>> board.log({"test/acc": 0.7}, step=1)
        >>> board.flush()
        >>> list(board.sections), list(board.panels)
        (['train', 'test'], ['train/loss', 'train/acc', 'test/acc'])
    """

    reads_steps = True  #: on_log notes the tags; the push reads their new points from history.steps

    def __init__(self, tags: Sequence[str] | None = None, *, x: str = "step", ncols: int = 3,
                 interval: float = 0.1, compare: Compare = None) -> None:
        self.x, self.ncols = x, whole("ncols", ncols, minimum=1)
        self.only = None if tags is None else set(names("tags", tags))
        self.history = History()  #: what :meth:`log` and ``on_epoch_end`` record
        self.compare = load_runs(compare)  #: the earlier runs, by name
        self.groups: dict[str, list[str]] = {}  #: ``add_scalars`` panels: title -> their tags
        self.run_colors: dict[str, str] = {}  #: a folder's runs: run -> its colour, in every panel
        self._runs: dict[str, tuple[str, str]] = {}  # tag -> (its run, the run's colour)
        self.group_id = f"livetrain-board-{make_id()}"  # what the page's scalar controls act on
        super().__init__(interval)
        # pushes (and new panels) are made in the throttle's thread, not the caller's; a replica (interval 0) draws now
        self.throttle.background = interval > 0
        self.build_layout(())

    def build_layout(self, phases: tuple[str, ...]) -> None:
        """An empty board (a status line, then sections as tags arrive)."""
        self.phases = phases
        self.panels: dict[str, Panel] = {}  #: by panel key: the tag, or an ``add_scalars`` group's title
        self.sections: dict[str, Model] = {}  #: by section name: a column of rows of panels
        self._panel_of: dict[str, str] = {}  # tag -> panel key
        self._unplaced: list[tuple[str, Panel]] = []
        self._staged: set[str] = set()  # panel keys with staged values
        self._arrived: deque[tuple[int, Mapping[str, Any], History]] = deque()  # on_log's calls, not staged yet
        self._traced: set[str] = set()  # tags another history's on_log brings (train_loop's per-batch traces)
        self._tags_shown = 0  # the count the status line shows
        self.status = Div(text="<span style='color: #666'>waiting for the first values</span>", height=30,
                          width=300, margin=0, name="livetrain:board:status")  # sizes fixed: frames match the page
        controls, self._controls = scalar_controls(self.group_id)  # a panel that arrives takes their state
        self.graph = column([row(controls, self.status, spacing=24)], name="livetrain:board")
        self.graph.js_on_change("children", self._controls)

    def set_params(self, params: dict[str, Any]) -> None:
        """Take ``train_loop``'s settings; the board draws every phase it is given."""
        Callback.set_params(self, params)

    def group(self, title: str, tags: Sequence[str], run: str | None = None) -> None:
        """Draw ``tags`` as lines of one plot titled ``title`` (an ``add_scalars`` call); a tag that has a panel of
        its own keeps it. With ``run``, the tags are that run's: drawn in its colour (the next of
        :data:`RUN_COLORS` for a new run) in every panel, and hidden with it from any panel's legend.

        Example:
            >>> board = Board(); board.group("loss", ["loss/train", "loss/test"]); board.groups
            {'loss': ['loss/train', 'loss/test']}
            >>> board.group("acc", ["acc · b"], run="b"); board.group("loss", ["loss · a"], run="a"); board.run_colors
            {'b': '#1f77b4', 'a': '#ff7f0e'}
        """
        with self.throttle.lock:
            if run is not None:
                color = self.run_colors.setdefault(run, RUN_COLORS[len(self.run_colors) % len(RUN_COLORS)])
                for tag in tags:
                    self._runs.setdefault(tag, (run, color))
            members = self.groups.setdefault(title, [])
            for tag in tags:
                if tag not in self._panel_of:
                    members.append(tag)
                    self._panel_of[tag] = title

    def log(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Record scalars into :attr:`history` at ``step`` (default: one past the last) and draw them.

        Example:
            >>> board = Board(); board.log({"loss": 1.0}); board.log({"loss": 0.5})
            >>> board.history.steps["loss"].step.tolist()
            [0, 1]
        """
        used = self.history.log(metrics, step)
        self.on_log(used, metrics, self.history)

    def on_log(self, step: int, logs: Mapping[str, Any], history: History) -> None:
        if history is not self.history:
            self._traced.update(logs)
        self._arrived.append((step, logs, history))
        if self.throttle.background:  # the push, in the throttle's thread, stages them: the caller only records
            self._request()
            return
        if self.throttle.lock.acquire(blocking=False):  # a push in progress: it stages them itself, training goes on
            try:
                self._stage_arrived(new_panels=False)
            finally:
                self.throttle.lock.release()
        self._request()

    def _stage_arrived(self, new_panels: bool = True) -> None:
        """Stage the values that arrived (under the lock), making panels for new tags; with ``new_panels=False``
        (in the caller's thread: building a Bokeh figure takes a tenth of a second or more) stop at the first call
        that needs a new panel, and leave it and the later ones to the push."""
        staged: tuple[Any, Any] | None = None  # the tags and history of the last values staged, if all are scalars
        while self._arrived:
            step, logs, history = self._arrived[0]
            if not new_panels and any(self._panel_of.get(t, t) not in self.panels for t in logs
                                      if self.only is None or t in self.only):
                return
            self._arrived.popleft()
            if staged is not None and staged[1] is history and staged[0] == logs.keys():
                continue  # a scalar panel reads its traces' new points when it applies: staged once is enough
            records = getattr(history, "records", {})
            scalars = True
            for tag, value in logs.items():
                if self.only is not None and tag not in self.only:
                    continue
                key = self._panel_of.get(tag, tag)
                panel = self.panels.get(key)
                if panel is None:
                    with one_off():  # a new panel's cost does not hold the next pushes back
                        panel = self._new_panel(key, tag, value, records)
                panel.stage(tag, step, value, history)
                self._staged.add(key)
                scalars = scalars and type(panel) is ScalarsPanel
            staged = (logs.keys(), history) if scalars else None

    def _new_panel(self, key: str, tag: str, value: Any, records: Mapping[str, Any]) -> Panel:
        """The panel of ``tag``'s kind (``value``, its first value, tells a graph's summary from a placeholder's)."""
        kind = records[tag].kind if tag in records else "scalar"
        panel: Panel
        if kind == "scalar":
            panel = ScalarsPanel(self.groups.get(key, [tag]), key, self.x, self.group_id, self._warn_once,
                                 self.compare, self._runs)
        elif kind == "image":
            panel = ImagePanel(tag)
        elif kind == "text":
            panel = TextPanel(tag)
        elif kind == "pr_curve":
            panel = PRCurvePanel(tag)
        elif kind == "histogram":
            panel = HistogramPanel(tag)
        elif kind == "embedding":
            panel = EmbeddingPanel(tag)
        elif kind == "graph" and read_summary(value) is not None:
            panel = ModelPanel()
        else:
            panel = PlaceholderPanel(tag, kind)
        self.panels[key] = panel
        self._panel_of[tag] = key
        self._unplaced.append((key, panel))
        return panel

    def on_epoch_end(self, epoch: int, phase: str, history: Mapping[str, Mapping[str, list]]) -> None:
        series = history.get(phase) if isinstance(history, Mapping) else None
        if not isinstance(series, Mapping):
            raise TypeError(f"history must be a dict shaped history[phase][key] == [one value per epoch]; "
                            f"history[{phase!r}] is {type(series).__name__}")
        if phase not in self.phases:
            self.phases = (*self.phases, phase)
        numbers, images = {}, {}
        for key, values in series.items():
            if not len(values) or f"{phase}/{key}" in self._traced:  # train_loop's own per-batch trace is drawn
                continue
            value = values[-1]
            if is_scalar(value):  # not a histogram's dict, nor class scores
                numbers[f"{phase}/{key}"] = value
            elif np.ndim(value) >= 3:  # a picture or a batch of them; 2-D values are rows (scores, features)
                images[f"{phase}/{key}"] = value
        if numbers:
            self.history.log(numbers, epoch + 1, epoch=epoch + 1)
        for tag, value in images.items():
            self.history.record(tag, "image", value, epoch + 1)
        if numbers or images:
            self.on_log(epoch + 1, {**numbers, **images}, self.history)

    def apply_pending(self) -> None:
        self._stage_arrived()
        staged = self.apply_staged()
        with one_off():
            for key, panel in self._unplaced:  # filled before they join the layout: the page gets them whole
                self._place(key, panel)
            self._unplaced.clear()
        tags = len(self._panel_of)
        if staged and tags != self._tags_shown:  # only when a tag arrives: a text change lays the whole page out again
            self.status.text = f"<span style='color: #666'>{tags} tag{'s' * (tags != 1)}</span>"
            self._tags_shown = tags

    def _place(self, key: str, panel: Panel) -> None:
        """Put ``panel`` in its section (made on first use), in the section's last row or a new one."""
        name = key.split("/", 1)[0]
        section = self.sections.get(name)
        if section is None:
            header = Div(text=f"<h3 style='margin: 8px 0 2px 0'>{html.escape(name)}</h3>", height=30, margin=0,
                         name=f"livetrain:board:section:{name}")
            section = self.sections[name] = column([header])
            section.js_on_change("children", self._controls)
            self.graph.children = [*self.graph.children, section]
        rows = section.children
        if len(rows) == 1 or len(rows[-1].children) >= self.ncols:
            line = row([panel.root])
            line.js_on_change("children", self._controls)
            section.children = [*rows, line]
        else:
            rows[-1].children = [*rows[-1].children, panel.root]

    def replica(self) -> Board:
        """A new board with this one's settings, ``add_scalars`` groups and runs' colours (see
        :meth:`LiveView.replica`).

        Example:
            >>> board = Board(); board.group("loss", ["loss/a"]); board.replica().groups
            {'loss': ['loss/a']}
        """
        copy = super().replica()
        assert isinstance(copy, Board)
        copy.run_colors.update(self.run_colors)
        copy._runs.update(self._runs)
        for title, tags in self.groups.items():
            copy.group(title, tags)
        return copy

    def end(self) -> None:
        """Push what is pending and leave the final state in the output now, unless the end of the notebook cell that
        updated the board will (a :class:`~livetrain.SummaryWriter` calls it at exit, which ends a script's page)."""
        self.flush()
        if not self._cell_end_pending:
            self._finish()

    @classmethod
    def from_history(cls, history: History, keys: Sequence[str] | None = None,
                     phases: Sequence[str] | None = None, **options: Any) -> Board:
        """A board of a saved history's epochs (``on_epoch_end`` feeds it); ``keys`` limits the keys shown.

        Example:
            >>> Board.from_history(Board.demo_history()).only is None
            True
        """
        chosen = phases or list(history)
        tags = None if keys is None else [f"{p}/{k}" for p in chosen for k in keys]
        board = cls(tags, **options)
        board.phases = tuple(chosen)
        return board

    @classmethod
    def demo_history(cls, epochs: int = 3, phases: Sequence[str] = ("train", "test")) -> History:
        """The line view's loss and accuracy and the image view's reconstructions, per phase (the same values, so
        that a dashboard of every view draws one history).

        Example:
            >>> sorted(Board.demo_history(2)["train"])
            ['acc', 'loss', 'recon']
        """
        history = LinePlotsCallback.demo_history(epochs, phases)
        images = ImagePlotsCallback.demo_history(epochs, phases)
        for phase in phases:
            history[phase]["recon"] = images[phase]["recon"]
        return history

    def __repr__(self) -> str:
        return f"Board(tags={list(self._panel_of)})"
