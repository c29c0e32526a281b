"""fastai: :class:`FastaiCallback`, a ``fastai`` ``Callback`` fed by the learner's ``Recorder``.

It runs right after fastai's ``Recorder`` (``order = Recorder.order + 1``) and reads what it recorded: the smoothed
training loss of each batch (``learn.smooth_loss``, an exponential moving average, not the batch's loss) as the
``train/smooth_loss`` trace at ``train_iter``, and at each epoch end ``recorder.values[-1]`` by ``metric_names``
(``train_loss``, ``valid_loss``, the metrics) into ``history["train"]`` and ``history["valid"]``. fastai's
``train_loss`` is that smoothed loss too, at the epoch's last batch.

Caveats: fastai tells callbacks of no exception but its ``Cancel...Exception``s, so the callback wraps the learner's
``_with_events`` during ``fit`` to see one that stops an epoch (an error, a ``KeyboardInterrupt``), and ends the run
with it. Each ``fit`` (``fine_tune`` makes two) goes on on the same step and epoch axis, where fastai's own
``recorder.values`` holds only the last fit's. ``lr_find``, ``validate`` and ``get_preds`` are not recorded, nor ranks
but 0.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from fastai.callback.core import Callback as FastaiBase
from fastai.callback.core import CancelFitException
from fastai.learner import Recorder as FastaiRecorder
from fastai.torch_core import rank_distrib

from ..core.callback import Callback
from ..core.history import History
from .base import Recorder, tagged


class FastaiCallback(FastaiBase):
    """Live views of a fastai ``Learner``'s training: ``Learner(..., cbs=[FastaiCallback()])`` or
    ``learn.fit(n, cbs=[FastaiCallback()])``.

    Args:
        callbacks: the livetrain views; default: one :class:`~livetrain.Board`.
        history: a :class:`~livetrain.History` to go on from.
        history_path: save the history there at every epoch end and at the end of each fit.

    Example::

        learn = Learner(DataLoaders(train_dl, valid_dl), model, loss_func=nn.CrossEntropyLoss(), metrics=accuracy,
                        cbs=[FastaiCallback()])
        learn.fit(5)
        learn.fastai.history["valid"]["accuracy"]  # the callback is learn.fastai
    """

    order = FastaiRecorder.order + 1
    _stateattrs = ("_rec",)  # not pickled (``learn.export()``): the views hold locks and Bokeh documents

    def __init__(self, callbacks: Iterable[Callback] | None = None, *, history: History | None = None,
                 history_path: str | os.PathLike | None = None) -> None:
        super().__init__()
        self._rec = Recorder(callbacks, history=history, history_path=history_path)
        self._fitting = self._ended = False
        self._cancel: BaseException | None = None
        self._step0 = self._epoch0 = self._epochs = 0  # earlier fits' batches and epochs; this fit's epochs

    def _init_state(self) -> None:
        """Unpickled (``load_learner``): a new history, without views."""
        self._rec = Recorder(callbacks=[])

    @property
    def recorder(self) -> Recorder:
        """The livetrain :class:`~livetrain.adapters.base.Recorder` (fastai's own is ``learn.recorder``)."""
        return self._rec

    @property
    def history(self) -> History:
        """The run's :class:`~livetrain.History`."""
        return self._rec.history

    def before_fit(self) -> None:
        self.run = not hasattr(self.learn, "lr_finder") and not hasattr(self, "gather_preds") and rank_distrib() == 0
        if not self.run or _validating(self.learn):
            return
        if self._ended:  # a later fit: a new run of the same views, on the same axes
            self._rec = Recorder(self._rec.callbacks.active, history=self._rec.history,
                                 history_path=self._rec.history_path)
            self._ended = False
        self._fitting, self._cancel, self._epochs = True, None, 0
        self._rec.begin(epochs=self._epoch0 + self.n_epoch, phases=["train", "valid"],
                        steps={"train": _length(self.dls.train), "valid": _length(self.dls.valid)})
        self._guard()

    def after_batch(self) -> None:
        learn = self.learn  # the learner's own attributes: a callback's go through fastai's GetAttr, slower
        if self._fitting and learn.training:
            self._rec.safely("reading learn.smooth_loss", lambda: self._rec.log(
                {"train/smooth_loss": learn.smooth_loss}, self._step0 + learn.train_iter,
                epoch=self._epoch0 + learn.epoch + (learn.iter + 1) / learn.n_iter))

    def after_epoch(self) -> None:
        if not self._fitting or _validating(self.learn):
            return
        self._epochs = self.epoch + 1
        self._rec.safely("reading learn.recorder", self._record_epoch)

    def _record_epoch(self) -> None:
        epoch, step = self._epoch0 + self.epoch, self._step0 + self.train_iter
        for phase, values in epoch_values(self.learn.recorder).items():
            self._rec.epoch_end(epoch, phase, values)
            self._rec.log(tagged(values, phase), step, epoch=epoch + 1)

    def after_cancel_fit(self) -> None:
        self._cancel = CancelFitException()

    def after_fit(self) -> None:
        if self._fitting and not _validating(self.learn):
            self._finish(self._cancel)

    def _finish(self, exception: BaseException | None) -> None:
        self.learn.__dict__.pop("_with_events", None)
        self._fitting, self._ended = False, True
        self._step0 += self.train_iter
        self._epoch0 += self._epochs
        self._rec.end(exception)

    def _guard(self) -> None:
        """Wrap ``learn._with_events`` until the fit ends: an exception out of an epoch ends the run with it."""
        self.learn.__dict__.pop("_with_events", None)  # a fit that failed before its first epoch left one
        run_events = getattr(self.learn, "_with_events", None)
        if not callable(run_events):
            return

        def with_events(f: Any, event_type: str, *args: Any, **kwargs: Any) -> Any:
            if event_type != "epoch":
                return run_events(f, event_type, *args, **kwargs)
            try:
                return run_events(f, event_type, *args, **kwargs)
            except CancelFitException:
                raise  # fastai goes on to after_cancel_fit and after_fit
            except BaseException as exc:
                self._finish(exc)
                raise

        self.learn._with_events = with_events


def epoch_values(recorder: Any) -> dict[str, dict[str, float]]:
    """fastai's ``recorder.values[-1]`` by ``recorder.metric_names``, split into ``{"train": ..., "valid": ...}``
    without the ``train_``/``valid_`` prefixes (a part cancelled in the epoch, or a value of ``None``, is left out).

    Example:
        >>> from types import SimpleNamespace as NS
        >>> rec = NS(metric_names=["epoch", "train_loss", "valid_loss", "accuracy", "time"], values=[[0.5, 0.4, 0.9]],
        ...          metrics=[NS(name="accuracy")], train_metrics=False, valid_metrics=True, add_time=True)
        >>> epoch_values(rec)
        {'train': {'loss': 0.5}, 'valid': {'loss': 0.4, 'accuracy': 0.9}}
    """
    names = list(recorder.metric_names)[1:]  # "epoch" first
    if getattr(recorder, "add_time", False):
        names = names[:-1]
    n_metrics = len(getattr(recorder, "metrics", ()))
    n_train = 1 + (n_metrics if getattr(recorder, "train_metrics", False) else 0)
    n_valid = 1 + n_metrics if getattr(recorder, "valid_metrics", True) else 0
    values = list(recorder.values[-1])
    train = [] if getattr(recorder, "cancel_train", False) else values[:n_train]
    valid = [] if getattr(recorder, "cancel_valid", False) else values[len(train):len(train) + n_valid]
    return {phase: part for phase, part in (("train", _named(names[:n_train], train, "train_")),
                                            ("valid", _named(names[n_train:n_train + n_valid], valid, "valid_")))
            if part}


def _named(names: Sequence[str], values: Sequence[Any], prefix: str) -> dict[str, float]:
    return {name.removeprefix(prefix): value for name, value in zip(names, values) if value is not None}


def _validating(learn: Any) -> bool:
    """Whether ``learn.validate()`` or ``get_preds()`` runs: they send ``before_fit`` and ``after_fit`` too, holding
    the learner's lock (a ``fit`` does not)."""
    lock = getattr(learn, "lock", None)
    return lock is not None and lock.locked()


def _length(loader: Any) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None
