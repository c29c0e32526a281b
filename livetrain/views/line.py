"""``LinePlotsCallback``: one figure per metric, one line per phase, streamed in place."""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

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

from ..core.checks import names, whole
from ..core.history import History
from ..core.metrics import to_float
from ..frames.base import BEST_FILTER
from .base import LiveView, saved_keys, stream_columns

_PHASE_COLORS = {"train": "#d62728", "test": "#1f77b4", "val": "#1f77b4", "valid": "#1f77b4",
                 "validation": "#1f77b4"}
_TITLES = {"loss": "Loss", "acc": "Accuracy", "accuracy": "Accuracy", "lr": "Learning rate"}
_MIN_WORDS = ("loss", "err", "mse", "mae", "rmse", "nll", "perplexity")


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


def line_title(key: str) -> str:
    """A metric's figure title: ``"Loss"``, ``"Accuracy"``, or the key itself.

    Example:
        >>> line_title("acc"), line_title("f1")
        ('Accuracy', 'f1')
    """
    return _TITLES.get(key, key)


class LinePlotsCallback(LiveView):
    """Live line plots of epoch metrics: one figure per key, one line per phase.

    Each update streams only the new rows (``ColumnDataSource.stream``) and pushes at most
    every ``interval`` seconds, so its cost does not grow with the history. Per-batch values
    (``on_batch_end``) of ``batch_phases`` are drawn as a thin line under the epoch line. Click a legend entry to
    hide its series; hover shows exact values. A star on every figure marks the best epoch:
    the best ``monitor`` value of the last phase (e.g. the lowest test loss). NaN and
    infinities show as gaps.

    Args:
        epochs: fixes the x range to ``[0, epochs]``; otherwise it is taken from ``train_loop``
            or grows as needed.
        keys: the metrics to plot, one figure each.
        phases: the phases to plot, one line each. When the callback is given to
            ``train_loop`` before it is displayed, the loop's phases are used.
        monitor: the key that decides the best epoch (default: the first key), judged on the last phase.
        mode: ``"min"`` or ``"max"``: whether lower or higher ``monitor`` is better (default: by name).
        batch_phases: the phases whose per-batch values are drawn (default: the first phase, the
            training one; evaluation batches all come from the end-of-epoch model).
        steps_per_epoch: batches per epoch, to place per-batch points when the loader has no length.
        width, height: of each figure, in pixels.
        interval: the minimum time between two pushes, in seconds.

    Example:
        >>> cb = LinePlotsCallback(epochs=20)
        >>> cb.on_epoch_end(0, "train", {"train": {"loss": [0.7], "acc": [0.8]}})
        >>> cb.sources["train"].data["loss"]
        [0.7]
    """

    def __init__(self, epochs: int | None = None, keys: Sequence[str] = ("loss", "acc"),
                 phases: Sequence[str] = ("train", "test"), *, monitor: str | None = None, mode: str | None = None,
                 batch_phases: Sequence[str] | None = None, steps_per_epoch: int | None = None,
                 width: int = 350, height: int = 300,
                 interval: float = 0.1) -> None:
        if epochs is not None:
            whole("epochs", epochs, minimum=1)
        self.keys = names("keys", keys)
        self.monitor = self.keys[0] if monitor is None else monitor
        if self.monitor not in self.keys:
            raise ValueError(f"monitor must be one of keys {list(self.keys)}, got {monitor!r}")
        self.mode = best_mode(self.monitor) if mode is None else mode
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self._batch_phases = None if batch_phases is None else names("batch_phases", batch_phases)
        self._size = (width, height)
        super().__init__(interval)
        self.build_layout(names("phases", phases))

    def build_layout(self, phases: tuple[str, ...]) -> None:
        self.phases = phases
        self.batch_phases = self._batch_phases if self._batch_phases is not None else phases[:1]
        self.sources = {p: ColumnDataSource(stream_columns("epoch", *self.keys), name=f"livetrain:line:{p}")
                        for p in phases}
        self.batch_sources = {p: ColumnDataSource(stream_columns("x", *self.keys), name=f"livetrain:batch:{p}")
                              for p in phases}
        self._x_range = Range1d(0, self.epochs or 1)
        self._spans: list[Span] = []
        self._placeholders: list = []
        self.figures = [self._figure(k) for k in self.keys]
        self.graph = gridplot(self.figures, ncols=len(self.figures), toolbar_location="above",
                              toolbar_options={"logo": None})
        self._rows = dict.fromkeys(phases, 0)
        self._pending = {p: {"epoch": [], **{k: [] for k in self.keys}} for p in phases}
        self._batch_pending = {p: {"x": [], **{k: [] for k in self.keys}} for p in phases}
        self._batches_seen = dict.fromkeys(phases, 0)
        self._batches_per_epoch: dict[str, int] = {}
        self.best: tuple[float, float] | None = None  # (epoch, monitor value) of the best epoch so far

    def _figure(self, key: str):
        width, height = self._size
        p = figure(title=line_title(key), width=width, height=height, x_range=self._x_range,
                   y_range=DataRange1d(only_visible=True), x_axis_label="epoch", min_border_right=20,
                   tools="pan,wheel_zoom,box_zoom,reset,save")
        # Bokeh draws no axes at all while every source is empty: an invisible segment gives the
        # y range a start until the first data arrives, then it is hidden (see apply_pending).
        self._placeholders.append(p.line([0, 0], [0, 1], alpha=0))
        items, lines = [], []
        for phase, color in line_colors(self.phases).items():
            line = p.line("epoch", key, source=self.sources[phase], color=color, line_width=3, name=phase)
            renderers = [line]
            if phase in self.batch_phases:
                renderers.append(p.line("x", key, source=self.batch_sources[phase], color=color, line_width=1,
                                        alpha=0.3))
            lines.append(line)
            items.append(LegendItem(label=phase, renderers=renderers))
        star = p.scatter("epoch", key, source=self.sources[self.phases[-1]], view=self._best_view(), marker="star",
                         size=14, color="gold", line_color="black")
        items.append(LegendItem(label=f"best {self.phases[-1]} {self.monitor}", renderers=[star]))
        corner = "top_right" if best_mode(key) == "min" else "bottom_right"  # where a falling or rising curve is not
        p.add_layout(Legend(items=items, click_policy="hide", location=corner))
        value = f"@{{{key}}}{{%.6g}}"  # six significant digits: small losses stay readable
        formatters = {f"@{{{key}}}": "printf"}
        p.add_tools(HoverTool(renderers=lines, formatters=formatters,
                              tooltips=[("phase", "$name"), ("epoch", "@epoch"), (key, value)]))
        p.add_tools(HoverTool(renderers=[star], formatters=formatters, tooltips=[
            ("best epoch", f"@epoch ({self.phases[-1]} {self.monitor})"), (key, value)]))
        span = Span(location=0, dimension="height", line_color="black", line_dash="dashed", visible=False)
        p.add_layout(span)
        self._spans.append(span)
        return p

    def _best_view(self) -> CDSView:
        """A view of the last phase's source that keeps its best row. It runs in the browser, so marking the
        best epoch costs no bytes per update; :meth:`_track_best` applies the same rule in Python, and so do
        the matplotlib frames, which know the filter by its name, ``livetrain:best:min`` or ``livetrain:best:max``."""
        better = "<" if self.mode == "min" else ">"
        return CDSView(filter=CustomJSFilter(name=f"{BEST_FILTER}:{self.mode}", args={"key": self.monitor}, code=f"""
            const y = source.data[key]; let best = -1;
            for (let i = 0; i < y.length; i++)
                if (Number.isFinite(y[i]) && (best < 0 || y[i] {better} y[best])) best = i;
            return best < 0 ? [] : [best];"""))

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        if self.epochs is None and params.get("epochs"):
            with self.throttle.lock:
                self._x_range.end = params["epochs"]

    def on_train_begin(self, history: History) -> None:
        for phase in self.phases:
            if history.get(phase):
                self._ingest(history.epochs(phase) - 1, phase, history)
        super().on_train_begin(history)

    def on_epoch_end(self, epoch: int, phase: str, history: Mapping[str, Mapping[str, list]]) -> None:
        self._ingest(epoch, phase, history)
        self._request()

    def on_batch_end(self, batch: int, phase: str, logs: Mapping[str, float]) -> None:
        self._check_phase(phase)
        if phase not in self.batch_phases:
            return
        row = [to_float(k, logs[k]) if k in logs else math.nan for k in self.keys]
        with self.throttle.lock:
            self._batches_seen[phase] = max(self._batches_seen[phase], batch + 1)
            pend = self._batch_pending[phase]
            pend["x"].append(self._rows[phase] + self._fraction(batch, phase))
            for k, v in zip(self.keys, row):
                pend[k].append(v)
        self._request()

    def on_exception(self, exception: BaseException, history: History) -> None:
        what = "interrupted" if isinstance(exception, KeyboardInterrupt) else f"stopped: {type(exception).__name__}"
        with self.throttle.lock:
            x = max(self._rows.values(), default=0)
            for fig, span in zip(self.figures, self._spans):
                span.location = x
                span.visible = True
                fig.title.text = f"{fig.title.text} ({what} at epoch {x})"
        super().on_exception(exception, history)

    def _fraction(self, batch: int, phase: str) -> float:
        """Where batch ``batch`` sits within its epoch, in (0, 1]."""
        n = ((self.params.get("steps") or {}).get(phase) or self.steps_per_epoch
             or self._batches_per_epoch.get(phase))
        if n:
            return min((batch + 1) / n, 1.0)
        return 1.0 - 1.0 / (batch + 2)  # length unknown: monotonic, stays inside the epoch

    def _ingest(self, epoch: int, phase: str, history: Mapping[str, Mapping[str, list]]) -> None:
        """Record every row of ``history[phase]`` not sent yet; the last one is ``epoch``."""
        series = self._series(phase, history)
        present = [k for k in self.keys if k in series]
        if not present:
            raise KeyError(f"history[{phase!r}] has none of the plotted keys {list(self.keys)}; it has "
                           f"{list(series)}. Pass keys=(...) to {type(self).__name__}")
        total = max(len(series[k]) for k in present)
        with self.throttle.lock:
            start = self._rows[phase]
            rows = [[to_float(k, series[k][i]) if k in series and i < len(series[k]) else math.nan
                     for k in self.keys] for i in range(start, total)]
            pend = self._pending[phase]
            for offset, row in enumerate(rows):
                x = epoch + 1 - (total - 1 - (start + offset))
                pend["epoch"].append(x)
                for k, v in zip(self.keys, row):
                    pend[k].append(v)
                if phase == self.phases[-1]:
                    self._track_best(x, row[self.keys.index(self.monitor)])
            self._rows[phase] = total
            if self._batches_seen[phase]:
                self._batches_per_epoch[phase] = self._batches_seen[phase]
            self._batches_seen[phase] = 0

    def _track_best(self, x: float, v: float) -> None:
        if math.isfinite(v) and (self.best is None or (v < self.best[1] if self.mode == "min" else v > self.best[1])):
            self.best = (x, v)

    def apply_pending(self) -> None:
        for phase, pend in self._pending.items():
            if pend["epoch"]:
                self.sources[phase].stream(pend)
                self._pending[phase] = {c: [] for c in pend}
        for phase, pend in self._batch_pending.items():
            if pend["x"]:
                self.batch_sources[phase].stream(pend)
                self._batch_pending[phase] = {c: [] for c in pend}
        if self._placeholders[0].visible and any(s.data["epoch"] for s in self.sources.values()):
            for placeholder in self._placeholders:
                placeholder.visible = False
        last = max(self._rows.values(), default=0) + 1
        if not (self.epochs or self.params.get("epochs")) and last > self._x_range.end:
            self._x_range.end = 2 ** math.ceil(math.log2(last))

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


def _numeric_keys(series: Mapping[str, list]) -> list[str]:
    """The keys holding one number per epoch, else the default keys (the error then names them)."""
    return [k for k, v in series.items() if v and isinstance(v[0], numbers.Real)] or ["loss", "acc"]
