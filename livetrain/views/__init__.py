"""The views layer: live plots, each a callback that owns a Bokeh layout and keeps its output current.

A new view is one module with a :class:`~livetrain.views.base.LiveView` subclass (with ``from_history`` and
``demo_history``), its test, and one line in :data:`VIEWS`; ``livetrain gif --view`` and the contract tests
(``tests/contract/test_views.py``) pick it up from there.
"""
from __future__ import annotations

from .bars import HBarPlotsCallback, VBarPlotsCallback
from .base import LatestValuesView, LiveView
from .board import Board
from .confusion import ConfusionMatrixCallback
from .dashboard import Dashboard
from .embedding import EmbeddingCallback
from .histograms import HistogramsCallback
from .image import ImagePlotsCallback
from .line import LinePlotsCallback
from .model import ModelSummaryCallback
from .prcurves import PRCurvesCallback
from .scalars import ScalarsView
from .sheet import PredictionSheetCallback

#: The views that draw a saved history by themselves, by the name ``livetrain gif --view`` takes.
VIEWS: dict[str, type[LiveView]] = {
    "line": LinePlotsCallback,
    "vbar": VBarPlotsCallback,
    "hbar": HBarPlotsCallback,
    "image": ImagePlotsCallback,
    "scalars": ScalarsView,
    "board": Board,
    "prcurves": PRCurvesCallback,
    "confusion": ConfusionMatrixCallback,
    "sheet": PredictionSheetCallback,
    "histograms": HistogramsCallback,
    "embedding": EmbeddingCallback,
    "model": ModelSummaryCallback,
}

__all__ = ["VIEWS", "Board", "ConfusionMatrixCallback", "Dashboard", "EmbeddingCallback", "HBarPlotsCallback",
           "HistogramsCallback", "ImagePlotsCallback", "LatestValuesView", "LinePlotsCallback", "LiveView",
           "ModelSummaryCallback", "PRCurvesCallback", "PredictionSheetCallback", "ScalarsView", "VBarPlotsCallback"]
