"""``PRCurvesCallback``: per-class precision-recall curves of each phase, replaced in place every epoch; and
``PRCurvePanel``, the board's panel for :meth:`livetrain.SummaryWriter.add_pr_curve` records."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from bokeh.core.property.vectorization import value
from bokeh.layouts import gridplot
from bokeh.models import ColumnDataSource, HoverTool, Legend, LegendItem, Range1d
from bokeh.palettes import Category10_10, Category20_20, turbo
from bokeh.plotting import figure

from ..core.checks import names, whole
from ..core.classmetrics import class_names, class_pr_curves, step_points
from ..core.history import History
from .base import LatestEpochView, Series, saved_keys

_EMPTY = np.zeros(0, np.float32)
_TOOLS = "pan,wheel_zoom,box_zoom,reset,save"
_Curves = tuple[list[tuple[np.ndarray, np.ndarray]], list[float]]  # each class's (recall, precision) points, its AP


def _plot(title: str, size: int) -> figure:
    """A square precision-recall figure: recall on x, precision on y, both 0..1."""
    p = figure(title=title, frame_width=size, frame_height=size, x_range=Range1d(0, 1.02), y_range=Range1d(0, 1.02),
               tools=_TOOLS, x_axis_label="Recall", y_axis_label="Precision", min_border=4)
    p.add_tools(HoverTool(tooltips=[("class", "$name"), ("recall", "@recall{0.000}"),
                                    ("precision", "@precision{0.000}")]))
    return p


def _colors(n: int) -> list[str]:
    return list(Category10_10[:n] if n <= 10 else Category20_20[:n] if n <= 20 else turbo(n))


class PRCurvesCallback(LatestEpochView):
    """Live precision-recall curves: per phase one figure, one curve per class (one class against the rest), the
    average precision (AP) in the legend (click an entry to hide its curve) and their mean in the title.

    Fed from two history keys: ``history[phase][keys[0]][-1]`` holds the true classes, ``(N,)`` indices in
    ``0..K-1``; ``history[phase][keys[1]][-1]`` the scores, ``(N, K)`` (softmax probabilities, or any scores): numpy,
    torch or JAX. Curves and APs are scikit-learn's (:mod:`livetrain.core.classmetrics`), computed when the epoch
    ends; each update replaces every curve's points in place (at most ``points`` float32 vertices a curve, as
    binary buffers), so its size does not grow with the epochs. A phase that lacks the keys (or whose value is
    ``None``) is skipped.

    Args:
        classes: their number, or their names (the legend's labels).
        keys: the history keys of the true classes and of the scores.
        phases: one figure each; ``train_loop``'s phases replace them before the plot is shown.
        points: the most vertices drawn per curve (longer curves are averaged over even recall bins; the area,
            the AP, is kept).
        title: per figure, a ``str.format`` template whose only field is ``{phase}``.
        size: the side of each figure's square frame, in pixels.

    Example:
        >>> cb = PRCurvesCallback(classes=2, phases=("test",))
        >>> h = {"test": {"y_true": [np.array([0, 1, 1])], "y_score": [np.array([[.8, .2], [.3, .7], [.6, .4]])]}}
        >>> cb.on_epoch_end(0, "test", h); cb.flush()
        >>> cb.legends["test"].items[1].label.value
        '1 (AP 1.000)'
    """

    def __init__(self, classes: int | Sequence[str] = 10, keys: Sequence[str] = ("y_true", "y_score"),
                 phases: Sequence[str] = ("train", "test"), *, points: int = 128,
                 title: str = "Precision-recall ({phase})", size: int = 300, interval: float = 0.1) -> None:
        self.classes = class_names(classes)
        self.keys = names("keys", keys)
        if len(self.keys) != 2:
            raise ValueError(f"keys must name two history keys, the true classes' and the scores'; got {keys!r}")
        self.points, self.size = whole("points", points, 5), whole("size", size, 1)
        try:
            title.format(phase="train")
        except (KeyError, IndexError, AttributeError, ValueError) as exc:
            raise ValueError(f"title must be a str.format template whose only field is {{phase}}; got {title!r} "
                             f"({type(exc).__name__}: {exc})") from None
        self.title = title
        super().__init__(interval)
        self.build_layout(names("phases", phases))

    def build_layout(self, phases: tuple[str, ...]) -> None:
        self.phases = phases
        self.sources = {p: [ColumnDataSource({"recall": _EMPTY, "precision": _EMPTY},
                                             name=f"livetrain:prcurves:{p}:{i}") for i in range(len(self.classes))]
                        for p in phases}
        self.legends: dict[str, Legend] = {}
        self.figures = [self._figure(p) for p in phases]
        self.graph = gridplot(self.figures, ncols=len(self.figures), toolbar_location="above",
                              toolbar_options={"logo": None})

    def _figure(self, phase: str) -> figure:
        p = _plot(self.title.format(phase=phase), self.size)
        items = []
        for name, color, source in zip(self.classes, _colors(len(self.classes)), self.sources[phase]):
            line = p.line("recall", "precision", source=source, color=color, line_width=2, name=name)
            items.append(LegendItem(label=value(name), renderers=[line]))
        self.legends[phase] = legend = Legend(items=items, click_policy="hide", border_line_alpha=0, margin=4,
                                              padding=0, spacing=0, label_text_font_size="11px", glyph_height=16)
        p.add_layout(legend, "right")
        return p

    def _record(self, phase: str, history: Series) -> bool:
        """Compute the phase's curves from its latest values (outside the lock), then record them; whether there
        were any."""
        latest = self._latest_values(phase, history)
        if latest is None:
            return False
        labels, scores = latest
        try:
            curves = class_pr_curves(labels, scores)
        except ValueError as exc:
            raise ValueError(f"history[{phase!r}][{self.keys[0]!r}] and [{self.keys[1]!r}]: {exc}") from None
        if len(curves) != len(self.classes):
            raise ValueError(f"history[{phase!r}][{self.keys[1]!r}][-1]: expected scores for {len(self.classes)} "
                             f"classes, got {len(curves)} columns; pass classes= to {type(self).__name__}")
        drawn = ([step_points(c, self.points) for c in curves], [c.ap for c in curves])
        with self.throttle.lock:
            self._latest[phase] = drawn
        return True

    def _draw(self, phase: str, latest: _Curves) -> None:
        points, aps = latest
        for source, (x, y) in zip(self.sources[phase], points):
            source.data.update(recall=x, precision=y)
        for item, name, ap in zip(self.legends[phase].items, self.classes, aps):
            item.label = value(f"{name} (AP {ap:.3f})")
        self.figures[self.phases.index(phase)].title.text = f"{self.title.format(phase=phase)} · mAP {np.mean(aps):.3f}"

    @classmethod
    def from_history(cls, history: History, keys: Sequence[str] | None = None,
                     phases: Sequence[str] | None = None, **options: Any) -> PRCurvesCallback:
        """PR curves of a saved ``history``: ``keys`` (default ``y_true`` and ``y_score``) of ``phases`` (default:
        all), as many classes as the scores have columns.

        Example:
            >>> PRCurvesCallback.from_history(PRCurvesCallback.demo_history()).classes[:3]
            ('0', '1', '2')
        """
        first, keys, phases = saved_keys(history, keys, phases, lambda _: ("y_true", "y_score"), "PR curves")
        scores = next((s for s in first[keys[-1]] if s is not None), None)
        if "classes" not in options and scores is not None:
            options["classes"] = int(np.shape(scores)[-1])
        return cls(keys=keys, phases=phases, **options)

    @classmethod
    def demo_history(cls, epochs: int = 3, phases: Sequence[str] = ("train", "test")) -> History:
        """Per phase and epoch, 300 samples of ten classes (``y_true``) and softmax scores (``y_score``) that grow
        surer of the true class epoch by epoch.

        Example:
            >>> PRCurvesCallback.demo_history(1, ("test",))["test"]["y_score"][0].shape
            (300, 10)
        """
        history = History()
        for i, phase in enumerate(phases):
            rng = np.random.default_rng(i)
            labels = rng.integers(0, 10, 300)
            history[phase] = {"y_true": [], "y_score": []}
            for e in range(epochs):
                logits = rng.normal(size=(300, 10)) + 3 * (1 - 0.6 ** (e + 1)) * np.eye(10)[labels]
                scores = np.exp(logits)
                history[phase]["y_true"].append(labels)
                history[phase]["y_score"].append(scores / scores.sum(axis=1, keepdims=True))
        return history

    def __repr__(self) -> str:
        return f"{type(self).__name__}(classes={len(self.classes)}, keys={list(self.keys)}, phases={list(self.phases)})"


class PRCurvePanel:
    """A :class:`~livetrain.views.board.Board` panel for one :meth:`~livetrain.SummaryWriter.add_pr_curve` tag: the
    latest step's curve, through the ``(recall, precision)`` points the writer records at its thresholds (as
    TensorBoard draws them; thresholds where nothing is predicted positive are left out), titled with the step.
    Hover shows each point's threshold. Each update replaces the points in place, as binary buffers.

    Example:
        >>> from livetrain import SummaryWriter
        >>> w = SummaryWriter(write_to_disk=False, show=False)
        >>> w.add_pr_curve("cat", np.array([1, 0, 1]), np.array([0.9, 0.2, 0.6]), 3, num_thresholds=5)
        >>> panel = PRCurvePanel("cat"); panel.stage("cat", 3, w.history.records["cat"].entries[-1][2], w.history)
        >>> panel.apply(); panel.root.title.text, panel.source.data["threshold"].tolist()
        ('cat (step 3)', [0.0, 0.25, 0.5, 0.75])
    """

    def __init__(self, tag: str, size: int = 300) -> None:
        self.tag = tag
        self.source = ColumnDataSource({"recall": _EMPTY, "precision": _EMPTY, "threshold": _EMPTY},
                                       name=f"livetrain:board:pr_curve:{tag}")
        self.root = _plot(tag, size)
        self.root.hover.tooltips = [*self.root.hover.tooltips[1:], ("threshold", "@threshold{0.000}")]
        self.root.line("recall", "precision", source=self.source, line_width=2, name=tag)
        self._latest: tuple[int, Mapping[str, Any]] | None = None

    def stage(self, tag: str, step: int, value: Any, history: History) -> None:
        self._latest = (step, value)

    def apply(self) -> None:
        if self._latest is None:
            return
        (step, curve), self._latest = self._latest, None
        tp, fp, precision, recall, thresholds = (np.asarray(curve[k], np.float32) for k in
                                                 ("tp", "fp", "precision", "recall", "thresholds"))
        shown = tp + fp > 0
        self.source.data.update(recall=recall[shown], precision=precision[shown], threshold=thresholds[shown])
        self.root.title.text = f"{self.tag} (step {step})"
