"""``ConfusionMatrixCallback``: each phase's confusion matrix as a heatmap with the counts in the cells, in place."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from bokeh.core.property.vectorization import field
from bokeh.layouts import gridplot
from bokeh.models import ColumnDataSource, FactorRange, HoverTool
from bokeh.palettes import Blues256
from bokeh.plotting import figure

from ..core.checks import names, whole
from ..core.classmetrics import class_names, confusion_matrix
from ..core.history import History
from ..core.images import Colormap, colormap
from ..core.metrics import to_numpy
from .base import LatestEpochView, Series, saved_keys
from .prcurves import PRCurvesCallback

BLUES = Blues256[::-1]  #: the default colour map: white to dark blue


def packed(rgba: np.ndarray) -> np.ndarray:
    """``(n, 4)`` uint8 RGBA colours as the uint32 ``0xRRGGBBAA`` a Bokeh colour column takes (a binary buffer).

    Example:
        >>> hex(packed(np.array([[255, 0, 16, 255]], np.uint8))[0])
        '0xff0010ff'
    """
    c = rgba.astype(np.uint32)
    return (c[:, 0] << 24) | (c[:, 1] << 16) | (c[:, 2] << 8) | c[:, 3]


class ConfusionMatrixCallback(LatestEpochView):
    """Live confusion matrices: per phase a heatmap, true classes down (the first at the top), predicted classes
    across, each cell's count written in it (with ``normalize="row"``, its share of the true class, 2 decimals,
    and the colours follow the shares). Hover shows the classes, the count and the share; the title the accuracy.

    Fed from the history, at each epoch's end: with two ``keys`` (the default), ``history[phase][keys[0]][-1]``
    holds the true classes ``(N,)`` and ``history[phase][keys[1]][-1]`` the predictions, class indices ``(N,)`` or
    scores ``(N, K)`` (their argmax; the scores :class:`~livetrain.PRCurvesCallback` reads serve both views); with
    one key, ``history[phase][key][-1]`` is a ``(K, K)`` matrix of counts (rows: true class). Each update replaces
    the cells' counts, shares and colours in place: K² numbers as binary buffers, whatever the epoch.

    Args:
        classes: their number, or their names.
        keys: two history keys (true classes, predictions) or one (confusion matrices).
        phases: one figure each; ``train_loop``'s phases replace them before the plot is shown.
        normalize: ``None`` (counts) or ``"row"`` (each true class's shares).
        cmap: the colour map from 0 to the largest count (or share 1), see
            :func:`livetrain.core.images.colormap`; the default is white to dark blue.
        title: per figure, a ``str.format`` template whose only field is ``{phase}``.
        size: the side of each figure's square frame, in pixels.

    Example:
        >>> cb = ConfusionMatrixCallback(classes=["cat", "dog"], phases=("test",))
        >>> cb.on_epoch_end(0, "test", {"test": {"y_true": [[0, 1, 1]], "y_score": [[[.8, .2], [.6, .4], [.3, .7]]]}})
        >>> cb.flush(); cb.sources["test"].data["count"].tolist()
        [1, 0, 1, 1]
    """

    def __init__(self, classes: int | Sequence[str] = 10, keys: Sequence[str] = ("y_true", "y_score"),
                 phases: Sequence[str] = ("train", "test"), *, normalize: str | None = None,
                 cmap: Colormap = BLUES, title: str = "Confusion matrix ({phase})", size: int = 300,
                 interval: float = 0.1) -> None:
        self.classes = class_names(classes)
        self.keys = names("keys", keys)
        if len(self.keys) not in (1, 2):
            raise ValueError(f"keys must name one history key (confusion matrices) or two (true classes, "
                             f"predictions); got {keys!r}")
        if normalize not in (None, "row"):
            raise ValueError(f"normalize must be None or 'row', got {normalize!r}")
        try:
            title.format(phase="train")
        except (KeyError, IndexError, AttributeError, ValueError) as exc:
            raise ValueError(f"title must be a str.format template whose only field is {{phase}}; got {title!r} "
                             f"({type(exc).__name__}: {exc})") from None
        self.normalize, self.title, self.size = normalize, title, whole("size", size, 1)
        lut = colormap(cmap)
        self._fills = packed(lut)
        dark = lut[:, :3].astype(np.float64) @ [0.299, 0.587, 0.114] < 140
        self._inks = np.where(dark, np.uint32(0xFFFFFFFF), np.uint32(0x222222FF))
        self.text = "label" if normalize else "count"  #: the column written in the cells
        super().__init__(interval)
        self.build_layout(names("phases", phases))

    def build_layout(self, phases: tuple[str, ...]) -> None:
        self.phases = phases
        k = len(self.classes)
        cells = {"true": [c for c in self.classes for _ in range(k)], "pred": list(self.classes) * k}
        self.sources = {p: ColumnDataSource({**cells, **self._columns(np.zeros((k, k), np.int64))},
                                            name=f"livetrain:confusion:{p}") for p in phases}
        self.figures = [self._figure(p) for p in phases]
        self.graph = gridplot(self.figures, ncols=len(self.figures), toolbar_location="above",
                              toolbar_options={"logo": None})

    def _figure(self, phase: str) -> figure:
        k = len(self.classes)
        p = figure(title=self.title.format(phase=phase), frame_width=self.size, frame_height=self.size,
                   x_range=FactorRange(*self.classes), y_range=FactorRange(*self.classes[::-1]),
                   tools="save,reset", x_axis_label="Predicted", y_axis_label="True", min_border=4)
        p.grid.visible = False
        p.axis.major_tick_line_color = None
        if max(map(len, self.classes)) > 3:
            p.xaxis.major_label_orientation = math.pi / 4
        cells = p.rect("pred", "true", width=1, height=1, source=self.sources[phase], fill_color=field("fill"),
                       line_color="white")
        p.text("pred", "true", text=field(self.text), source=self.sources[phase], text_color=field("ink"),
               text_align="center", text_baseline="middle",
               text_font_size=f"{max(7, min(14, round(0.3 * self.size / k)))}px")
        tips = [("true", "@true"), ("predicted", "@pred"), ("count", "@count"), ("of the true class", "@share{0.0%}")]
        p.add_tools(HoverTool(renderers=[cells], tooltips=tips))
        return p

    def _columns(self, cm: np.ndarray) -> dict[str, np.ndarray]:
        """The cells' changing columns for the counts ``cm``, row by row."""
        rows = cm.sum(axis=1, keepdims=True)
        share = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows != 0).ravel()
        level = share if self.normalize else cm.ravel() / max(1, cm.max())
        index = np.minimum((level * 256).astype(np.int64), 255)
        columns = {"count": cm.ravel().astype(np.int32), "share": share, "fill": self._fills[index],
                   "ink": self._inks[index]}
        if self.normalize:
            columns["label"] = share.round(2)
        return columns

    def _record(self, phase: str, history: Series) -> bool:
        """Count the phase's latest predictions (outside the lock), then record the cells; whether there were any."""
        latest = self._latest_values(phase, history)
        if latest is None:
            return False
        k, where = len(self.classes), f"history[{phase!r}][{'] and ['.join(map(repr, self.keys))}][-1]"
        try:
            cm = confusion_matrix(*latest, k) if len(latest) == 2 else np.asarray(to_numpy(latest[0]))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if cm.shape != (k, k) or cm.dtype.kind not in "biuf" or not np.isfinite(cm).all() or (cm < 0).any():
            raise ValueError(f"{where}: expected a ({k}, {k}) matrix of counts >= 0, got {cm.dtype} values of "
                             f"shape {cm.shape}; pass classes= to {type(self).__name__}")
        columns = self._columns(cm)
        accuracy = float(np.trace(cm) / cm.sum()) if cm.sum() else math.nan
        with self.throttle.lock:
            self._latest[phase] = (columns, accuracy)
        return True

    def _draw(self, phase: str, latest: tuple[dict[str, np.ndarray], float]) -> None:
        columns, accuracy = latest
        self.sources[phase].data.update(columns)
        title = self.figures[self.phases.index(phase)].title
        title.text = f"{self.title.format(phase=phase)} · accuracy {accuracy:.3f}"

    @classmethod
    def from_history(cls, history: History, keys: Sequence[str] | None = None,
                     phases: Sequence[str] | None = None, **options: Any) -> ConfusionMatrixCallback:
        """Confusion matrices of a saved ``history``: ``keys`` (default ``y_true`` and ``y_score``) of ``phases``
        (default: all), as many classes as the scores (or matrices) have columns, or the largest class index seen.

        Example:
            >>> ConfusionMatrixCallback.from_history(ConfusionMatrixCallback.demo_history()).classes[-1]
            '9'
        """
        first, keys, phases = saved_keys(history, keys, phases, lambda _: ("y_true", "y_score"), "confusion")
        latest = [next((v for v in first[k] if v is not None), None) for k in keys]
        if "classes" not in options and all(v is not None for v in latest):
            shape = np.shape(to_numpy(latest[-1]))
            options["classes"] = int(shape[-1]) if len(shape) == 2 else \
                int(max(np.max(to_numpy(v)) for v in latest)) + 1
        return cls(keys=keys, phases=phases, **options)

    @classmethod
    def demo_history(cls, epochs: int = 3, phases: Sequence[str] = ("train", "test")) -> History:
        """The made-up predictions of :meth:`PRCurvesCallback.demo_history`: a dashboard of both views agrees.

        Example:
            >>> sorted(ConfusionMatrixCallback.demo_history(1, ("test",))["test"])
            ['y_score', 'y_true']
        """
        return PRCurvesCallback.demo_history(epochs, phases)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(classes={len(self.classes)}, keys={list(self.keys)}, "
                f"normalize={self.normalize!r}, phases={list(self.phases)})")
