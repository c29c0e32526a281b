"""Browser-free frames of the line view, drawn from a history with matplotlib's Agg backend."""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
from PIL import Image

from .line_plots import best_mode, line_colors, line_title


def line_frames(history: Mapping[str, Mapping[str, list]], keys: Sequence[str] = ("loss", "acc"),
                phases: Sequence[str] | None = None, epochs: int | None = None, *, size: tuple[int, int] = (700, 330),
                dpi: int = 100) -> Iterator[Image.Image]:
    """One picture per epoch of ``LinePlotsCallback``'s view: a figure per key, a line per phase, the
    same titles, colours, x range ``[0, epochs]`` and best-epoch star (best first key of the last phase).

    Needs matplotlib (not a livetrain dependency); the figure is drawn once and updated per frame.

    Example:
        >>> frames = list(line_frames({"train": {"loss": [1.0, 0.5], "acc": [0.5, 0.7]}}))
        >>> len(frames), frames[0].size
        (2, (700, 330))
    """
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("drawing frames without a browser needs matplotlib: pip install matplotlib") from exc
    del matplotlib
    phases = tuple(phases or history)
    missing = [p for p in phases if p not in history]
    if missing or not phases:
        raise KeyError(f"history has phases {list(history)}; asked for {list(phases)}")
    n = max(max((len(history[p].get(k, ())) for k in keys), default=0) for p in phases)
    epochs = epochs or n
    colors = line_colors(phases)
    fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    lines, stars = {}, {}
    for ax, key in zip(axes, keys):
        ax.set_title(line_title(key), loc="left", fontsize=10, fontweight="bold")
        ax.set_xlim(0, epochs)
        ax.set_xlabel("epoch", fontsize=9, style="italic")
        ax.grid(True, color="#e5e5e5", linewidth=0.8)
        ax.tick_params(labelsize=8)
        for phase in phases:
            (lines[phase, key],) = ax.plot([], [], color=colors[phase], linewidth=2.5, label=phase)
        (stars[key],) = ax.plot([], [], marker="*", markersize=12, color="gold", markeredgecolor="black",
                                linestyle="none", label=f"best {phases[-1]} {keys[0]}")
        ax.legend(fontsize=8, loc="upper right" if best_mode(key) == "min" else "lower right")
    fig.tight_layout()
    monitor, better = keys[0], (min if best_mode(keys[0]) == "min" else max)
    for frame in range(1, n + 1):
        for (phase, key), line in lines.items():
            y = np.asarray(history[phase].get(key, [])[:frame], dtype=float)
            line.set_data(np.arange(1, len(y) + 1), y)
        watched = [(v, i) for i, v in enumerate(history[phases[-1]].get(monitor, [])[:frame]) if math.isfinite(v)]
        best = better(watched)[1] if watched else None
        for ax, key in zip(axes, keys):
            if best is not None and best < len(history[phases[-1]].get(key, [])):
                stars[key].set_data([best + 1], [history[phases[-1]][key][best]])
            ax.relim()
            ax.autoscale_view(scalex=False)
        canvas.draw()
        yield Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")
