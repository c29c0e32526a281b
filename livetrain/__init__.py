"""livetrain: live training plots for Jupyter that update in place.

Example:
    >>> from livetrain import train_loop, LinePlotsCallback
    >>> cb = LinePlotsCallback(epochs=2)
    >>> h = train_loop(lambda batch, phase: {"loss": 1.0, "acc": 0.5},
    ...                {"train": [[0], [1]], "test": [[2]]}, epochs=2, callbacks=[cb], progress=False)
    >>> h["test"]["acc"]
    [0.5, 0.5]
"""
from .bar_plots import HBarPlotsCallback, VBarPlotsCallback
from .callback import Callback, CallbackDisabledWarning, CallbackList
from .dashboard import Dashboard
from .doctor import doctor
from .exporter import FrameExporter
from .history import History
from .image_plots import ImagePlotsCallback
from .line_plots import LinePlotsCallback
from .loop import train_loop
from .transport import set_transport
from .view import LiveView

__version__ = "0.1.0"
__all__ = ["Callback", "CallbackDisabledWarning", "CallbackList", "Dashboard", "FrameExporter", "HBarPlotsCallback", "History",
           "ImagePlotsCallback", "LinePlotsCallback", "LiveView", "VBarPlotsCallback", "doctor", "set_transport", "train_loop",
           "__version__"]
