"""``ClassScoresCallback``: seed 003's accuracy, precision, recall and F1 per epoch, from an epoch's labels and
predictions, added to the history for the line view to plot."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .callback import Callback
from .checks import names
from .classmetrics import class_names, class_scores, confusion_matrix, macro_scores, per_class
from .history import History
from .metrics import to_numpy


class ClassScoresCallback(Callback):
    """Adds ``accuracy``, ``precision``, ``recall`` and ``f1_score`` (macro averages over the classes) to each epoch
    of each phase that holds ``keys`` (the true classes and the scores or predicted classes, as
    :class:`~livetrain.ConfusionMatrixCallback` reads them); with ``per_class=True`` also ``f1_score/<class>`` and
    the same for precision and recall.

    Put it before the views in ``callbacks=`` so they see the new keys in the same epoch; give ``train_loop``
    ``reduce={"y_true": "concat", "y_score": "concat"}`` so the keys hold the whole epoch.

    Example:
        >>> h = History({"test": {"y_true": [np.array([0, 1, 1])], "y_score": [np.array([0, 1, 0])]}})
        >>> ClassScoresCallback(classes=2).on_epoch_end(0, "test", h)
        >>> {k: round(h["test"][k][0], 3) for k in ("accuracy", "precision", "recall", "f1_score")}
        {'accuracy': 0.667, 'precision': 0.75, 'recall': 0.75, 'f1_score': 0.667}
    """

    def __init__(self, classes: int | Sequence[Any], keys: Sequence[str] = ("y_true", "y_score"), *,
                 per_class: bool = False) -> None:
        self.keys = names("keys", keys)
        if len(self.keys) != 2:
            raise ValueError(f"keys must name the true classes and the scores, two keys; got {list(self.keys)}")
        self.classes = class_names(classes)
        self.per_class = per_class

    def on_epoch_end(self, epoch: int, phase: str, history: Mapping[str, Mapping[str, list]]) -> None:
        series = history.get(phase, {})
        if not all(series.get(k) for k in self.keys) or not isinstance(history, History):
            return
        truth, scores = (series[k][-1] for k in self.keys)
        if truth is None or scores is None:
            return
        cm = confusion_matrix(truth, np.asarray(to_numpy(scores)), len(self.classes))
        values: dict[str, Any] = macro_scores(cm)
        if self.per_class:
            values |= per_class(class_scores(cm), self.classes)
        history.append(phase, values, epoch=epoch)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(classes={len(self.classes)}, keys={list(self.keys)})"
