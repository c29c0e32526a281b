"""``ScalarsView``: step-level scalars as TensorBoard draws them, one panel per tag, each series decimated to the
panel's width on the page, with a smoothing slider and a log-y toggle that act in the page (no kernel round trip)."""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from bokeh.layouts import column, row
from bokeh.model import Model
from bokeh.models import (
    BasicTicker,
    BasicTickFormatter,
    ColumnDataSource,
    CustomJS,
    DataRange1d,
    HoverTool,
    Legend,
    LegendItem,
    LinearScale,
    LogScale,
    LogTicker,
    LogTickFormatter,
    Slider,
    Toggle,
)
from bokeh.palettes import Category10_10
from bokeh.plotting import figure
from bokeh.util.serialization import make_id

from ..core.checks import names, whole
from ..core.decimate import STOPS, Decimator, Smoother, Update
from ..core.history import History
from ..core.steps import Trace, check_number
from ..frames.base import PLOTTABLE
from .base import LiveView
from .columns import StreamColumn, grow, patch_rows, refill
from .compare import ALPHA, COMPARE_TAG, DASHES, RUN_TAG, WIDTH, Compare, load_runs, page, tag_points, toggle
from .line import LinePlotsCallback

#: The x axes a view offers, and their labels.
AXES = {"step": "step", "epoch": "epoch", "wall": "wall time", "relative": "time since start (s)"}
RAW_ALPHA = 0.25  #: the raw line under the smoothed one, faint as in TensorBoard
LEGEND_COLUMNS = 3  #: tags per row of a panel's legend
X_HEADROOM = 0.1  #: room left right of the newest point when the x range moves, as a fraction of the data's span
TITLE_COLOR = "#666666"  #: an earlier run's line of the panel's title (a folder's runs in one panel), not of a tag

# Runs in the page at each change of a panel's sources and installs itself once per range and per plot view (BokehJS
# 3.9 internals, each looked up first: without them the page is plain Bokeh, only slower). Plain Bokeh refits every
# DataRange1d after each update, so the axes move and the whole plot repaints, twice (the range's change asks for
# another paint). Here a range keeps its place while the data still fit in it (Bokeh's own fit, padding and log rule
# decide), and a refit leaves ``headroom`` of room on the right for the next points; a reset, a new y scale or a
# range much wider than the data refit. With the axes still, an update changes only the lines' layer (level
# "overlay"): the view paints that layer alone, without measuring the axes' labels for a new layout.
KEEP_RANGES = """
for (const [range, room] of [[plot.x_range, headroom], [plot.y_range, 0]]) {
  if (range.livetrain_kept || typeof range.update !== "function" || typeof range.reset !== "function") continue;
  range.livetrain_kept = true;
  range.livetrain_hint = range.scale_hint;
  const {update, reset} = range;
  range.reset = function (...args) { this.livetrain_refit = true; return reset.apply(this, args); };
  range.update = function (...args) {
    const {start, end, scale_hint} = this;
    let fit = null;
    this.setv = (attrs) => { fit = attrs; };  // Bokeh's fit, caught before it is set
    try { update.apply(this, args); } finally { delete this.setv; }
    if (fit === null) return;
    const s = fit.start ?? start, e = fit.end ?? end, f = scale_hint == "log" ? Math.log10 : (v) => v;
    const p = this.range_padding_units == "percent" ? this.range_padding : 0;
    const [a, b, c, d] = [f(s), f(e), f(start), f(end)], pad = (b - a) * p / (2 + 2 * p);  // the fit's padding
    const kept = !this.livetrain_refit && this.livetrain_hint == scale_hint && a >= c - pad && b <= d + pad
      && d - c <= 1.25 * (b - a);
    this.livetrain_refit = false;
    this.livetrain_hint = scale_hint;
    if (!kept) this.setv(room > 0 && scale_hint != "log" ? {start: s, end: e + room * (e - s)} : {start: s, end: e});
  };
}
for (const view of plot.x_range.linked_plots ?? []) {
  if (view.livetrain_kept || typeof view.repaint !== "function") continue;
  view.livetrain_kept = true;
  const {repaint} = view, ranges = view._range_manager;
  view.repaint = function (...args) {
    if (ranges?.invalidate_dataranges) ranges.update_dataranges();
    const painters = this._invalidated_painters;
    if (!this._invalidate_all && !this._needs_layout && painters?.size > 0
        && [...painters].every((painter) => painter.model.level == "overlay"))
      return this.paint();
    return repaint.apply(this, args);
  };
}"""


def smoothed_column(stop: int) -> str:
    """The source column the smoothed line reads at slider stop ``stop`` (0: no smoothing, the raw values).

    Example:
        >>> smoothed_column(0), smoothed_column(1)
        ('y', 's1')
    """
    return "y" if stop == 0 else f"s{stop}"


def x_values(trace: Trace, x: str, start: int, stop: int, started: float | None) -> np.ndarray:
    """Points ``start`` to ``stop`` of ``trace`` on axis ``x`` (see :data:`AXES`): wall time in milliseconds (Bokeh's
    datetime axis), relative time in seconds since ``started``.

    Example:
        >>> t = Trace(); t.append(5, 1.0, wall=10.0); x_values(t, "relative", 0, 1, started=4.0).tolist()
        [6.0]
    """
    if x == "step":
        return trace.step[start:stop].astype(float)
    if x == "epoch":
        return trace.epoch[start:stop]
    wall = trace.wall[start:stop]
    return wall * 1000.0 if x == "wall" else wall - (trace.wall[0] if started is None else started)


def check_options(x: str, smoothing: float) -> None:
    """A clear error unless ``x`` is one of :data:`AXES` and ``smoothing`` one of :data:`STOPS`.

    Example:
        >>> check_options("time", 0.6)
        Traceback (most recent call last):
        ValueError: x must be one of 'step', 'epoch', 'wall', 'relative', got 'time'
    """
    if x not in AXES:
        raise ValueError(f"x must be one of {', '.join(map(repr, AXES))}, got {x!r}")
    if smoothing not in STOPS:
        raise ValueError(f"smoothing must be one of the slider's stops {list(STOPS)}, got {smoothing!r}")


class _Series:
    """One tag's line in a panel: its source, the smoothing and decimation of its whole trace, the rows to apply."""

    def __init__(self, tag: str, budget: int, x: str) -> None:
        self.tag, self.budget, self.x = tag, budget, x
        self.columns = ["x", "y", *(smoothed_column(i) for i in range(1, len(STOPS)))]
        if x != "step":
            self.columns.append("step")
        self.source = ColumnDataSource({c: StreamColumn() for c in self.columns}, name=f"livetrain:scalars:{tag}")
        self.trace: Trace | None = None
        self._staged: list[Update] = []
        self._restart()

    def _restart(self) -> None:
        self.read = 0
        self.smoother = Smoother(STOPS[1:], limit=PLOTTABLE)
        self.decimator = Decimator(self.budget, key="y", limit=PLOTTABLE)

    def stage(self, trace: Trace, started: float | None) -> bool:
        """Smooth and decimate the points of ``trace`` not read yet (all of them for a new trace); whether any."""
        replaced = trace is not self.trace and self.trace is not None  # a new run's trace: start the page afresh
        if trace is not self.trace:
            self.trace = trace
            self._restart()
        stop = len(trace)
        if stop <= self.read:
            return False
        start, self.read = self.read, stop
        try:
            value = trace.value[start:stop]
        except TypeError as exc:  # a value that is not a number: it reads as NaN, the error comes once
            warnings.warn(f"livetrain: {exc}", RuntimeWarning, stacklevel=2)
            value = trace.value[start:stop]
        value = np.where(np.isinf(value) | (np.abs(value) <= PLOTTABLE), value, math.nan)  # as frames.base.plotted
        smoothed = self.smoother.add(value)
        points = {"x": x_values(trace, self.x, start, stop, started),
                  "y": value, **{smoothed_column(i + 1): smoothed[:, i] for i in range(smoothed.shape[1])}}
        if self.x != "step":
            points["step"] = trace.step[start:stop].astype(float)
        update = self.decimator.add(points)
        self._staged.append(Update(0, self.decimator.page(), reset=True) if replaced else update)
        return True

    def apply(self) -> None:
        """Move the staged rows into the source: a patch of the rows it has that changed, a stream of the new ones
        (or the whole copy, when the buckets doubled)."""
        staged, self._staged = self._staged, []
        for update in staged:
            have = len(self.source.data["x"])
            if update.reset:
                refill(self.source, {c: update.rows[c].tolist() for c in self.columns})
                continue
            patched = have - update.start
            rows = {c: update.rows[c].tolist() for c in self.columns}
            old = self.source.data
            changed = [i for i in range(max(patched, 0))  # the last bucket's rows: mostly only its last point moved
                       if any(not _same(old[c][update.start + i], rows[c][i]) for c in self.columns)]
            if changed:
                patch_rows(self.source, {c: [(update.start + i, rows[c][i]) for i in changed] for c in self.columns})
            if update.length > patched:
                grow(self.source, {c: rows[c][patched:] for c in self.columns})


class ScalarPanel:
    """One figure of step-level scalars: a faint raw line and a bold smoothed line per tag, each with its own x.

    Earlier runs (``compare``: run name -> :class:`~livetrain.History`, see
    :func:`~livetrain.views.compare.load_runs`) that have a tag of the panel, or its title, are drawn once as a
    thin dashed line each, under the live ones, smoothed as the slider says and named after the run in the
    legend. A tag that ``runs`` names (tag -> ``(run, colour)``: a folder's runs, one line each) takes its run's
    colour, and hiding it from the legend hides its run in every panel of ``group``; other tags take the next colour.

    ``update(history)`` reads the points of its tags' traces (``history.steps``) not read yet, smooths them (every
    stop of :data:`~livetrain.core.decimate.STOPS`, on the whole series) and decimates them to about two rows per
    pixel of ``width``; ``apply()`` moves them into the Bokeh models. Call both under the owner's lock, at most once
    per throttle window: reading a trace reads its pending values (a device sync for JAX and torch scalars). The
    page's controls (:func:`scalar_controls`) act on every panel made with the same ``group``.

    Example:
        >>> h = History(); _ = h.log({"loss": 0.5}, step=0); _ = h.log({"loss": 0.25}, step=10)
        >>> panel = ScalarPanel(["loss"], "loss"); panel.update(h); panel.apply()
        True
        >>> panel.sources["loss"].data["x"], panel.sources["loss"].data["y"]
        ([0.0, 10.0], [0.5, 0.25])
    """

    def __init__(self, tags: Sequence[str], title: str, x: str = "step", *, group: str = "", width: int = 400,
                 height: int = 260, budget: int | None = None, smoothing: float = 0.6,
                 warn: Callable[[str, str], None] | None = None, compare: Mapping[str, History] | None = None,
                 runs: Mapping[str, tuple[str, str]] | None = None) -> None:
        check_options(x, smoothing)
        self.x, self.group, self.stop, self.title = x, group, STOPS.index(smoothing), title
        self.compare: Mapping[str, History] = compare or {}  #: the earlier runs drawn under the live lines
        self.runs: Mapping[str, tuple[str, str]] = {} if runs is None else runs  # read as tags are added
        self._overlaid: set[str] = set()  # the names whose earlier runs are drawn
        self._toggle: Model | None = None
        self.budget = 2 * whole("width", width, minimum=50) if budget is None else whole("budget", budget, minimum=6)
        self.warn = warn or _warn
        self.skipped: set[str] = set()  #: tags not drawn: without epochs under x="epoch"
        self.sources: dict[str, ColumnDataSource] = {}
        self._series: dict[str, _Series] = {}
        self.figure = figure(title=title, width=width, height=height, x_axis_label=AXES[x], y_range=DataRange1d(
                             only_visible=True), x_axis_type="datetime" if x == "wall" else "linear",
                             tools="pan,wheel_zoom,box_zoom,reset,save", tags=[group], min_border_right=20,
                             toolbar_location="above")
        self.figure.toolbar.logo = None
        self._hover = HoverTool(renderers=[], tooltips=self._tooltips(), formatters=self._formatters())
        self.figure.add_tools(self._hover)
        # over the frame, not in it: no line hides under it, and new points do not repaint it; from the second tag on
        self._legend = Legend(items=[], click_policy="hide", orientation="horizontal", location="top_left",
                              margin=2, padding=4, spacing=12, label_text_font_size="11px", glyph_width=16,
                              border_line_color=None)
        self._keep = CustomJS(args={"plot": self.figure, "headroom": X_HEADROOM}, code=KEEP_RANGES)
        for tag in names("tags", tags):
            self.add(tag)

    def _tooltips(self) -> list[tuple[str, str]]:
        x = {"step": "@x{0,0}", "epoch": "@x{0.00}", "wall": "@x{%F %T}", "relative": "@x{0,0.0} s"}[self.x]
        tips = [("tag", "$name"), (AXES[self.x], x)]
        if self.x != "step":
            tips.append(("step", "@step{0,0}"))
        return [*tips, ("value", "@y{%.6g}")]

    def _formatters(self) -> dict[str, str]:
        return {"@y": "printf", **({"@x": "datetime"} if self.x == "wall" else {})}

    @property
    def tags(self) -> tuple[str, ...]:
        """The tags this panel draws, in the order they were added."""
        return tuple(self._series)

    def add(self, tag: str) -> None:
        """Draw ``tag`` too (a new line in the figure, in the next colour)."""
        if tag in self._series:
            return
        series = self._series[tag] = _Series(tag, self.budget, self.x)
        self.sources[tag] = series.source
        for event in ("streaming", "patching", "data"):
            series.source.js_on_change(event, self._keep)
        run = self.runs.get(tag)
        color = Category10_10[(len(self._series) - 1) % 10] if run is None else run[1]
        # the lines on the overlay layer: new data repaint that layer alone, not the axes, grids and title under it
        raw = self.figure.line("x", "y", source=series.source, color=color, alpha=RAW_ALPHA, line_width=1, name=tag,
                               level="overlay")
        smooth = self.figure.line("x", smoothed_column(self.stop), source=series.source, color=color, line_width=2,
                                  name=tag, level="overlay")
        raw.tags, smooth.tags = [self.group, "raw"], [self.group, "smoothed"]  # what the page's controls look for
        if run is not None:
            self._of_run(RUN_TAG + run[0], raw, smooth)
        self._hover.renderers = [*self._hover.renderers, smooth]
        self._legend_item(LegendItem(label=tag, renderers=[raw, smooth]))
        for name in dict.fromkeys((tag, self.title)):  # a folder's runs share a panel named after their tag
            if name not in self._overlaid:
                self._overlaid.add(name)
                self._overlay(name, color if name == tag else TITLE_COLOR)

    def _overlay(self, name: str, color: str) -> None:
        """Draw the earlier runs' ``name``, once: their sources never change, and sit under the live lines (the
        default level, which a live update does not repaint)."""
        for i, (run, history) in enumerate(self.compare.items()):
            points = tag_points(history, name, self.x)
            if points is None:
                continue
            x, y, step = points
            smoothed = Smoother(STOPS[1:], limit=PLOTTABLE).add(y)
            columns = {"x": x, "y": y, **{smoothed_column(j + 1): smoothed[:, j] for j in range(smoothed.shape[1])}}
            if self.x != "step":
                columns["step"] = step
            label = run if name == self.title else f"{name} · {run}"
            source = ColumnDataSource(page(columns, self.budget), name=f"livetrain:compare:{name} · {run}")
            line = self.figure.line("x", smoothed_column(self.stop), source=source, color=color, alpha=ALPHA,
                                    line_width=WIDTH, line_dash=DASHES[i % len(DASHES)], name=f"{name} · {run}")
            line.tags = [self.group, "smoothed"]
            self._of_run(COMPARE_TAG + run, line)
            self._hover.renderers = [*self._hover.renderers, line]
            self._legend_item(LegendItem(label=label, renderers=[line]))

    def _of_run(self, key: str, *renderers: Model) -> None:
        """Tag ``renderers`` as a run's (``key``): shown or hidden together in every panel of the group."""
        if self._toggle is None:
            self._toggle = toggle(self.group)
        for renderer in renderers:
            renderer.tags = [*renderer.tags, key]
            renderer.js_on_change("visible", self._toggle)

    def _legend_item(self, item: LegendItem) -> None:
        """Add ``item`` to the legend, which shows from its second item on."""
        self._legend.items = [*self._legend.items, item]
        self._legend.ncols = min(len(self._legend.items), LEGEND_COLUMNS)
        if len(self._legend.items) == 2:
            self.figure.add_layout(self._legend, "above")

    def update(self, history: Any) -> bool:
        """Stage the new points of this panel's tags in ``history.steps``; whether there were any. Under
        ``x="epoch"``, a tag without epochs is skipped, with one warning."""
        steps, changed = history.steps, False
        for tag, series in self._series.items():
            trace = steps.get(tag)
            if trace is None or tag in self.skipped or not len(trace):
                continue
            if self.x == "epoch" and series.trace is not trace and np.isnan(trace.epoch).all():
                self.skipped.add(tag)
                self.warn(tag, f"{tag!r} was logged without epochs, so it is not drawn against x='epoch'. Log it with "
                               f"epoch=..., or choose x='step'")
                continue
            changed = series.stage(trace, steps.started) or changed
        return changed

    def apply(self) -> None:
        """Move the staged points into the Bokeh models."""
        for series in self._series.values():
            series.apply()


def scalar_controls(group: str, smoothing: float = 0.6) -> tuple[Model, CustomJS]:
    """The page's controls for the panels of ``group`` (a row: a smoothing slider over :data:`STOPS` and a log-y
    toggle), and the callback that applies them. They act in the page alone (JavaScript): the smoothed lines read
    another column, the y scales and their ticks swap; the kernel is not asked. Attach the callback to the
    ``children`` of every layout that gets panels later (``layout.js_on_change("children", callback)``): a panel
    that arrives then takes the controls' current state.

    Example:
        >>> controls, callback = scalar_controls("g")
        >>> [type(m).__name__ for m in controls.children], callback.args["group"]
        (['Slider', 'Toggle'], 'g')
    """
    stop = STOPS.index(smoothing)
    slider = Slider(start=0, end=len(STOPS) - 1, step=1, value=stop, show_value=False, width=220, height=40, margin=0,
                    title=f"smoothing {smoothing}", name="livetrain:smoothing")  # sizes fixed: frames match the page
    toggle = Toggle(label="log y", active=False, width=80, height=30, margin=0, name="livetrain:log-y")
    callback = CustomJS(args={"group": group, "stops": list(STOPS), "first": stop, "slider": slider, "toggle": toggle,
                              "scales": [LinearScale(), LogScale()], "tickers": [BasicTicker(), LogTicker()],
                              "formats": [BasicTickFormatter(), LogTickFormatter()]}, code="""
        const i = slider.value, log = toggle.active ? 1 : 0, field = i == 0 ? "y" : `s${i}`;
        slider.title = `smoothing ${stops[i]}`;
        // a control moved: every model of the page; a layout got panels (made with the first state): those under it
        const control = cb_obj === slider || cb_obj === toggle;
        const models = control ? cb_obj.document.all_models : cb_obj.references();
        const apply = (again) => { for (const m of models) {
            if (!m.tags.includes(group)) continue;
            if (m.tags.includes("smoothed") && (m.glyph.y.field != field || again)) {
                if (again) m.glyph.y = {field: field == "y" ? "s1" : "y"};  // a change its view cannot miss
                m.glyph.y = {field};
            }
            if (m.y_scale === undefined || (m.y_scale.type == scales[log].type && !again)) continue;
            m.y_range.scale_hint = log ? "log" : "auto";
            m.y_scale = again ? scales[log].clone() : scales[log];
            for (const axis of m.left) { axis.ticker = tickers[log]; axis.formatter = formats[log]; }
            m.y_range._invalidate_dataranges?.();  // BokehJS 3.9: recompute the auto range on the new scale
        } };
        apply(false);
        // this callback runs after the new panels' views may have started (CustomJS is async), read the first state,
        // and not yet listened: set the controls' state again once they listen
        if (!control && (i != first || log))
            for (const ms of [100, 1000]) setTimeout(() => apply(true), ms);""")
    slider.js_on_change("value", callback)
    toggle.js_on_change("active", callback)
    return row(slider, toggle, spacing=16), callback


class ScalarsView(LiveView):
    """Live step-level scalars, as TensorBoard draws them: one panel per tag, each series at its own cadence and
    with its own x, decimated on the page to about two rows per pixel of ``width`` (each bucket's smallest, largest
    and last point: a spike, a divergence and the latest value always show), with TensorBoard's smoothing computed
    on the whole series.

    It draws what ``History.log`` records (through ``on_log``, or its own :meth:`log` for loops without hooks), and
    ``train_loop``'s epoch values as tags ``"phase/key"`` at step and epoch ``e + 1``. Panels appear as tags first
    arrive (``tags=None``), or only for ``tags``. In the page, a slider picks the smoothing (0 to 0.99,
    TensorBoard's default 0.6) and a toggle the log y scale, with no round trip to the kernel.

    Args:
        tags: the tags to draw (default: every tag, as it arrives).
        x: the x axis: ``"step"``, ``"epoch"``, ``"wall"`` (wall time) or ``"relative"`` (seconds since the first
            point).
        phases: the phases whose epoch values are drawn (default: all).
        smoothing: the slider's first position, one of :data:`~livetrain.core.decimate.STOPS`.
        width, height: of each panel, in pixels; ``ncols``: panels per row.
        interval: the minimum time between two pushes, in seconds.
        compare: earlier runs drawn under the live ones, a faint dashed line each in the panels of their tags:
            saved histories, JSONL, CSV or event logs, or folders of them (see
            :func:`~livetrain.views.compare.load_runs`).

    Example:
        >>> view = ScalarsView()
        >>> view.log({"train/loss": 0.5}); view.log({"train/loss": 0.25}); view.flush()
        0
        1
        >>> view.panels["train/loss"].sources["train/loss"].data["y"]
        [0.5, 0.25]
    """

    reads_steps = True  #: on_log notes the tags; the push reads their new points from history.steps

    def __init__(self, tags: Sequence[str] | None = None, x: str = "step", *, phases: Sequence[str] | None = None,
                 smoothing: float = 0.6, width: int = 400, height: int = 260, ncols: int = 3,
                 interval: float = 0.1, compare: Compare = None) -> None:
        self.tags = None if tags is None else names("tags", tags)
        self.compare = load_runs(compare)  #: the earlier runs, by name
        self._options = {"x": x, "smoothing": smoothing, "width": width, "height": height, "compare": self.compare}
        check_options(x, smoothing)
        self.x, self.ncols = x, whole("ncols", ncols, minimum=1)
        self.history = History()  #: what :meth:`log` and the epoch values record into
        self.panels: dict[str, ScalarPanel] = {}
        self.group = f"livetrain-scalars-{make_id()}"
        self._pending: dict[str, Any] = {}  # tag -> the history whose trace has new points
        self._traced: set[str] = set()  # tags another history's on_log brings (train_loop's per-batch traces)
        self._epochs: dict[str, int] = {}  # phase -> epoch values drawn so far
        self.graph: Model | None = None
        super().__init__(interval)
        self.build_layout(() if phases is None else names("phases", phases))

    def build_layout(self, phases: tuple[str, ...]) -> None:
        """Set the phases whose epoch values are drawn; the layout (controls above rows of panels) is made once."""
        self.phases = phases
        if self.graph is None:
            controls, self._sync = scalar_controls(self.group, self._options["smoothing"])
            self.graph = column(controls)
            self.graph.js_on_change("children", self._sync)
            self.figures: list = []

    def _shows(self, phase: str) -> bool:
        return not self.phases or super()._shows(phase)

    def log(self, metrics: Mapping[str, Any], step: int | None = None) -> int | None:
        """Record ``metrics`` at ``step`` (default: one past the last) in :attr:`history` and draw them; the step
        used. A value that is not a number is not recorded: one warning names it, the loop goes on."""
        try:
            step = self.history.log(metrics, step)
        except (TypeError, ValueError) as exc:
            self._warn_once(f"log:{exc}", f"{exc}; nothing was logged at this call")
            return None
        self.on_log(step, metrics, self.history)
        return step

    def on_log(self, step: int, logs: Mapping[str, Any], history: History) -> None:
        if history is not self.history:
            self._traced.update(logs)
        for tag in logs:  # O(1) per tag, and no lock (a push in progress never holds up training): the values are
            if self.tags is None or tag in self.tags:  # read when the throttle applies them
                self._pending[tag] = history
        self._request()

    def on_train_begin(self, history: History) -> None:
        with self.throttle.lock:  # a resumed run shows what it logged so far
            for tag in getattr(history, "steps", {}):
                if self.tags is None or tag in self.tags:
                    self._pending[tag] = history
        for phase in history:
            self._epoch_values(phase, history)
        super().on_train_begin(history)

    def on_epoch_end(self, epoch: int, phase: str, history: Mapping[str, Mapping[str, list]]) -> None:
        if self._shows(phase) and self._epoch_values(phase, history):
            self._request()

    def _epoch_values(self, phase: str, history: Mapping[str, Mapping[str, list]]) -> bool:
        """Log the epoch values of ``phase`` not drawn yet as tags ``phase/key``; whether there were any."""
        series = self._series(phase, history)
        if series is None:
            return False
        done, total = self._epochs.get(phase, 0), max((len(v) for v in series.values()), default=0)
        scalars = {k: v for k, v in series.items() if v and is_scalar(v[-1])}  # not image batches, not counts
        for e in range(done, total):
            logged = {f"{phase}/{k}": v[e] for k, v in scalars.items() if e < len(v) and is_scalar(v[e])
                      and f"{phase}/{k}" not in self._traced}  # train_loop's own per-batch trace is drawn
            logged = {t: v for t, v in logged.items() if self.tags is None or t in self.tags}
            if logged:
                self.history.log(logged, e + 1, epoch=float(e + 1))
                with self.throttle.lock:
                    self._pending.update(dict.fromkeys(logged, self.history))
        self._epochs[phase] = total
        return total > done

    def apply_pending(self) -> None:
        pending = {tag: self._pending.pop(tag) for tag in list(self._pending)}  # one logged meanwhile stays
        for tag, history in pending.items():
            panel = self.panels.get(tag)
            if panel is None:  # filled before it joins the layout: the page gets it whole, in one change
                panel = self.panels[tag] = ScalarPanel([tag], tag, group=self.group, warn=self._warn_once,
                                                       **self._options)
                if panel.update(history) or not panel.skipped:
                    panel.apply()
                    self._place(panel)
            elif panel.update(history):
                panel.apply()

    def _place(self, panel: ScalarPanel) -> None:
        """Add ``panel`` to the layout: to the last row, or a new one."""
        self.figures.append(panel.figure)
        rows = self.graph.children
        if len(rows) > 1 and len(rows[-1].children) < self.ncols:  # BokehJS cannot add to a GridBox it shows
            rows[-1].children = [*rows[-1].children, panel.figure]
        else:
            line = row(panel.figure)
            line.js_on_change("children", self._sync)
            self.graph.children = [*rows, line]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(x={self.x!r}, tags={list(self.panels)})"

    @classmethod
    def from_history(cls, history: History, keys: Sequence[str] | None = None,
                     phases: Sequence[str] | None = None, **options: Any) -> ScalarsView:
        """Panels of a saved ``history``'s step-level traces (``keys``: the tags, default all) drawn at once, and of
        the epoch values of ``phases`` (default: all) as they are fed.

        Example:
            >>> h = ScalarsView.demo_history(); view = ScalarsView.from_history(h); list(view.panels)[:1]
            ['train/batch_loss']
        """
        view = cls(keys, phases=tuple(phases or history), **options)
        view.history = history
        for tag in history.steps:
            if keys is None or tag in keys:
                view._pending[tag] = history
        with view.throttle.lock:
            view.apply_pending()
        return view

    @classmethod
    def demo_history(cls, epochs: int = 3, phases: Sequence[str] = ("train", "test")) -> History:
        """The line view's demo epochs, and a noisy falling batch loss logged at every step (50 per epoch).

        Example:
            >>> len(ScalarsView.demo_history(2).steps["train/batch_loss"])
            100
        """
        history = History(LinePlotsCallback.demo_history(epochs, phases))
        rng = np.random.default_rng(0)
        for step in range(50 * epochs):
            history.log({"train/batch_loss": 1 / (1 + step / 50) + 0.05 * float(rng.standard_normal())}, step,
                        wall=1e9 + step, epoch=step / 50)
        return history


def is_scalar(value: Any) -> bool:
    """Whether ``value`` is one number (Python, numpy, a 0-d tensor), as ``History.log`` takes.

    Example:
        >>> is_scalar(0.5), is_scalar({"counts": [1], "edges": [0, 1]}), is_scalar([0.5])
        (True, False, False)
    """
    if type(value) is float:  # the common case, checked inline: adapters ask it of every value of every step
        return True
    try:
        check_number("", value)
    except TypeError:
        return False
    return not isinstance(value, (list, tuple))


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)  # NaN is NaN


def _warn(topic: str, message: str) -> None:
    warnings.warn(f"livetrain: {message}", RuntimeWarning, stacklevel=3)
