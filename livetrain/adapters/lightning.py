"""``LightningLogger`` and ``LightningCallback``: PyTorch Lightning runs drawn live by livetrain's views.

``LightningLogger`` is a Lightning ``Logger``: it gets what ``self.log(...)`` logs, as Lightning hands it to every
logger (``log_metrics``), plus the hyperparameters (``log_hyperparams``) and the run's end (``finalize``).
Keys name their phase: ``train_loss``, ``train/loss`` and ``loss`` are ``train``'s, ``val_*``/``val/*`` ``val``'s,
``test_*`` ``test``'s. Values logged per training step become step traces at Lightning's step; values logged per
epoch go to ``history[phase]`` (one per epoch) and, for the evaluation phases, onto the step axis too.
``self.log(..., on_step=True, on_epoch=True)`` logs ``<key>_step`` and ``<key>_epoch``: both are ``<key>``'s.

``LightningCallback`` adds histograms of the weights and gradients, and images (returned by ``training_step`` or
``validation_step``, or made by a function), to the same history and views.

Caveat: Lightning hands the step values to its loggers only every ``Trainer(log_every_n_steps=...)`` steps, 50 by
default; the logger warns when it is left at 50. Lightning reads every value to a Python float before a logger sees
it, at those steps.
"""
from __future__ import annotations

import argparse
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

try:
    import lightning.pytorch as pl
except ImportError as missing:  # the standalone package has the same API
    try:
        import pytorch_lightning as pl  # type: ignore[no-redef]
    except ImportError:
        raise missing from None

from ..core.callback import Callback
from ..core.history import History
from ..torch_tools import HistogramCollector
from .base import Recorder, split_phase

rank_zero_only = pl.utilities.rank_zero_only

#: Key prefixes that name a phase (a ``phase/key`` key names its own).
PREFIXES = {"train_": "train", "val_": "val", "valid_": "val", "validation_": "val", "test_": "test"}
DEFAULT_LOG_EVERY = 50  #: Lightning's default ``log_every_n_steps``


class LightningLogger(pl.loggers.Logger):
    """A Lightning logger that feeds livetrain's views: step traces, epoch values and hyperparameters.

    ``history.steps["train/loss"]`` holds the training step values at Lightning's steps (every
    ``log_every_n_steps``); ``history[phase][metric]`` one value per epoch, as Lightning logs it at the epoch's end
    (equal to ``trainer.callback_metrics`` then); ``history.records["hparams"]`` the hyperparameters. Validation
    and test values logged per batch (``on_step=True`` in ``validation_step``) are the traces ``val/<key>_step`` at
    Lightning's evaluation batch index, which starts again at 0 each evaluation, as in Lightning's other loggers.
    Draws and saves on global rank 0 only.

    Args:
        callbacks: livetrain views (default: a live :class:`~livetrain.Board`).
        history: a :class:`~livetrain.History` to go on from.
        history_path: save the history there at every epoch end and at the end of training.
        name, version: what Lightning shows as the logger's name and version.

    Example::

        import lightning.pytorch as pl, livetrain

        trainer = pl.Trainer(max_epochs=10, logger=livetrain.LightningLogger(), log_every_n_steps=5)
        trainer.fit(model, train_loader, val_loader)
        trainer.logger.history["val"]["loss"]
    """

    def __init__(self, callbacks: Iterable[Callback] | None = None, *, history: History | None = None,
                 history_path: str | os.PathLike | None = None, name: str = "livetrain",
                 version: int | str = 0) -> None:
        super().__init__()
        self.recorder = Recorder(callbacks, history=history, history_path=history_path)
        self._name, self._version = name, version
        self.trainer: Any = None  #: the Trainer, once Lightning or a :class:`LightningCallback` shows it
        self._warned: set[str] = set()

    @property
    def history(self) -> History:
        """The run's :class:`~livetrain.History` (the recorder's)."""
        return self.recorder.history

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> int | str:
        return self._version

    def attach(self, trainer: Any) -> None:
        """Take the ``trainer`` (Lightning shows it through ``log_graph``, a :class:`LightningCallback` at
        ``on_fit_start``): it tells step values from epoch values, and whether ``log_every_n_steps`` is left at 50.

        Example::

            logger.attach(trainer)  # done for you when the run starts
        """
        if trainer is None or trainer is self.trainer:
            return
        self.trainer = trainer
        if getattr(trainer, "log_every_n_steps", None) == DEFAULT_LOG_EVERY:
            self._warn("log_every_n_steps", f"Trainer(log_every_n_steps={DEFAULT_LOG_EVERY}) is Lightning's default: "
                       f"the loggers get the step values only every {DEFAULT_LOG_EVERY} training steps. Pass "
                       f"Trainer(log_every_n_steps=1) (or 5, 10) to see them live.")
        steps = getattr(trainer, "num_training_batches", None)
        max_epochs = getattr(trainer, "max_epochs", None)
        self.recorder.begin(epochs=max_epochs if max_epochs and max_epochs > 0 else None, phases=["train", "val"],
                            steps={"train": steps} if isinstance(steps, int) else {})

    def log_graph(self, model: Any, input_array: Any = None) -> None:
        try:
            trainer = model.trainer
        except Exception:  # noqa: BLE001 - a module outside a Trainer has none
            return
        self._guarded("attach", lambda: self.attach(trainer))

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self._guarded("log_metrics", lambda: self._log(dict(metrics), step))

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        def record() -> None:
            value = {"hparams": flat_params(params), "metrics": {}}
            self.recorder.record({"hparams": value}, "hparams")
        self._guarded("log_hyperparams", record)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """End the run: ``"success"`` ends it, ``"failed"`` (an exception or an interrupt) ends it as failed."""
        failed = None if status == "success" else RuntimeError(f"Lightning ended the run with status {status!r}")
        self._guarded("finalize", lambda: self.recorder.end(failed))

    def save(self) -> None:
        """Nothing: Lightning calls this after every ``log_metrics``; the history is saved at each epoch's end when
        ``history_path`` is given."""

    def _log(self, metrics: dict[str, Any], step: int | None) -> None:
        epoch = metrics.pop("epoch", None)
        training, at_epoch_end = self._moment("epoch" if epoch is not None else None)
        steps: dict[str, Any] = {}
        epochs: dict[str, dict[str, Any]] = {}
        for key, value in metrics.items():
            base, suffix = unsuffixed(key)
            phase, metric = split_phase(base, PREFIXES)
            if at_epoch_end if suffix is None else suffix == "_epoch":
                epochs.setdefault(phase, {})[metric] = value
                if not (training and suffix == "_epoch"):  # its "_step" twin is train/<metric>'s trace already
                    steps[f"{phase}/{metric}"] = value
            else:
                steps[f"{phase}/{metric}" if training else f"{phase}/{metric}_step"] = value
        self.recorder.log(steps, step, epoch=self._fraction(epoch, at_epoch_end))
        if epoch is not None:
            for phase, values in epochs.items():
                self.recorder.epoch_end(int(epoch), phase, values)

    def _moment(self, epoch_key: str | None) -> tuple[bool, bool]:
        """Whether these values come from the training loop (else validation, test...), and whether they are an
        epoch's values. Lightning logs an evaluation's epoch values with the ``epoch`` key, its batch values
        without; a training epoch's values once the fit loop counted the epoch processed, not yet completed."""
        trainer = self.trainer
        if trainer is None or not hasattr(trainer, "training"):  # not shown the trainer: by the key's suffix
            return True, False
        if not trainer.training:
            return False, epoch_key is not None
        progress = getattr(getattr(getattr(trainer, "fit_loop", None), "epoch_progress", None), "current", None)
        return True, progress is not None and progress.processed > progress.completed

    def _fraction(self, epoch: Any, at_epoch_end: bool) -> float | None:
        """The fractional epoch of the values: ``epoch + batches done / batches per epoch``, 1 past at its end."""
        if epoch is None:
            return None
        trainer, whole = self.trainer, float(epoch)
        if at_epoch_end:
            return whole + 1
        per_epoch = getattr(trainer, "num_training_batches", None)
        loop = getattr(getattr(trainer, "fit_loop", None), "epoch_loop", None)
        done = getattr(getattr(getattr(loop, "batch_progress", None), "current", None), "completed", None)
        if not isinstance(per_epoch, int) or not per_epoch or not isinstance(done, int):
            return whole
        return whole + done / per_epoch

    def _guarded(self, what: str, action: Callable[[], object]) -> None:
        """Run ``action``; an ``Exception`` warns once per ``what`` and training goes on."""
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - a logger must never stop the training
            self._warn(what, f"{what} failed ({type(exc).__name__}: {exc}); training goes on")

    def _warn(self, topic: str, message: str) -> None:
        if topic not in self._warned:
            self._warned.add(topic)
            warnings.warn(f"livetrain: {message}", RuntimeWarning, stacklevel=4)


class LightningCallback(pl.Callback):
    """Histograms of the weights and gradients, and images, of a Lightning run, in its :class:`LightningLogger`'s
    history and views.

    Every ``every`` optimizer steps (and at the first), the histograms of the model's parameters and of their
    gradients (``on_before_optimizer_step``: after backward and clipping) are binned on the model's device and
    copied to the host once (:class:`~livetrain.torch_tools.HistogramCollector`): the records
    ``histograms/<parameter>`` and ``histograms/<parameter>.grad``. Images are records (kind ``"image"``) too:

    - ``training_step`` or ``validation_step`` returning a dict with one of ``image_keys`` (a batch ``(N, C, H, W)``
      or one image): ``train/<key>`` every ``every`` steps, ``val/<key>`` from each evaluation's first batch;
    - ``images(trainer, pl_module)`` returning ``{tag: images}``, called at each training epoch's end.

    All at Lightning's global step. Its hooks never raise into the training loop; they run on global rank 0 only.

    Args:
        logger: the :class:`LightningLogger` to feed (default: the one among the Trainer's loggers).
        every: the optimizer steps between two histograms (and two training images).
        histograms: whether to record histograms; ``modules`` and ``bins`` as ``HistogramCollector``'s.
        image_keys: keys of the step outputs that hold images.
        images: a function making images at each training epoch's end.

    Example::

        logger = livetrain.LightningLogger()
        trainer = pl.Trainer(logger=logger, log_every_n_steps=5,
                             callbacks=[livetrain.LightningCallback(every=20)])
    """

    def __init__(self, logger: LightningLogger | None = None, *, every: int = 50, histograms: bool = True,
                 modules: Iterable[Any] | None = None, bins: int = 64, image_keys: Iterable[str] = ("images",),
                 images: Callable[[Any, Any], Mapping[str, Any]] | None = None) -> None:
        if logger is not None and not isinstance(logger, LightningLogger):
            raise TypeError(f"logger must be a livetrain LightningLogger or None, got {type(logger).__name__}")
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"every must be an int >= 1, got {every!r}")
        if images is not None and not callable(images):
            raise TypeError(f"images must be a function (trainer, pl_module) -> {{tag: images}}, got "
                            f"{type(images).__name__}")
        self.logger, self.every, self.histograms, self.modules, self.bins = logger, every, histograms, modules, bins
        self.image_keys, self.images = tuple(image_keys), images
        self.collector: HistogramCollector | None = None

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if self.logger is None:
            found = [lg for lg in trainer.loggers if isinstance(lg, LightningLogger)]
            if not found:
                raise ValueError(f"LightningCallback feeds a LightningLogger, and the Trainer has none (its loggers: "
                                 f"{[type(lg).__name__ for lg in trainer.loggers]}): pass "
                                 f"Trainer(logger=livetrain.LightningLogger(), ...) or LightningCallback(logger=...)")
            self.logger = found[0]
        self.logger.attach(trainer)
        if self.histograms and self.collector is None and trainer.is_global_zero:
            collector = HistogramCollector(pl_module, self.logger.history, modules=self.modules, every=1,
                                           bins=self.bins)
            collector.parameters = [(f"histograms/{name}", p) for name, p in collector.parameters]
            self.collector = collector

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        assert self.logger is not None
        self.logger.attach(trainer)

    @rank_zero_only
    def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
        step, collector = trainer.global_step, self.collector
        if collector is not None and step % self.every == 0:
            self._guarded("histograms", lambda: show(self._recorder, step, collector.log(step)))

    @rank_zero_only
    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        step = trainer.global_step - 1  # the optimizer stepped: the batch's step is the one before
        if step % self.every == 0:
            self._guarded("images", lambda: self._images(step, "train", outputs))

    @rank_zero_only
    def on_validation_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int,
                                dataloader_idx: int = 0) -> None:
        if batch_idx == 0 and not trainer.sanity_checking:
            self._guarded("images", lambda: self._images(trainer.global_step, "val", outputs))

    @rank_zero_only
    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        make = self.images
        if make is not None:
            self._guarded("images()", lambda: self._record_images(trainer.global_step, dict(make(trainer, pl_module))))

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self._guarded("on_exception", lambda: self._recorder.end(exception))

    @property
    def _recorder(self) -> Recorder:
        assert self.logger is not None, "LightningCallback: used before Trainer.fit() set it up"
        return self.logger.recorder

    def _images(self, step: int, phase: str, outputs: Any) -> None:
        if isinstance(outputs, Mapping):
            self._record_images(step, {f"{phase}/{k}": outputs[k] for k in self.image_keys if k in outputs})

    def _record_images(self, step: int, images: Mapping[str, Any]) -> None:
        if not images:
            return
        self._recorder.record({tag: as_array(value) for tag, value in images.items()}, "image", step)

    def _guarded(self, what: str, action: Callable[[], object]) -> None:
        if self.logger is not None:
            self.logger._guarded(what, action)


def show(recorder: Recorder, step: int, logs: Mapping[str, Any]) -> None:
    """Tell ``recorder``'s views about ``logs`` (records already in its history) at ``step``, on rank 0; a view that
    raises is switched off by its ``CallbackList``."""
    if logs and recorder.drawing:
        recorder.begin()
        recorder.callbacks.on_log(step, logs, recorder.history)


def unsuffixed(key: str) -> tuple[str, str | None]:
    """A key without the ``_step``/``_epoch`` Lightning adds for ``on_step=True, on_epoch=True``, and that suffix.

    Example:
        >>> unsuffixed("train_loss_step"), unsuffixed("val_acc")
        (('train_loss', '_step'), ('val_acc', None))
    """
    for suffix in ("_step", "_epoch"):
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[:-len(suffix)], suffix
    return key, None


def flat_params(params: Any) -> dict[str, bool | int | float | str]:
    """Hyperparameters (a dict or an ``argparse.Namespace``, nested) as one flat dict of ``/``-joined names to
    bools, numbers and strings (anything else as its ``str``).

    Example:
        >>> flat_params({"lr": 0.1, "net": {"width": 16, "act": None}})
        {'lr': 0.1, 'net/width': 16, 'net/act': 'None'}
    """
    if isinstance(params, argparse.Namespace):
        params = vars(params)
    if not isinstance(params, Mapping):
        raise TypeError(f"hyperparameters must be a dict or an argparse.Namespace, got {type(params).__name__}")
    out: dict[str, bool | int | float | str] = {}
    for key, value in params.items():
        if isinstance(value, argparse.Namespace):
            value = vars(value)
        if isinstance(value, Mapping):
            out.update({f"{key}/{k}": v for k, v in flat_params(value).items()})
        else:
            out[str(key)] = value if isinstance(value, (bool, int, float, str)) else str(value)
    return out


def as_array(images: Any) -> Any:
    """Images as the history keeps them: a torch tensor detached and copied to the host once, as numpy.

    Example:
        >>> import torch
        >>> as_array(torch.ones(2, 1, 3, 3, requires_grad=True)).shape
        (2, 1, 3, 3)
    """
    detach = getattr(images, "detach", None)
    if callable(detach):
        images = detach()
        return (images.float() if images.is_floating_point() else images).cpu().numpy()
    return images

