"""livetrain: live training plots for Jupyter that update in place.

The package is layered; each layer imports only from the layers above it in this list:

- ``core``: the history, the callback hooks, ``train_loop``, metric reduction, the throttle, atomic files;
- ``sources``: readers that follow JSONL, CSV and TensorBoard event logs as they grow;
- ``wire``: Bokeh's wire format (document JSON, ``PATCH-DOC``);
- ``frames``: renderers that draw a layout as a picture, and GIFs;
- ``display``: transports that bring a layout to its reader;
- ``views``: the live plots;
- ``export``: ``FrameExporter``; beside it ``writer`` (``SummaryWriter``), ``summary`` (``tf.summary``'s shape),
  ``watch`` (logs written by anything) and ``adapters`` (one per training framework);
- ``doctor``, ``cli`` and ``examples``.

Example:
    >>> from livetrain import train_loop, LinePlotsCallback
    >>> cb = LinePlotsCallback(epochs=2)
    >>> h = train_loop(lambda batch, phase: {"loss": 1.0, "acc": 0.5},
    ...                {"train": [[0], [1]], "test": [[2]]}, epochs=2, callbacks=[cb], progress=False)
    >>> h["test"]["acc"]
    [0.5, 0.5]
"""
from . import summary
from .core.callback import Callback, CallbackDisabledWarning, CallbackList
from .core.classscores import ClassScoresCallback
from .core.distributed import AcrossRanks
from .core.history import History
from .core.loop import train_loop
from .display import set_transport
from .doctor import doctor
from .export import FrameExporter
from .sources.jsonl import JsonlWriter
from .views import (
    Board,
    ConfusionMatrixCallback,
    Dashboard,
    EmbeddingCallback,
    HBarPlotsCallback,
    HistogramsCallback,
    ImagePlotsCallback,
    LinePlotsCallback,
    LiveView,
    ModelSummaryCallback,
    PRCurvesCallback,
    PredictionSheetCallback,
    VBarPlotsCallback,
)
from .watch import Watcher, watch
from .writer import SummaryWriter

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """The framework adapters (``livetrain.KerasCallback``, ...), imported on first use."""
    from .adapters import ADAPTERS, load

    if name in ADAPTERS:
        return load(name)
    raise AttributeError(f"module 'livetrain' has no attribute {name!r}")
__all__ = ["AcrossRanks", "Board", "Callback", "CallbackDisabledWarning", "CallbackList", "ClassScoresCallback",
           "ConfusionMatrixCallback", "Dashboard", "EmbeddingCallback", "FrameExporter", "HBarPlotsCallback",
           "HistogramsCallback", "History", "ImagePlotsCallback", "JsonlWriter", "LinePlotsCallback", "LiveView",
           "ModelSummaryCallback", "PRCurvesCallback", "PredictionSheetCallback", "SummaryWriter", "VBarPlotsCallback",
           "Watcher", "doctor", "set_transport", "summary", "train_loop", "watch", "__version__"]
