"""``ImagePlotsCallback``: image batches (reconstructions, samples, targets) as live image grids."""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from bokeh.layouts import gridplot
from bokeh.models import ColumnDataSource, Range1d
from bokeh.plotting import figure

from ..core.checks import names
from ..core.history import History
from ..core.images import Colormap, colormap, grid_picture, scaling
from ..frames.base import pixel_scale
from .base import LatestValuesView, saved_keys

_TITLES = {"recon": "Reconstructed", "reconstruction": "Reconstructed", "target": "Target", "input": "Input",
           "sample": "Samples", "samples": "Samples", "generated": "Generated", "fake": "Generated"}
_BLANK = np.zeros((1, 1), np.uint32)  # one transparent pixel until the first images arrive


class ImagePlotsCallback(LatestValuesView):
    """Live image grids, one figure per (phase, key): ``history[phase][key][-1]`` at each epoch's end.

    Each value is a batch of images or one image (a torch tensor or an array: ``(N, C, H, W)``,
    ``(N, H, W, C)``, ``(N, H, W)``, one ``(C, H, W)``, ``(H, W, C)`` or ``(H, W)`` image, as
    :mod:`livetrain.core.images` reads them: a 3-D array with 1, 3 or 4 first entries is one image);
    its first ``max_images`` are tiled ``nrow`` per row, single-channel ones through ``cmap``. Floats are
    0..1 (uint8 0..255) unless ``value_range`` or ``normalize`` say otherwise; values outside the range are
    clipped, and the first time a key's are, a ``UserWarning`` says so. Each
    update replaces the picture in place: one binary buffer of the grid's RGBA bytes per figure,
    whatever the history's length. The figure keeps the grid's aspect ratio within ``size`` pixels, and the picture
    sent has at most the pixels it shows: a larger grid's images are shrunk first by block averages (64 images of
    256 x 256 go as one 306 x 306 picture, 375 KB, not a 2066 x 2066 one of 17 MB).

    Args:
        keys: the history keys holding images, one figure each per phase (a row per phase).
        phases: the phases to show. When the callback is given to ``train_loop`` before it is
            displayed, the loop's phases are used.
        cmap: the colour map for single-channel images (see :func:`livetrain.core.images.colormap`):
            a name such as ``"gray"`` or ``"inferno"``, a Bokeh palette, or a matplotlib colour map.
        nrow: images per grid row.
        padding: pixels of background around each image.
        max_images: how many of each batch's first images to show.
        normalize: stretch each batch's finite min..max to black..white (as ``torchvision.utils.make_grid``).
        value_range: ``(low, high)``: the values drawn black and white, e.g. ``(-1, 1)`` for a normalised
            tensor; with ``normalize``, too, as in torchvision.
        scale_each: with ``normalize``, stretch each image's own min..max instead of the batch's.
        titles: figure titles per key (default: ``"Reconstructed"`` for ``recon``, ``"Target"`` for
            ``target``, ...), followed by the phase in brackets.
        size: the longer side of each picture, in pixels.
        scale: device pixels per CSS pixel the picture is sent with (at most ``size * scale`` pixels a side): 2
            for a sharp picture on a HiDPI screen or in frames drawn at ``scale=2``.
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
                 normalize: bool = False, value_range: tuple[float, float] | None = None, scale_each: bool = False,
                 titles: Mapping[str, str] | None = None, size: int = 350, scale: float = 1,
                 interval: float = 0.1) -> None:
        self.keys = names("keys", keys)
        self.normalize, self.value_range, self.scale_each = scaling(normalize, value_range, scale_each)
        if nrow < 1 or padding < 0 or max_images < 1 or size < 1:
            raise ValueError(f"nrow, max_images and size must be >= 1 and padding >= 0; got nrow={nrow!r}, "
                             f"padding={padding!r}, max_images={max_images!r}, size={size!r}")
        self.lut = colormap(cmap)
        self.nrow, self.padding, self.max_images, self.size = nrow, padding, max_images, size
        self.scale = pixel_scale(scale)
        self.titles = {k: (titles or {}).get(k) or _TITLES.get(k) or k[:1].upper() + k[1:].replace("_", " ")
                       for k in self.keys}
        self._clipped: set[str] = set()  # the keys whose clipping was reported
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
        def clipped(note: str) -> None:
            if key not in self._clipped:
                self._clipped.add(key)
                warnings.warn(f"livetrain: history[{phase!r}][{key!r}][-1]: {note}", UserWarning, stacklevel=2)

        try:
            return grid_picture(images, self.lut, self.nrow, self.padding, max_images=self.max_images,
                                normalize=self.normalize, value_range=self.value_range, scale_each=self.scale_each,
                                on_clip=clipped, most=max(1, round(self.size * self.scale)))
        except ValueError as exc:
            raise ValueError(f"history[{phase!r}][{key!r}][-1]: {exc}") from None

    def _draw(self, where: tuple[str, str], picture: np.ndarray) -> None:
        fig = self.figures[where]
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

