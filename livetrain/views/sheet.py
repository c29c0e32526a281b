"""``PredictionSheetCallback``: a grid of images with their predicted label, its probability and the true label,
green when right and red when wrong (seed 001's "accuracy test sheet", seed 004's ``plot_classes_preds``)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from bokeh.layouts import gridplot
from bokeh.models import ColumnDataSource, Range1d
from bokeh.plotting import figure

from ..core.checks import names
from ..core.history import History
from ..core.images import Colormap, colormap, scaling, shrink, to_batch, to_rgba_u32
from ..core.metrics import to_numpy
from .base import LatestEpochView, Series, saved_keys

RIGHT, WRONG = "#2ca02c", "#d62728"
_BLANK = np.zeros((1, 1), np.uint32)
_CAPTION = 30  # CSS pixels above each image for its two caption lines
_Sheet = tuple[np.ndarray, tuple[int, int, int, int], list[str], list[str]]  # picture, cell, captions, colours


class PredictionSheetCallback(LatestEpochView):
    """A live prediction sheet per phase: ``rows`` × ``cols`` images, each captioned ``"<predicted>, <p>%"`` over
    ``"(label: <true>)"``, green when the prediction is right and red when it is wrong.

    Fed per epoch from three history keys (``keys``), the epoch's value of each being:

    - ``images``: a batch, ``(N, C, H, W)``, ``(N, H, W, C)`` or ``(N, H, W)`` (see :mod:`livetrain.core.images`);
    - ``y_true``: the ``N`` true class indices;
    - ``y_score``: ``(N, classes)`` probabilities (rows of values in 0..1 that sum to 1), or logits (anything else:
      a softmax makes them probabilities), or ``N`` predicted class indices (then no probability is shown).

    The keys are those :class:`~livetrain.PRCurvesCallback` and :class:`~livetrain.ConfusionMatrixCallback` read, so
    one logged batch of predictions feeds all three.

    One update is one picture (the images, upright RGBA, one binary buffer, at most ``cell`` pixels per image's
    longer side: larger images are shrunk by block averages) and one patch of the captions' texts and colours.

    Args:
        keys: the history keys of the images, the true classes and the scores.
        phases: the phases to show (``train_loop``'s phases when not given).
        rows, cols: the grid; the first ``rows * cols`` images (after sorting) are shown.
        class_names: the name of each class index (default: the index).
        sort: ``None`` (as given) or ``"worst"``: the lowest probability of the true class first (with predicted
            classes only: the wrong ones first).
        cmap, normalize, value_range: how single-channel images are coloured and scaled (as in
            :class:`~livetrain.ImagePlotsCallback`; seed 001 uses ``cmap="binary"``, white digits on black is
            ``"gray"``).
        cell: the pixels of each image's longer side on screen.
        interval: the minimum time between two pushes, in seconds.

    Example:
        >>> cb = PredictionSheetCallback(phases=("test",), rows=1, cols=2, class_names=["cat", "dog"])
        >>> cb.on_epoch_end(0, "test", {"test": {"images": [np.zeros((2, 8, 8))], "y_true": [np.array([0, 1])],
        ...                                      "y_score": [np.array([[0.9, 0.1], [0.7, 0.3]])]}})
        >>> cb.flush(); cb.captions["test"].data["text"]
        ['cat, 90%\\n(label: cat)', 'cat, 70%\\n(label: dog)']
    """

    def __init__(self, keys: Sequence[str] = ("images", "y_true", "y_score"), phases: Sequence[str] = ("test",), *,
                 rows: int = 10, cols: int = 10, class_names: Sequence[str] | None = None, sort: str | None = None,
                 cmap: Colormap = "gray", normalize: bool = False, value_range: tuple[float, float] | None = None,
                 cell: int = 48, interval: float = 0.1) -> None:
        self.keys = names("keys", keys)
        if len(self.keys) != 3:
            raise ValueError(f"keys must name the images, the true classes and the scores; got {self.keys}")
        if sort not in (None, "worst"):
            raise ValueError(f"sort must be None or 'worst'; got {sort!r}")
        if not all(isinstance(v, int) and v >= 1 for v in (rows, cols, cell)):
            raise ValueError(f"rows, cols and cell must be ints >= 1; got {rows!r}, {cols!r}, {cell!r}")
        self.normalize, self.value_range, _ = scaling(normalize, value_range)
        self.rows, self.cols, self.cell, self.sort, self.lut = rows, cols, cell, sort, colormap(cmap)
        self.class_names = None if class_names is None else [str(n) for n in class_names]
        super().__init__(interval)
        self.build_layout(names("phases", phases))

    def build_layout(self, phases: tuple[str, ...]) -> None:
        self.phases = phases
        n = self.rows * self.cols
        self.pictures = {p: ColumnDataSource({"image": [_BLANK]}, name=f"livetrain:sheet:{p}:image") for p in phases}
        self.captions = {p: ColumnDataSource({"x": np.zeros(n), "y": np.zeros(n), "text": [""] * n,
                                              "color": [RIGHT] * n}, name=f"livetrain:sheet:{p}:captions")
                         for p in phases}
        self.figures = {p: self._figure(p) for p in phases}
        self.graph = gridplot(list(self.figures.values()), ncols=len(phases), toolbar_location=None)

    def _figure(self, phase: str) -> figure:
        p = figure(title=f"Predictions ({phase})", frame_width=self.cols * self.cell,
                   frame_height=self.rows * (self.cell + _CAPTION), x_range=Range1d(0, 1), y_range=Range1d(0, 1),
                   tools="", toolbar_location=None, min_border=4)
        p.axis.visible = False
        p.grid.visible = False
        p.image_rgba(image="image", x=0, y=0, dw=1, dh=1, source=self.pictures[phase])
        p.text(x="x", y="y", text="text", text_color="color", source=self.captions[phase], text_align="center",
               text_baseline="middle", text_font_size="10px")
        return p

    def _record(self, phase: str, history: Series) -> bool:
        series = self._series(phase, history)
        if series is None:
            return False
        missing = [k for k in self.keys if not len(series.get(k, ()))]
        if len(missing) == len(self.keys):
            return False
        if missing:
            raise KeyError(f"history[{phase!r}] has no {missing}; it has {list(series)}. "
                           f"Pass keys=(images, y_true, y_score) to {type(self).__name__}")
        try:
            sheet = self._sheet(*(series[k][-1] for k in self.keys))
        except ValueError as exc:
            raise ValueError(f"{type(self).__name__}, history[{phase!r}] keys {list(self.keys)}: {exc}") from None
        with self.throttle.lock:
            self._latest[phase] = sheet
        return True

    def _sheet(self, images: Any, y_true: Any, y_score: Any) -> _Sheet:
        """The picture, its cell's geometry, the captions and their colours of one batch."""
        true = np.asarray(to_numpy(y_true)).reshape(-1)
        score = np.asarray(to_numpy(y_score), dtype=np.float64)
        if true.dtype.kind not in "iu" and not (true.dtype.kind == "f" and np.all(true == np.round(true))):
            raise ValueError(f"y_true must hold class indices; got {true.dtype} values")
        true = true.astype(np.int64)
        if score.ndim == 2:
            if not (np.all((score >= 0) & (score <= 1)) and np.allclose(score.sum(axis=1), 1, atol=1e-3)):
                score = np.exp(score - score.max(axis=1, keepdims=True))  # logits: softmax
                score /= score.sum(axis=1, keepdims=True)
            if len(true) and (true.min() < 0 or true.max() >= score.shape[1]):
                raise ValueError(f"y_true holds classes {true.min()}..{true.max()}; y_score has {score.shape[1]}")
            pred = score.argmax(axis=1)
            prob, sure = score[np.arange(len(pred)), pred], score[np.arange(len(true)), true]
        elif score.ndim == 1:
            pred, prob, sure = score.astype(np.int64), np.full(len(score), np.nan), -(score != true).astype(float)
        else:
            raise ValueError(f"y_score must be (N, classes) scores or N predicted classes; got shape {score.shape}")
        count = len(true)
        if len(pred) != count or np.shape(to_numpy(images))[0] != count:
            raise ValueError(f"expected one image, true class and score per sample; got "
                             f"{np.shape(to_numpy(images))[0]} images, {count} true classes, {len(pred)} scores")
        order = np.argsort(sure, kind="stable") if self.sort == "worst" else np.arange(count)
        order = order[:self.rows * self.cols]
        batch = to_batch(np.asarray(to_numpy(images))[order], normalize=self.normalize, value_range=self.value_range)
        texts = [f"{self._name(pred[i])}" + ("" if math.isnan(prob[i]) else f", {100 * prob[i]:.0f}%")
                 + f"\n(label: {self._name(true[i])})" for i in order]
        colors = [RIGHT if pred[i] == true[i] else WRONG for i in order]
        return (*self._picture(batch), texts, colors)

    def _name(self, index: int) -> str:
        names = self.class_names
        return names[index] if names is not None and 0 <= index < len(names) else str(index)

    def _picture(self, batch: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        """The batch tiled ``cols`` per row, upright for ``image_rgba``, with room for a caption above each image
        and transparent gaps, and a cell's ``(h, w, caption, gap)`` in pixels of the picture; the images are shrunk
        first so that each has at most ``cell`` pixels a side."""
        batch = shrink(batch, math.ceil(max(batch.shape[1:3]) / self.cell))  # block averages
        n, h, w, c = batch.shape
        scale = self.cell / max(h, w)  # screen pixels per picture pixel
        pad, cap = max(1, round(4 / scale)), math.ceil(_CAPTION / scale)
        colored = to_rgba_u32(batch.reshape(n * h, w, c), self.lut)[::-1].reshape(n, h, w)  # top row first
        tall, wide = cap + h + pad, w + pad  # a cell, top down: caption, image, gap; the gap on its left
        cells = np.zeros((self.rows * self.cols, tall, wide), np.uint32)
        cells[:n, cap:cap + h, pad:] = colored
        picture = np.zeros((self.rows * tall, self.cols * wide + pad), np.uint32)
        picture[:, :-pad] = cells.reshape(self.rows, self.cols, tall, wide).transpose(0, 2, 1, 3).reshape(
            self.rows * tall, self.cols * wide)
        return picture[::-1].copy(), (h, w, cap, pad)

    def _draw(self, phase: str, sheet: _Sheet) -> None:
        picture, cell, texts, colors = sheet
        fig, source = self.figures[phase], self.captions[phase]
        glyph = fig.renderers[0].glyph
        ph, pw = picture.shape
        if (glyph.dw, glyph.dh) != (pw, ph):  # a new image size: refit the figure and place the captions, once
            h, w, cap, pad = cell
            scale = self.cell / max(h, w)
            fig.update(frame_width=round(pw * scale), frame_height=round(ph * scale))
            fig.x_range.update(start=0, end=pw, reset_start=0, reset_end=pw)
            fig.y_range.update(start=0, end=ph, reset_start=0, reset_end=ph)
            cells = np.arange(self.rows * self.cols)
            source.data.update(x=(cells % self.cols) * (w + pad) + pad + w / 2,
                               y=ph - (cells // self.cols) * (h + cap + pad) - cap / 2)
            glyph.update(dw=pw, dh=ph)  # last: a refit cut short by an interrupt is done again
        n, blank = len(texts), self.rows * self.cols - len(texts)
        self.pictures[phase].patch({"image": [(0, picture)]})
        source.patch({"text": [(slice(0, n + blank), texts + [""] * blank)],
                      "color": [(slice(0, n + blank), colors + [RIGHT] * blank)]})

    @classmethod
    def from_history(cls, history: History, keys: Sequence[str] | None = None,
                     phases: Sequence[str] | None = None, **options: Any) -> PredictionSheetCallback:
        """A sheet of a saved ``history``: ``keys`` (default: ``images``, ``y_true``, ``y_score``) of ``phases``
        (default: all); ``options`` such as ``class_names`` or ``sort`` go to the constructor.

        Example:
            >>> PredictionSheetCallback.from_history(PredictionSheetCallback.demo_history(), sort="worst").phases
            ('train', 'test')
        """
        _, keys, phases = saved_keys(history, keys, phases, lambda _: ("images", "y_true", "y_score"), "sheet")
        return cls(keys, phases, **options)

    @classmethod
    def demo_history(cls, epochs: int = 3, phases: Sequence[str] = ("train", "test")) -> History:
        """The predictions of :meth:`PRCurvesCallback.demo_history` (300 samples, ten classes) with an 8×8 image per
        sample: a bar at its class's position, plus noise.

        Example:
            >>> PredictionSheetCallback.demo_history(1, ("test",))["test"]["images"][0].shape
            (300, 8, 8)
        """
        from .prcurves import PRCurvesCallback

        history = PRCurvesCallback.demo_history(epochs, phases)
        for i, phase in enumerate(phases):
            labels = history[phase]["y_true"][0]
            glyphs = np.zeros((10, 8, 8))
            for c in range(10):
                glyphs[c, 1 + c % 6 : 3 + c % 6, 1:7] = 1.0  # a horizontal bar, lower for higher classes
                glyphs[c, 1:7, 1 + c // 2] = 1.0
            images = np.clip(glyphs[labels] * 0.8 + 0.2 * np.random.default_rng(10 + i).random((len(labels), 8, 8)),
                             0, 1)
            history[phase]["images"] = [images for _ in range(epochs)]
        return history

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(keys={list(self.keys)}, grid={self.rows}x{self.cols}, "
                f"phases={list(self.phases)})")
