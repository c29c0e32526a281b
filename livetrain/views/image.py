"""``ImagePlotsCallback``: image batches (reconstructions, samples, targets) as live image grids."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from bokeh.layouts import gridplot
from bokeh.models import ColumnDataSource, Range1d
from bokeh.plotting import figure

from ..core.checks import names
from ..core.history import History
from ..core.images import Colormap, colormap, grid_picture
from .base import LatestValuesView, saved_keys

_TITLES = {"recon": "Reconstructed", "reconstruction": "Reconstructed", "target": "Target", "input": "Input",
           "sample": "Samples", "samples": "Samples", "generated": "Generated", "fake": "Generated"}
_BLANK = np.zeros((1, 1), np.uint32)  # one transparent pixel until the first images arrive


class ImagePlotsCallback(LatestValuesView):
    """Live image grids, one figure per (phase, key): ``history[phase][key][-1]`` at each epoch's end.

    Each value is a batch of images (a torch tensor or an array, see :func:`livetrain.core.images.to_batch`);
    its first ``max_images`` are tiled ``nrow`` per row, single-channel ones through ``cmap``. Each
    update replaces the picture in place: one binary buffer of the grid's RGBA bytes per figure,
    whatever the history's length. The figure keeps the grid's aspect ratio within ``size`` pixels.

    Args:
        keys: the history keys holding images, one figure each per phase (a row per phase).
        phases: the phases to show. When the callback is given to ``train_loop`` before it is
            displayed, the loop's phases are used.
        cmap: the colour map for single-channel images (see :func:`livetrain.core.images.colormap`):
            a name such as ``"gray"`` or ``"inferno"``, a Bokeh palette, or a matplotlib colour map.
        nrow: images per grid row.
        padding: pixels of background around each image.
        max_images: how many of each batch's first images to show.
        titles: figure titles per key (default: ``"Reconstructed"`` for ``recon``, ``"Target"`` for
            ``target``, ...), followed by the phase in brackets.
        size: the longer side of each picture, in pixels.
        interval: the minimum time between two pushes, in seconds.

    Example:
        >>> cb = ImagePlotsCallback(keys=("recon",), phases=("train",))
        >>> cb.on_epoch_end(0, "train", {"train": {"recon": [np.zeros((16, 1, 28, 28))]}})
        >>> cb.flush()
        >>> cb.sources["train"]["recon"].data["image"][0].shape
        (62, 242)
    """

    noun = "images"

    def __init__(self, keys: Sequence[str] = ("recon", "target"), phases: Sequence[str] = ("train", "test"), *,
                 cmap: Colormap = "gray", nrow: int = 8, padding: int = 2, max_images: int = 64,
                 titles: Mapping[str, str] | None = None, size: int = 350, interval: float = 0.1) -> None:
        self.keys = names("keys", keys)
        if nrow < 1 or padding < 0 or max_images < 1 or size < 1:
            raise ValueError(f"nrow, max_images and size must be >= 1 and padding >= 0; got nrow={nrow!r}, "
                             f"padding={padding!r}, max_images={max_images!r}, size={size!r}")
        self.lut = colormap(cmap)
        self.nrow, self.padding, self.max_images, self.size = nrow, padding, max_images, size
        self.titles = {k: (titles or {}).get(k) or _TITLES.get(k) or k[:1].upper() + k[1:].replace("_", " ")
                       for k in self.keys}
        super().__init__(interval)
        self.build_layout(names("phases", phases))

    def build_layout(self, phases: tuple[str, ...]) -> None:
        self.phases = phases
        self.sources = {p: {k: ColumnDataSource({"image": [_BLANK]}, name=f"livetrain:image:{p}:{k}")
                            for k in self.keys} for p in phases}
        self.figures = {(p, k): self._figure(p, k) for p in phases for k in self.keys}
        self.graph = gridplot(list(self.figures.values()), ncols=len(self.keys), toolbar_location="above",
                              toolbar_options={"logo": None})

    def _figure(self, phase: str, key: str) -> figure:
        p = figure(title=f"{self.titles[key]} ({phase})", frame_width=self.size, frame_height=self.size,
                   x_range=Range1d(0, 1), y_range=Range1d(0, 1), tools="pan,wheel_zoom,box_zoom,reset,save",
                   min_border=4)
        p.axis.visible = False
        p.grid.visible = False
        p.image_rgba(image="image", x=0, y=0, dw=1, dh=1, source=self.sources[phase][key])
        return p

    def convert(self, phase: str, key: str, images: Any) -> np.ndarray:
        if getattr(images, "ndim", 0) >= 3:
            images = images[:self.max_images]
        try:
            return grid_picture(images, self.lut, self.nrow, self.padding)
        except ValueError as exc:
            raise ValueError(f"history[{phase!r}][{key!r}][-1]: {exc}") from None

    def apply_pending(self) -> None:
        for (phase, key), picture in self.take_latest().items():
            fig = self.figures[phase, key]
            renderer = fig.renderers[0]
            h, w = picture.shape
            if (renderer.glyph.dw, renderer.glyph.dh) != (w, h):  # a new grid size: refit the figure, once
                scale = self.size / max(w, h)
                fig.update(frame_width=max(1, round(w * scale)), frame_height=max(1, round(h * scale)))
                fig.x_range.update(start=0, end=w, reset_start=0, reset_end=w)
                fig.y_range.update(start=0, end=h, reset_start=0, reset_end=h)
                renderer.glyph.update(dw=w, dh=h)
            # one event, the pixels as one binary buffer; a patch, unlike data.update(), does not first
            # compare the new picture with the old one pixel by pixel
            renderer.data_source.patch({"image": [(0, picture)]})

    @classmethod
    def from_history(cls, history: History, keys: Sequence[str] | None = None,
                     phases: Sequence[str] | None = None, **options: Any) -> ImagePlotsCallback:
        """Image grids of a saved ``history``: ``keys`` (default: ``recon`` and ``target``) of ``phases``
        (default: all); ``options`` such as ``cmap`` go to the constructor.

        Example:
            >>> ImagePlotsCallback.from_history(ImagePlotsCallback.demo_history(), cmap="inferno").keys
            ('recon', 'target')
        """
        _, keys, phases = saved_keys(history, keys, phases, lambda _: ("recon", "target"), "image")
        return cls(keys, phases, **options)

    @classmethod
    def demo_history(cls, epochs: int = 3, phases: Sequence[str] = ("train", "test")) -> History:
        """Eight 8×8 targets (a diagonal gradient) and reconstructions that sharpen towards them, per phase.

        Example:
            >>> ImagePlotsCallback.demo_history(1, ("train",))["train"]["recon"][0].shape
            (8, 1, 8, 8)
        """
        target = np.add.outer(np.arange(8), np.arange(8))[None, None] / 14 * np.linspace(0.3, 1, 8)[:, None, None, None]
        noise = np.random.default_rng(0).random(target.shape)
        return History({p: {"recon": [(target * (e + 1) + noise) / (e + 2) for e in range(epochs)],
                            "target": [target for _ in range(epochs)]} for p in phases})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(keys={list(self.keys)}, phases={list(self.phases)})"

