"""``LinePlotsCallback``: one figure per metric, one line per phase, streamed in place."""
from __future__ import annotations

import math
import numbers
import re
import time
from collections.abc import Mapping, Sequence, Sized
from typing import Any

from bokeh.core.enums import MarkerType
from bokeh.layouts import gridplot
from bokeh.models import (
    CDSView,
    ColumnDataSource,
    CustomJSFilter,
    DataRange1d,
    HoverTool,
    Legend,
    LegendItem,
    Range1d,
    Span,
)
from bokeh.palettes import Category10_10
from bokeh.plotting import figure
from bokeh.util.serialization import make_id

from ..core.checks import names, whole
from ..core.history import History
from ..core.metrics import to_float
from ..core.steps import read_numbers
from ..core.throttle import run_again
from ..frames.base import BEST_FILTER, plotted
from .base import LiveView, saved_keys
from .columns import stream_columns, stream_rows
from .compare import ALPHA, COMPARE_TAG, DASHES, WIDTH, Compare, epoch_points, load_runs, page, toggle

_PHASE_COLORS = {"train": "#d62728", "test": "#1f77b4", "val": "#1f77b4", "valid": "#1f77b4",
                 "validation": "#1f77b4"}
_TITLES = {"loss": "Loss", "acc": "Accuracy", "accuracy": "Accuracy", "lr": "Learning rate",
           "learning_rate": "Learning rate", "f1": "F1 score", "f1_score": "F1 score", "precision": "Precision",
           "recall": "Recall", "top1": "Top-1 accuracy", "top5": "Top-5 accuracy", "err": "Error", "error": "Error"}
#: Words a title keeps as written (lower-cased key -> title form).
_ACRONYMS = {w.lower(): w for w in ("AUC", "ROC", "AP", "mAP", "IoU", "mIoU", "F1", "F2", "MSE", "MAE", "RMSE", "NLL",
                                    "KL", "PSNR", "SSIM", "BLEU", "ROUGE", "WER", "CER", "LR", "R2", "ELBO", "GPU")}
_MIN_WORDS = ("loss", "err", "mse", "mae", "rmse", "nll", "perplexity")
#: The x axes a view offers, and their labels.
AXES = {"step": "step", "epoch": "epoch", "wall": "wall time", "relative": "time since start (s)"}
#: Per axis: an earlier run's hover x template.
_COMPARE_X = {"epoch": "@x", "step": "@x{0,0}", "wall": "@x{%F %T}", "relative": "@x{0,0.0} s"}
#: Per axis: the hover's x template, and the best-epoch star's.
_HOVER_X = {"epoch": ("@epoch", "epoch @epoch"), "step": ("@step{0,0}", "step @step{0,0}"),
            "wall": ("@wall{%F %T}", "at @wall{%F %T}"), "relative": ("@relative{0,0.0} s", "at @relative{0,0.0} s")}


def best_mode(key: str) -> str:
    """``"min"`` for losses and errors, ``"max"`` for anything else (accuracy, scores).

    Example:
        >>> best_mode("val_loss"), best_mode("acc")
        ('min', 'max')
    """
    return "min" if any(w in key.lower() for w in _MIN_WORDS) else "max"


def line_colors(phases: Sequence[str]) -> dict[str, str]:
    """The colour of each phase's line: train red, test/validation blue, others from Category10.

    Example:
        >>> line_colors(["train", "val"])
        {'train': '#d62728', 'val': '#1f77b4'}
    """
    return {p: _PHASE_COLORS.get(p, Category10_10[i % 10]) for i, p in enumerate(phases)}


def line_title(key: str, titles: Mapping[str, str] | None = None) -> str:
    """A metric's figure title: ``titles[key]`` when given, else the common name of a known key (``"acc"`` is
    ``"Accuracy"``, ``"f1_score"`` is ``"F1 score"``, ``"lr"`` is ``"Learning rate"``), else the key in sentence
    case with acronyms kept upper (``"val_auc"`` is ``"Val AUC"``); a per-class key ``"metric/class"`` reads
    ``"Metric (class)"``.

    Example:
        >>> line_title("acc"), line_title("f1_score"), line_title("test_mAP"), line_title("precision/cat")
        ('Accuracy', 'F1 score', 'Test mAP', 'Precision (cat)')
        >>> line_title("f1", {"f1": "F1 (macro)"})
        'F1 (macro)'
    """
    if titles and key in titles:
        return titles[key]
    head, _, rest = key.partition("/")
    title = _TITLES.get(head.lower()) or _sentence(head)
    return f"{title} ({rest})" if rest else title


def _sentence(name: str) -> str:
    """``"top5_err"`` -> ``"Top-5 err"``, ``"val_auc"`` -> ``"Val AUC"``: words split at ``_``, ``-`` and spaces."""
    words = [_ACRONYMS.get(w.lower()) or re.sub(r"^top(\d+)$", r"top-\1", w.lower())
             for w in re.split(r"[_\s-]+", name) if w]
    if not words:
        return name
    first = words[0]
    return " ".join([first if first.lower() in _ACRONYMS else first[:1].upper() + first[1:], *words[1:]])


class LinePlotsCallback(LiveView):
    """Live line plots of epoch metrics: one figure per key, one line per phase.

    Each update streams only the new rows (``ColumnDataSource.stream``) and pushes at most
    every ``interval`` seconds, so its cost does not grow with the history. Per-batch values
    (``on_batch_end``) of ``batch_phases`` are drawn as a thin line under the epoch line; they may be JAX, torch or
    numpy values, read only when the plot updates (so logging one does not wait for the device). Click a legend entry to
    hide its series; hover shows exact values. A star on every figure marks the best epoch:
    the best ``monitor`` value of the last phase (e.g. the lowest test loss). NaN and
    infinities show as gaps.

    The learning-rate schedule is a line like any metric: return the rate the batch used from the step
    (``"lr": optimizer.param_groups[0]["lr"]``, or ``scheduler.get_last_lr()[0]``) and give ``train_loop``
    ``reduce={"lr": "last"}``; ``keys=("loss", "lr")`` then draws it, titled "Learning rate".

    Args:
        epochs: fixes the x range to ``[0, epochs]``; otherwise it is taken from ``train_loop``
            or grows as needed.
        keys: the metrics to plot, one figure each.
        phases: the phases to plot, one line each. When the callback is given to
            ``train_loop`` before it is displayed, the loop's phases are used.
        monitor: the key that decides the best epoch (default: the first key), judged on the last phase;
            ``False``: no star (a learning-rate schedule has no best epoch).
        mode: ``"min"`` or ``"max"``: whether lower or higher ``monitor`` is better (default: by name).
        batch_phases: the phases whose per-batch values are drawn (default: the first phase, the
            training one; evaluation batches all come from the end-of-epoch model).
        steps_per_epoch: batches per epoch, to place per-batch points when the loader has no length.
        x: the x axis, named on the axis and in the hover, and shared by epoch and per-batch points:

            - ``"epoch"`` (default): an epoch's value at ``epoch + 1``, its batches spread inside it;
            - ``"step"``: the global step, as ``train_loop`` logs its traces ``phase/key``: training batches done so
              far (the first phase's, or ``"train"``'s). With the batches per epoch known (``train_loop``'s loaders,
              or ``steps_per_epoch``), batch ``b`` of epoch ``e`` is at ``e * n + b + 1`` and an epoch's values at
              ``(e + 1) * n``; else batches are counted as they come, and a loop that reports only epoch ends passes
              the global step as ``epoch`` (TensorBoard's ``global_step``, e.g. ``epoch * len(loader) + i``);
            - ``"wall"`` (time of day) or ``"relative"`` (seconds since the view's first point): when each call
              came. Epochs filled in from a history (a resumed run) have no time there and are not drawn.
        ncols: figures per row. By default all of them in one row up to three figures (one row of four or more
            350-pixel figures is wider than a notebook cell), else a near-square grid: ``ceil(sqrt(n))`` per row,
            so four metrics (seed 003's accuracy, precision, recall, F1) make a 2x2 grid.
        markers: ``True`` (circles) or a Bokeh marker name (``"square"``, ``"triangle"``, ...): a marker on every
            epoch's point of each phase's line, hidden with its line from the legend.
        titles: figure titles by key; other keys get :func:`line_title`'s.
        width, height: of each figure, in pixels.
        interval: the minimum time between two pushes, in seconds.
        compare: earlier runs drawn under the live lines, once (updates never send them again): saved histories,
            JSONL, CSV or event logs, or folders of them (see :func:`~livetrain.views.compare.load_runs`). Each is a
            thin dashed line per phase, in the phase's colour, on the same x axis (a resumed run and the run it
            resumes line up), named after the run in the legend: a click hides it in every figure.

    Example:
        >>> cb = LinePlotsCallback(epochs=20)
        >>> cb.on_epoch_end(0, "train", {"train": {"loss": [0.7], "acc": [0.8]}})
        >>> cb.sources["train"].data[cb.columns["loss"]]
        [0.7]
        >>> steps = LinePlotsCallback(x="step", steps_per_epoch=100)
        >>> steps.on_epoch_end(0, "train", {"train": {"loss": [0.7], "acc": [0.8]}})
        >>> steps.sources["train"].data["step"], steps.figures[0].xaxis.axis_label
        ([100], 'step')
    """

    def __init__(self, epochs: int | None = None, keys: Sequence[str] = ("loss", "acc"),
                 phases: Sequence[str] = ("train", "test"), *, monitor: str | bool | None = None,
                 mode: str | None = None,
                 batch_phases: Sequence[str] | None = None, steps_per_epoch: int | None = None,
                 x: str = "epoch", ncols: int | None = None, markers: bool | str = False,
                 titles: Mapping[str, str] | None = None, width: int = 350, height: int = 300,
                 interval: float = 0.1, compare: Compare = None) -> None:
        if epochs is not None:
            whole("epochs", epochs, minimum=1)
        if x not in AXES:
            raise ValueError(f"x must be one of {', '.join(map(repr, AXES))}, got {x!r}")
        self.x = x
        self.keys = names("keys", keys)
        #: the source column of each key: user names never become column names, tooltip templates or JavaScript
        self.columns = {k: f"y{i}" for i, k in enumerate(self.keys)}
        self.monitor = self.keys[0] if monitor is None else None if monitor is False else monitor
        if self.monitor is not None and self.monitor not in self.keys:
            raise ValueError(f"monitor must be one of keys {list(self.keys)} or False, got {monitor!r}")
        self.mode = best_mode(self.monitor or "") if mode is None else mode
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        if ncols is None:  # one row up to three; a near-square grid past that (4: 2x2)
            ncols = len(self.keys) if len(self.keys) <= 3 else math.ceil(math.sqrt(len(self.keys)))
        self.ncols = whole("ncols", ncols, minimum=1)
        if markers is True:
            markers = "circle"
        if not (markers is False or markers is None or isinstance(markers, str) and markers in MarkerType):
            raise ValueError(f"markers must be True, False or a Bokeh marker name ({', '.join(MarkerType)}); "
                             f"got {markers!r}")
        self.markers = markers or None
        self.titles = {k: line_title(k, titles) for k in self.keys}
        self._batch_phases = None if batch_phases is None else names("batch_phases", batch_phases)
        self._size = (width, height)
        self.compare = load_runs(compare)  #: the earlier runs, by name
        self._group = f"livetrain-line-{make_id()}"  # what an earlier run's legend toggle acts on
        self._toggle = toggle(self._group)
        super().__init__(interval)
        self.build_layout(names("phases", phases))

    def build_layout(self, phases: tuple[str, ...]) -> None:
        self.phases = phases
        self.batch_phases = self._batch_phases if self._batch_phases is not None else phases[:1]
        self.sources = {p: ColumnDataSource(stream_columns(self.x, *self.columns.values()),
                                            name=f"livetrain:line:{p}") for p in phases}
        self.batch_sources = {p: ColumnDataSource(stream_columns("x", *self.columns.values()),
                                                  name=f"livetrain:batch:{p}") for p in phases}
        #: the phase whose batches count the global step (x="step"), as in train_loop
        self.trained = "train" if "train" in phases else phases[0]
        if self.x == "wall":  # the range follows the data
            self._x_range, self._x_end = DataRange1d(only_visible=True), math.inf
        else:
            self._x_range = Range1d(0, (self.epochs or 1) if self.x == "epoch" else 1)
            self._x_end = self._x_range.end  # read here, not from the model: a Bokeh property read costs 10-100 µs
        self._reach = 0.0  # the largest x drawn so far
        self._spans: list[Span] = []
        self._placeholders: list = []
        self._placeholders_visible = True
        self._compared = 0.0  # the largest x of the earlier runs
        self.figures = [self._figure(k) for k in self.keys]
        if self._compared > self._x_end:  # the earlier runs show whole
            self._x_end = self._x_range.end = self._compared
        self.graph = gridplot(self.figures, ncols=self.ncols, toolbar_location="above",
                              toolbar_options={"logo": None})
        self._rows = dict.fromkeys(phases, 0)
        self._pending: dict[str, list[tuple[float, ...]]] = {p: [] for p in phases}  # rows (x, *values) to stream
        self._batch_pending: dict[str, list[tuple[float, ...]]] = {p: [] for p in phases}
        self._batches_seen = dict.fromkeys(phases, 0)
        self._batches_per_epoch: dict[str, int] = {}
        self._calls = dict.fromkeys(phases, 0)  # on_batch_end calls since the phase's last epoch end
        self._last_epoch: dict[str, int] = {}  # the epoch each phase last ended, as given
        self._step = 0  # x="step" without the batches per epoch: the training batches counted so far
        self._started: float | None = None  # x="relative": when the first point came
        self.best: tuple[float, float] | None = None  # (epoch, monitor value) of the best epoch so far

    def _figure(self, key: str):
        width, height = self._size
        p = figure(title=self.titles[key], width=width, height=height, x_range=self._x_range,
                   y_range=DataRange1d(only_visible=True), x_axis_label=AXES[self.x], min_border_right=20,
                   x_axis_type="datetime" if self.x == "wall" else "linear", tools="pan,wheel_zoom,box_zoom,reset,save")
        # Bokeh draws no axes at all while every source is empty: an invisible segment gives the
        # y range a start until the first data arrives, then it is hidden (see apply_pending).
        self._placeholders.append(p.line([0, 0], [0, 1], alpha=0))
        compared = self._compare_lines(p, key)  # first: under the live lines
        items, lines = [], []
        y = self.columns[key]
        for phase, color in line_colors(self.phases).items():
            line = p.line(self.x, y, source=self.sources[phase], color=color, line_width=3, name=phase)
            renderers = [line]
            if self.markers:
                renderers.append(p.scatter(self.x, y, source=self.sources[phase], marker=self.markers, size=7,
                                           color=color))
            if phase in self.batch_phases:
                renderers.append(p.line("x", y, source=self.batch_sources[phase], color=color, line_width=1,
                                        alpha=0.3))
            lines.append(line)
            items.append(LegendItem(label=phase, renderers=renderers))
        best = f"best {self.phases[-1]} {self.monitor}"
        star = None
        if self.monitor is not None:
            star = p.scatter(self.x, y, source=self.sources[self.phases[-1]], view=self._best_view(), marker="star",
                             size=14, color="gold", line_color="black")
            items.append(LegendItem(label=best, renderers=[star]))
        items.extend(LegendItem(label=run, renderers=renderers) for run, renderers in compared.items())
        corner = "top_right" if best_mode(key) == "min" else "bottom_right"  # where a falling or rising curve is not
        p.add_layout(Legend(items=items, click_policy="hide", location=corner))
        # Tooltip labels are plain text; values are templates, so they name only the internal columns
        value = f"@{{{y}}}{{%.6g}}"  # six significant digits: small losses stay readable
        formatters = {f"@{{{y}}}": "printf", **({"@wall": "datetime"} if self.x == "wall" else {})}
        at, best_at = _HOVER_X[self.x]
        p.add_tools(HoverTool(renderers=lines, formatters=formatters,
                              tooltips=[("phase", "$name"), (AXES[self.x], at), (key, value)]))
        if star is not None:
            p.add_tools(HoverTool(renderers=[star], formatters=formatters, tooltips=[(best, best_at), (key, value)]))
        if compared:
            p.add_tools(HoverTool(renderers=[r for rs in compared.values() for r in rs], tooltips=[
                ("run", "$name"), (AXES[self.x], _COMPARE_X[self.x]), (key, "@y{%.6g}")],
                formatters={"@y": "printf", **({"@x": "datetime"} if self.x == "wall" else {})}))
        span = Span(location=0, dimension="height", line_color="black", line_dash="dashed", visible=False)
        p.add_layout(span)
        self._spans.append(span)
        return p

    def _compare_lines(self, p: Any, key: str) -> dict[str, list]:
        """Draw ``key`` of each earlier run in ``p``: a thin dashed line per phase in its colour, from sources that
        never change; the renderers of each run, by name."""
        lines: dict[str, list] = {}
        colors = line_colors(self.phases)
        for i, (run, history) in enumerate(self.compare.items()):
            for phase, color in colors.items():
                points = epoch_points(history, phase, key, self.x, self.trained)
                if points is None:
                    continue
                x, y = points
                self._compared = max(self._compared, float(x.max()) if self.x != "wall" else 0.0)
                source = ColumnDataSource(page({"x": x, "y": y}, 2 * self._size[0]),
                                          name=f"livetrain:compare:{run}:{phase}")
                line = p.line("x", "y", source=source, color=color, alpha=ALPHA, line_width=WIDTH,
                              line_dash=DASHES[i % len(DASHES)], name=run)
                line.tags = [self._group, COMPARE_TAG + run]
                line.js_on_change("visible", self._toggle)
                lines.setdefault(run, []).append(line)
        return lines

    def _best_view(self) -> CDSView:
        """A view of the last phase's source that keeps its best row. It runs in the browser, so marking the
        best epoch costs no bytes per update; :meth:`_best_after` applies the same rule in Python, and so do
        the matplotlib frames, which know the filter by its name, ``livetrain:best:min`` or ``livetrain:best:max``."""
        better = "<" if self.mode == "min" else ">"
        column = self.columns[self.monitor]
        return CDSView(filter=CustomJSFilter(name=f"{BEST_FILTER}:{self.mode}", args={"key": column}, code=f"""
            const y = source.data[key]; let best = -1;
            for (let i = 0; i < y.length; i++)
                if (Number.isFinite(y[i]) && (best < 0 || y[i] {better} y[best])) best = i;
            return best < 0 ? [] : [best];"""))

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        epochs = params.get("epochs") or 0  # a resumed run goes past a fixed ``epochs``: the range holds the whole run
        end = {"epoch": epochs, "step": epochs * (self._per_epoch() or 0)}.get(self.x)
        if end:
            with self.throttle.lock:
                self._x_end = self._x_range.end = max(self.epochs or 0, end, self._compared)

    def on_train_begin(self, history: History) -> None:
        if self.x == "step":  # a resumed run's steps go on from those its history holds, as train_loop's
            traces = getattr(history, "steps", {})
            self._step = max((int(t.step[-1]) for tag, t in traces.items()
                              if tag.startswith(f"{self.trained}/") and len(t)), default=0)
        for phase in self.phases:
            if history.get(phase):
                self._ingest(history.epochs(phase) - 1, phase, history)
        super().on_train_begin(history)

    def on_epoch_end(self, epoch: int, phase: str, history: Mapping[str, Mapping[str, list]]) -> None:
        if self.x == "epoch" and phase in self.batch_phases and phase in self._calls:
            self._check_epoch(epoch, phase)
        if self._ingest(epoch, phase, history):
            self._request()

    def _check_epoch(self, epoch: int, phase: str) -> None:
        """Warn once when ``epoch`` looks like a global step: it moved on by about the batches seen since the
        phase's last epoch end (seed 004's ``epoch * len(loader) + i``), so epoch and batch points would part."""
        calls, last = self._calls[phase], self._last_epoch.get(phase, self._rows[phase] - 1)
        self._last_epoch[phase] = epoch
        if calls >= 10 and epoch - last >= calls - 1:
            self._warn_once("global step", f"{type(self).__name__}.on_epoch_end got epoch={epoch} after {calls} "
                                           f"batches of {phase!r}: that looks like a global step, not an epoch, and "
                                           f"the per-batch points are drawn by epoch. Pass x='step' to draw against "
                                           f"the global step, or pass the epoch (0, 1, 2, ...)")

    def on_batch_end(self, batch: int, phase: str, logs: Mapping[str, Any]) -> None:
        if self.x == "step" and phase == self.trained:
            self._step += 1
        if not self._shows(phase) or phase not in self.batch_phases:
            return
        values = tuple(logs.get(k, math.nan) for k in self.keys)  # raw: read when applied (see _read_rows)
        self._batches_seen[phase] = max(self._batches_seen[phase], batch + 1)
        self._calls[phase] += 1
        # no lock, so a push in progress never holds up training: one append of a whole row is atomic, and
        # apply_pending takes only the rows there when it starts
        self._batch_pending[phase].append((self._batch_x(batch, phase), *values))
        self._request()

    def _batch_x(self, batch: int, phase: str) -> float:
        """Where batch ``batch`` of ``phase`` (counted from 0 within its epoch) is drawn on the x axis."""
        if self.x == "epoch":
            return self._rows[phase] + self._fraction(batch, phase)
        if self.x != "step":
            return self._now()
        n = self._per_epoch()
        if not n:
            return self._step
        return self._rows[self.trained] * n + (batch + 1 if phase == self.trained else 0)

    def _row_x(self, number: int, last: bool, epoch: int) -> float:
        """Where the values of epoch ``number`` (counted from 1) are drawn; ``last``: the epoch that just ended,
        given as ``epoch``; else one filled in from the history before it, which has no time nor counted step."""
        if self.x == "epoch":
            return number
        n = self._per_epoch() if self.x == "step" else None
        if n:
            return number * n
        if not last:
            return math.nan
        if self.x == "step":
            return self._step or epoch
        return self._now()

    def _per_epoch(self) -> int | None:
        """The training phase's batches per epoch, when known (``train_loop``'s loaders, ``steps_per_epoch``)."""
        return (self.params.get("steps") or {}).get(self.trained) or self.steps_per_epoch

    def _now(self) -> float:
        """Now on the ``"wall"`` axis (milliseconds, Bokeh's datetime unit) or the ``"relative"`` one (seconds)."""
        now = time.time()
        if self.x == "wall":
            return now * 1000.0
        if self._started is None:
            self._started = now
        return now - self._started

    def _read_rows(self, rows: list[tuple[Any, ...]], n: int) -> None:
        """Replace the raw values in the first ``n`` of ``rows`` (per-batch rows, as ``on_batch_end`` recorded them)
        by the numbers drawn, all at once: reading a JAX or torch value waits for the device, so it happens here,
        once per push and key (one transfer of the key's values), not once per batch. A value that is not a number
        is a gap, with one warning naming its key; an interrupt leaves ``rows`` raw. Rows appended meanwhile stay
        raw, after the first ``n``."""
        if not n:
            return
        xs = [row[0] for row in rows[:n]]
        columns = []
        for i, key in enumerate(self.keys, start=1):
            numbers, error = read_numbers(key, [row[i] for row in rows[:n]], xs, axis=AXES[self.x])
            if error is not None:
                self._warn_once(f"batch:{key}", f"on_batch_end: {error}; {type(self).__name__} draws it as a gap")
            columns.append([plotted(x) for x in numbers.tolist()])
        rows[:n] = list(zip(xs, *columns))

    def on_exception(self, exception: BaseException, history: History) -> None:
        what = "interrupted" if isinstance(exception, KeyboardInterrupt) else f"stopped: {type(exception).__name__}"
        with self.throttle.lock:
            if self.x == "epoch":
                x = max(self._rows.values(), default=0)
            else:  # the last point recorded
                x = max((r[0] for rows in (*self._pending.values(), *self._batch_pending.values()) for r in rows
                         if r[0] == r[0]), default=self._reach)
            where = {"epoch": f" at epoch {x}", "step": f" at step {x:g}"}.get(self.x, "")
            for fig, span in zip(self.figures, self._spans):
                span.location = x
                span.visible = True
                fig.title.text = f"{fig.title.text} ({what}{where})"
        super().on_exception(exception, history)

    def _fraction(self, batch: int, phase: str) -> float:
        """Where batch ``batch`` sits within its epoch, in (0, 1]."""
        n = ((self.params.get("steps") or {}).get(phase) or self.steps_per_epoch
             or self._batches_per_epoch.get(phase))
        if n:
            return min((batch + 1) / n, 1.0)
        return 1.0 - 1.0 / (batch + 2)  # length unknown: monotonic, stays inside the epoch

    def _ingest(self, epoch: int, phase: str, history: Mapping[str, Mapping[str, list]]) -> bool:
        """Record every row of ``history[phase]`` not recorded yet (the last one is ``epoch``); whether there was
        one. A phase the view does not show, or without any of the keys, is skipped: the other lines go on."""
        series = self._series(phase, history)
        if series is None:
            return False
        present = [k for k in self.keys if isinstance(series.get(k), Sized) and len(series[k])]
        if not present:
            if any(isinstance(v, Sized) and len(v) for v in series.values()):
                self._warn_once(phase, f"history[{phase!r}] has none of the plotted keys {list(self.keys)}; it "
                                       f"has {list(series)}. Its lines stay empty; pass keys=(...) or phases=(...) "
                                       f"to {type(self).__name__}")
            return False
        total = max(len(series[k]) for k in present)
        with self.throttle.lock:  # rows are converted before anything changes, then committed
            start = self._rows[phase]
            rows = [(self._row_x(epoch + 1 - (total - 1 - i), i == total - 1, epoch),
                     *(_value(series, k, i) for k in self.keys)) for i in range(start, total)]
            self._commit(phase, rows, total, self._best_after(rows) if phase == self.phases[-1] else self.best)
            if self._batches_seen[phase]:
                self._batches_per_epoch[phase] = self._batches_seen[phase]
            self._batches_seen[phase] = self._calls[phase] = 0
        return True

    def _commit(self, phase: str, rows: list[tuple[float, ...]], total: int, best: tuple[float, float] | None) -> None:
        """Add ``rows`` to ``phase``'s pending rows, all or none: an interrupt undoes what it cut short."""
        pending, before, saved = self._pending[phase], len(self._pending[phase]), (self._rows[phase], self.best)
        try:
            pending.extend(rows)
            self._rows[phase], self.best = total, best
        except BaseException:
            del pending[before:]
            self._rows[phase], self.best = saved
            raise

    def _best_after(self, rows: list[tuple[float, ...]]) -> tuple[float, float] | None:
        """The best (x, monitor value) once ``rows`` of the last phase are added."""
        if self.monitor is None:
            return None
        best, column = self.best, 1 + self.keys.index(self.monitor)
        for row in rows:
            x, v = row[0], row[column]
            if math.isfinite(v) and (best is None or (v < best[1] if self.mode == "min" else v > best[1])):
                best = (x, v)
        return best

    def apply_pending(self) -> None:
        read = {phase: len(rows) for phase, rows in self._batch_pending.items()}  # rows appended later wait
        try:
            for phase, rows in self._batch_pending.items():
                self._read_rows(rows, read[phase])
        except BaseException:  # an interrupt while a value is read: the rows wait, and a later push reads them
            run_again(0)
            raise
        for sources, pending in ((self.sources, self._pending), (self.batch_sources, self._batch_pending)):
            for phase, rows in pending.items():
                n = read[phase] if pending is self._batch_pending else len(rows)
                if n:
                    self._reach = max(self._reach, max((row[0] for row in rows[:n] if row[0] == row[0]), default=0))
                    stream_rows(sources[phase], rows, n)
        if self._placeholders_visible and (any(s.data[self.x] for s in self.sources.values())
                                           or any(s.data["x"] for s in self.batch_sources.values())):
            for placeholder in self._placeholders:
                placeholder.visible = False
            self._placeholders_visible = False
        self._grow_x_range()

    def _grow_x_range(self) -> None:
        """Widen the x range to hold every point: when the run's length is known (``epochs``, ``train_loop``),
        only once a point goes past it; else a step ahead of the running epoch."""
        if self.x == "wall":
            return
        known = self.x != "epoch" or self.epochs or self.params.get("epochs")
        reach = self._reach if known else max(max(self._rows.values(), default=0) + 1, self._reach)
        if reach > self._x_end:
            self._x_end = self._x_range.end = 2 ** math.ceil(math.log2(reach))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(epochs={self.epochs}, keys={list(self.keys)}, phases={list(self.phases)}, "
                f"rows={self._rows})")


    @classmethod
    def from_history(cls, history: History, keys: Sequence[str] | None = None,
                     phases: Sequence[str] | None = None, **options: Any) -> LinePlotsCallback:
        """Line plots of a saved ``history``: ``keys`` (default: every key holding one number per epoch) of
        ``phases`` (default: all), the x range fixed to its epochs.

        Example:
            >>> LinePlotsCallback.from_history(History({"train": {"loss": [0.5], "recon": [[[0.0]]]}})).keys
            ('loss',)
        """
        first, keys, phases = saved_keys(history, keys, phases, _numeric_keys, "line")
        return cls(max(1, len(first[keys[0]])), keys, phases, **options)

    @classmethod
    def demo_history(cls, epochs: int = 3, phases: Sequence[str] = ("train", "test")) -> History:
        """A falling loss and a rising accuracy per phase.

        Example:
            >>> LinePlotsCallback.demo_history(2, ("train",))["train"]["loss"]
            [1.0, 0.5]
        """
        return History({p: {"loss": [(1 + i) / (1 + e) for e in range(epochs)],
                            "acc": [1 - 0.5 / (1 + e + i) for e in range(epochs)]} for i, p in enumerate(phases)})


def _value(series: Mapping[str, Any], key: str, i: int) -> float:
    """Row ``i`` of ``series[key]`` as drawn, NaN where the key has no row ``i``."""
    column = series.get(key)
    return plotted(to_float(key, column[i])) if isinstance(column, Sized) and i < len(column) else math.nan


def _numeric_keys(series: Mapping[str, list]) -> list[str]:
    """The keys holding one number per epoch, else the default keys (the error then names them)."""
    return [k for k, v in series.items() if v and isinstance(v[0], numbers.Real)] or ["loss", "acc"]
