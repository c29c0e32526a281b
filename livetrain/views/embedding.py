"""``EmbeddingCallback``: features projected to 2-D (PCA, t-SNE or UMAP), a point per sample coloured by its class,
its thumbnail and label on hover (seed 004's embedding projector, live); and ``EmbeddingPanel``, one such scatter, which
the board shows for :meth:`livetrain.SummaryWriter.add_embedding` records."""
from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from bokeh.core.property.vectorization import value as fixed
from bokeh.layouts import gridplot
from bokeh.models import CDSView, ColumnDataSource, HoverTool, IndexFilter, Legend, LegendItem
from bokeh.palettes import Category10_10, Category20_20, turbo
from bokeh.plotting import figure

from ..core.checks import names, whole
from ..core.classmetrics import class_names
from ..core.history import History
from ..core.images import to_batch
from ..core.metrics import to_numpy
from ..core.projection import Projection, axis_labels, check_method, features_array, project
from ..core.tfevents import encode_png
from .base import LatestEpochView, LiveView, Series, saved_keys

OTHER = "other"  #: the legend entry of points whose label is none of the classes
_OTHER_COLOR = "#999999"
_TOOLS = "pan,wheel_zoom,box_zoom,reset,save"
# Bokeh (3.4 and later) HTML-escapes every @column value it puts in a tooltip: labels show as text, never as markup.
_TIP = "<div style='font-size: 12px'>@label</div>"
_TIP_IMAGE = ("<div><img src='@thumb' width='56' height='56' alt='' style='image-rendering: pixelated; display: "
              "block; background: #000'><div style='font-size: 12px'>@label</div></div>")


def palette(n: int) -> list[str]:
    """``n`` distinct colours: Category10, Category20, then turbo.

    Example:
        >>> palette(2)
        ['#1f77b4', '#ff7f0e']
    """
    return list(Category10_10[:n] if n <= 10 else Category20_20[:n] if n <= 20 else turbo(n))


def thumbnails(images: Any, size: int = 28) -> list[str]:
    """Each image of a batch (``(N, H, W)``, or 4-D as :func:`~livetrain.core.images.to_batch` takes it; floats
    outside 0..1 stretched per image) as a PNG ``data:`` URL at most ``size`` pixels a side (shrunk by block
    averages); one channel is grey.

    Example:
        >>> thumbnails(np.zeros((2, 1, 56, 56)))[0][:22], len(thumbnails(np.zeros((2, 1, 56, 56))))
        ('data:image/png;base64,', 2)
    """
    raw = np.asarray(to_numpy(images))
    if raw.ndim not in (3, 4):
        raise ValueError(f"images must be (N, H, W), (N, C, H, W) or (N, H, W, C); got shape {raw.shape}")
    raw = raw[:, None] if raw.ndim == 3 else raw  # (N, H, W): grey images, even when N is 3
    stretch = raw.dtype.kind == "f" and raw.size > 0 and bool(np.nanmin(raw) < 0 or np.nanmax(raw) > 1)
    batch = to_batch(raw, normalize=stretch, scale_each=stretch)
    k = math.ceil(max(batch.shape[1:3]) / size)
    if k > 1:
        n, h, w, c = batch.shape
        batch = batch[:, :h // k * k, :w // k * k].reshape(n, h // k, k, w // k, k, c).mean(axis=(2, 4))
    pixels = np.clip(np.rint(batch * 255), 0, 255).astype(np.uint8)
    return ["data:image/png;base64," + base64.b64encode(encode_png(p)).decode("ascii") for p in pixels]


def label_codes(labels: Any, classes: Sequence[str], count: int) -> tuple[np.ndarray, list[str]]:
    """Each point's class index in ``classes`` (``len(classes)`` for any other label) and its label as text: integer
    labels are indices, other labels are matched by name; ``None`` labels none. Metadata with several columns (a row
    per point) is labelled by its first column.

    Example:
        >>> codes, texts = label_codes([1, 0, 7], ("cat", "dog"), 3); codes.tolist(), texts
        ([1, 0, 2], ['dog', 'cat', '7'])
        >>> label_codes(["dog", "emu"], ("cat", "dog"), 2)[0].tolist()
        [1, 2]
    """
    if labels is None:
        return np.full(count, len(classes), np.int64), [""] * count
    array = np.asarray(to_numpy(labels))
    if array.ndim == 2:
        array = array[:, 0]
    if array.ndim != 1 or len(array) != count:
        raise ValueError(f"expected one label per point ({count}); got labels shaped {array.shape}")
    if array.dtype.kind in "iub" or (array.dtype.kind == "f" and np.all(array == np.round(array))):
        index = array.astype(np.int64)
        known = (index >= 0) & (index < len(classes))
        texts = [classes[i] if ok else str(i) for i, ok in zip(index.tolist(), known.tolist())]
        return np.where(known, index, len(classes)), texts
    lookup = {name: i for i, name in enumerate(classes)}
    texts = [str(v.item() if isinstance(v, np.generic) else v) for v in array]
    return np.array([lookup.get(t, len(classes)) for t in texts], np.int64), texts


def found_classes(labels: Any, most: int = 20) -> tuple[str, ...]:
    """The classes of a first batch of labels, for a plot told none: ``0..max`` for integer labels, else the distinct
    labels in order of appearance (the first ``most``; the others are drawn as :data:`OTHER`).

    Example:
        >>> found_classes(["b", "a", "b"]), found_classes(np.array([2, 0]))
        (('b', 'a'), ('0', '1', '2'))
    """
    if labels is None:
        return ()
    array = np.asarray(to_numpy(labels))
    array = array[:, 0] if array.ndim == 2 else array.reshape(-1)
    if array.dtype.kind in "iub" and len(array) and array.min() >= 0:
        return class_names(int(array.max()) + 1)
    _, texts = label_codes(array, (), len(array))
    return tuple(dict.fromkeys(texts))[:most]


class Sample(NamedTuple):
    """What travels when the points change: each point's class index, label and thumbnail (``None``: no images)."""
    codes: np.ndarray
    labels: list[str]
    thumbs: list[str] | None


class Update(NamedTuple):
    """One projection to draw: the points' coordinates, the axes' titles, and the new sample (``None``: the same)."""
    x: np.ndarray
    y: np.ndarray
    titles: tuple[str, str]
    sample: Sample | None


class EmbeddingPanel:
    """One live 2-D scatter of features: a point per sample (the first ``max_points``), a renderer per class (its
    legend entry hides it on click), the thumbnail and label on hover.

    :meth:`prepare` projects features (numpy only, no Bokeh), :meth:`apply` draws the latest; each update sends the
    points' ``x`` and ``y`` (float32 binary buffers) and the axes' titles; labels and thumbnails travel only when the
    sample changes (other labels or images). It follows the board's panel protocol (``root``, ``stage``, ``apply``):
    a :class:`~livetrain.Board` shows ``add_embedding`` records with it.

    Example:
        >>> panel = EmbeddingPanel("features", ("a", "b"))
        >>> panel.stage("features", 0, {"mat": np.eye(4), "metadata": ["a", "b", "a", "b"]}, History())
        >>> panel.apply(); panel.source.data["label"], panel.filters[1].indices
        (['a', 'b', 'a', 'b'], [1, 3])
    """

    def __init__(self, title: str, classes: Sequence[str] | None = None, *, method: str = "pca",
                 max_points: int = 1000, thumb: int = 28, size: int = 300, random_state: int = 0) -> None:
        self.title, self.method = title, check_method(method)
        self.classes = None if classes is None else tuple(classes)
        self.max_points, self.thumb = whole("max_points", max_points, 1), whole("thumb", thumb, 1)
        self.random_state = random_state
        self.source = ColumnDataSource({"x": np.zeros(0, np.float32), "y": np.zeros(0, np.float32), "label": []},
                                       name=f"livetrain:embedding:{title}")
        self.root = figure(title=title, frame_width=size, frame_height=size, tools=_TOOLS, min_border=4,
                           x_axis_label=f"{_method_name(method)} 1", y_axis_label=f"{_method_name(method)} 2")
        self.hover = HoverTool(tooltips=_TIP)
        self.root.add_tools(self.hover)
        self.filters: list[IndexFilter] = []
        self.legend = Legend(items=[], click_policy="hide", border_line_alpha=0, margin=4, padding=0, spacing=0,
                             label_text_font_size="11px", glyph_height=16)
        self.root.add_layout(self.legend, "right")
        if self.classes is not None:
            self._add_classes()
        self._previous: Projection | None = None
        self._seen: tuple[np.ndarray | None, np.ndarray | None] | None = None  # the last sample's labels and images
        self._latest: Update | None = None

    def _add_classes(self) -> None:
        """A scatter renderer and a legend entry per class, and one for :data:`OTHER` (shown when used)."""
        classes = self.classes or ()
        for name, color in zip((*classes, OTHER), (*palette(len(classes)), _OTHER_COLOR)):
            self.filters.append(IndexFilter(indices=[]))
            points = self.root.scatter("x", "y", source=self.source, view=CDSView(filter=self.filters[-1]), size=6,
                                       color=color, alpha=0.8, name=name)
            self.legend.items.append(LegendItem(label=fixed(name), renderers=[points], visible=name is not OTHER))

    def prepare(self, features: Any, labels: Any = None, images: Any = None) -> Update:
        """Project the first ``max_points`` rows of ``features`` (steady with the last call's projection), and, when
        the labels or images differ from the last call's, encode the new sample. A clear error for bad input."""
        x = features_array(_head(features, self.max_points))
        n = len(x)
        labels = None if labels is None else np.asarray(to_numpy(_head(labels, n)))
        images = None if images is None else np.asarray(to_numpy(_head(images, n)))
        if images is not None and len(images) != n:
            raise ValueError(f"expected one image per point ({n}); got {len(images)}")
        if self.classes is None:
            self.classes = found_classes(labels)
        sample = None
        if self._seen is None or not (_same(self._seen[0], labels) and _same(self._seen[1], images)):
            codes, texts = label_codes(labels, self.classes, n)
            sample = Sample(codes, texts, None if images is None else thumbnails(images, self.thumb))
            self._seen = (None if labels is None else labels.copy(), None if images is None else images.copy())
        projection = project(x, self.method, self._previous, self.random_state)
        self._previous = projection
        return Update(projection.points[:, 0].copy(), projection.points[:, 1].copy(), axis_labels(projection),
                      sample)

    def record(self, update: Update) -> None:
        """Keep ``update`` for the next :meth:`apply` (a new sample not applied yet stays with it)."""
        pending = self._latest
        if update.sample is None and pending is not None and pending.sample is not None:
            update = update._replace(sample=pending.sample)
        self._latest = update

    def stage(self, tag: str, step: int, value: Any, history: History | None = None) -> None:
        """Prepare and record ``value``: an ``add_embedding`` record (``mat``, ``metadata``, ``label_img``) or the
        features alone; the title shows ``step``."""
        if isinstance(value, Mapping):
            update = self.prepare(value.get("mat"), value.get("metadata"), value.get("label_img"))
        else:
            update = self.prepare(value)
        self.record(update)
        self.title = f"{tag} (step {step})"

    def apply(self) -> None:
        """Draw the latest recorded update, if any."""
        update, self._latest = self._latest, None
        if update is None:
            return
        if not self.filters:
            self._add_classes()
        sample = update.sample
        if sample is None:
            self.source.data.update(x=update.x, y=update.y)
        else:
            if len(sample.codes) != len(self.source.data["x"]):
                for f in self.filters:  # no index past the new points' count while the data changes
                    f.indices = []
            data = {"x": update.x, "y": update.y, "label": sample.labels}
            if sample.thumbs is not None:
                data["thumb"] = sample.thumbs
            self.source.data = data
            for k, f in enumerate(self.filters):
                f.indices = np.flatnonzero(sample.codes == k).tolist()
            self.legend.items[-1].visible = bool(self.filters[-1].indices)  # the OTHER entry, when used
            tip = _TIP if sample.thumbs is None else _TIP_IMAGE
            if self.hover.tooltips != tip:
                self.hover.tooltips = tip
        self.root.xaxis.axis_label, self.root.yaxis.axis_label = update.titles
        self.root.title.text = self.title


def _head(values: Any, n: int) -> Any:
    """The first ``n`` of ``values`` (an array, tensor or list), without converting the rest."""
    return values[:n] if hasattr(values, "__getitem__") and not isinstance(values, (str, Mapping)) else values


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    return a is b or (a is not None and b is not None and a.shape == b.shape and a.dtype == b.dtype
                      and bool(np.array_equal(a, b)))


def _method_name(method: str) -> str:
    return {"pca": "PC", "tsne": "t-SNE", "umap": "UMAP"}[method]


class EmbeddingCallback(LatestEpochView):
    """A live embedding projector: per phase, the epoch's features projected to 2-D, a point per sample coloured by
    its class (click a legend entry to hide the class), its thumbnail and label on hover.

    Fed two ways:

    - per epoch, from the history: ``history[phase][keys[0]][-1]`` holds the features, ``(N, D)`` (numpy, torch or
      JAX); ``keys[1]`` the true classes, ``(N,)`` (the key :class:`~livetrain.PRCurvesCallback` reads; optional);
      ``keys[2]`` the images, ``(N, ...)`` (optional), shown as thumbnails on hover. One figure per phase.
    - per step, from ``on_log`` (:meth:`livetrain.SummaryWriter.add_embedding`, after ``writer.add_callback(cb)``):
      the records of ``tags``, one figure per tag, titled with the step.

    The projection is PCA (numpy's SVD; the axes say how much of the variance each component explains), or t-SNE
    (scikit-learn) or UMAP (umap-learn) when installed; it stays steady across epochs (PCA keeps its components'
    signs, t-SNE and UMAP start from the last points, with ``random_state``). t-SNE and UMAP take seconds per epoch
    for 1,000 points, in the training loop; PCA a millisecond. Each update sends the points' coordinates (float32
    binary buffers); labels and thumbnails travel once, and again only when the sample changes.

    Args:
        classes: their number, or their names (the legend's labels); other labels are drawn as :data:`OTHER`.
        keys: the history keys of the features, the true classes and the images.
        phases: one figure each; ``train_loop``'s phases replace them before the plot is shown (none: pass ``()``
            with ``tags``).
        tags: step-level embedding tags (``on_log``) to show.
        method: ``"pca"``, ``"tsne"`` or ``"umap"``.
        max_points: the first this many samples are drawn.
        thumb: the pixels of a thumbnail's longer side.
        title: per figure, a ``str.format`` template whose only field is ``{phase}``.
        size: the side of each figure's square frame, in pixels.
        ncols: figures per row.
        random_state: t-SNE's and UMAP's seed.
        interval: the minimum time between two pushes, in seconds.

    Example:
        >>> cb = EmbeddingCallback(classes=["cat", "dog"], phases=("test",))
        >>> h = {"test": {"features": [np.eye(3)], "y_true": [np.array([0, 1, 1])]}}
        >>> cb.on_epoch_end(0, "test", h); cb.flush()
        >>> cb.panels["test"].source.data["label"], cb.panels["test"].root.xaxis.axis_label
        (['cat', 'dog', 'dog'], 'PC1 (50.0%)')
    """

    def __init__(self, classes: int | Sequence[str] = 10, keys: Sequence[str] = ("features", "y_true", "images"),
                 phases: Sequence[str] = ("train", "test"), *, tags: Sequence[str] = (), method: str = "pca",
                 max_points: int = 1000, thumb: int = 28, title: str = "Embedding ({phase})", size: int = 300,
                 ncols: int = 2, random_state: int = 0, interval: float = 0.1) -> None:
        self.classes = class_names(classes)
        self.keys = names("keys", keys)
        if len(self.keys) != 3:
            raise ValueError(f"keys must name the features, the true classes and the images; got {keys!r}")
        self.tags = names("tags", tags) if tags else ()
        try:
            title.format(phase="train")
        except (KeyError, IndexError, AttributeError, ValueError) as exc:
            raise ValueError(f"title must be a str.format template whose only field is {{phase}}; got {title!r} "
                             f"({type(exc).__name__}: {exc})") from None
        self.method, self.title, self.ncols = check_method(method), title, whole("ncols", ncols, 1)
        self.options = dict(max_points=whole("max_points", max_points, 1), thumb=whole("thumb", thumb, 1),
                            size=whole("size", size, 1), random_state=random_state)
        super().__init__(interval)
        self.build_layout(names("phases", phases) if phases or not self.tags else ())

    def build_layout(self, phases: tuple[str, ...]) -> None:
        self.phases = phases
        self.panels: dict[str, EmbeddingPanel] = {
            **{p: EmbeddingPanel(self.title.format(phase=p), self.classes, method=self.method, **self.options)
               for p in phases},
            **{t: EmbeddingPanel(t, self.classes, method=self.method, **self.options) for t in self.tags}}
        self.figures = [panel.root for panel in self.panels.values()]
        self.graph = gridplot(self.figures, ncols=min(self.ncols, len(self.figures)), toolbar_location="above",
                              toolbar_options={"logo": None})
        self._staged: set[str] = set()

    def on_train_begin(self, history: History) -> None:
        for phase in self.phases:
            if len(history.get(phase, {}).get(self.keys[0], ())):
                self._record(phase, history)
        LiveView.on_train_begin(self, history)

    def _record(self, phase: str, history: Series) -> bool:
        """Project the phase's latest features (outside the lock), then record them; whether there were any."""
        series = self._series(phase, history)
        if series is None or not len(series.get(self.keys[0], ())):
            return False
        features, labels, images = (series[k][-1] if len(series.get(k, ())) else None for k in self.keys)
        try:
            update = self.panels[phase].prepare(features, labels, images)
        except ValueError as exc:
            raise ValueError(f"{type(self).__name__}, history[{phase!r}] keys {list(self.keys)}: {exc}") from None
        with self.throttle.lock:
            self.panels[phase].record(update)
            self._staged.add(phase)
        return True

    def on_log(self, step: int, logs: Mapping[str, Any], history: History) -> None:
        values = {t: v for t, v in logs.items() if t in self.tags}
        if not values:
            return
        for tag, value in values.items():
            panel = self.panels[tag]
            try:
                mat, labels, images = ((value.get(k) for k in ("mat", "metadata", "label_img"))
                                       if isinstance(value, Mapping) else (value, None, None))
                update = panel.prepare(mat, labels, images)
            except ValueError as exc:
                raise ValueError(f"{type(self).__name__}, the embedding logged as {tag!r}: {exc}") from None
            with self.throttle.lock:
                panel.record(update)
                panel.title = f"{tag} (step {step})"
                self._staged.add(tag)
        self._request()

    def apply_pending(self) -> None:
        self.apply_staged()

    @classmethod
    def from_history(cls, history: History, keys: Sequence[str] | None = None,
                     phases: Sequence[str] | None = None, **options: Any) -> EmbeddingCallback:
        """The embedding of a saved ``history``: ``keys`` (default ``features``, ``y_true``, ``images``) of ``phases``
        (default: all), as many classes as the largest true class says.

        Example:
            >>> EmbeddingCallback.from_history(EmbeddingCallback.demo_history()).classes[-1]
            '9'
        """
        chosen = tuple(keys or ("features", "y_true", "images"))
        first, _, phases = saved_keys(history, chosen[:1], phases, lambda _: chosen[:1], "embedding")
        labels = next((v for v in first.get(chosen[1] if len(chosen) > 1 else "", ()) if v is not None), None)
        if "classes" not in options and labels is not None and len(np.asarray(to_numpy(labels))):
            options["classes"] = int(np.max(to_numpy(labels))) + 1
        return cls(keys=chosen, phases=phases, **options)

    @classmethod
    def demo_history(cls, epochs: int = 3, phases: Sequence[str] = ("train", "test")) -> History:
        """The predictions and images of :meth:`PredictionSheetCallback.demo_history` (300 samples, ten classes) with
        64 features per sample that gather around their class's centre epoch by epoch.

        Example:
            >>> EmbeddingCallback.demo_history(1, ("test",))["test"]["features"][0].shape
            (300, 64)
        """
        from .sheet import PredictionSheetCallback

        history = PredictionSheetCallback.demo_history(epochs, phases)
        centres = np.random.default_rng(20).normal(size=(10, 64))
        for i, phase in enumerate(phases):
            labels = history[phase]["y_true"][0]
            noise = np.random.default_rng(30 + i).normal(size=(epochs, len(labels), 64))
            history[phase]["features"] = [(centres[labels] * (1 - 0.7 ** (e + 1)) + noise[e]).astype(np.float32)
                                          for e in range(epochs)]
        return history

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(classes={len(self.classes)}, keys={list(self.keys)}, method={self.method!r}, "
                f"phases={list(self.phases)}, tags={list(self.tags)})")
