"""``train_loop``: a framework-agnostic epoch loop that feeds a ``History`` and the callbacks."""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sized
from typing import Any

from tqdm.auto import tqdm

from .callback import Callback, CallbackList
from .checks import whole
from .history import History
from .metrics import EpochReducer, batch_size, to_float

Step = Callable[[Any, str], Mapping[str, Any]]


def train_loop(step: Step, loaders: Mapping[str, Iterable], epochs: int,
               callbacks: Iterable[Callback] = (), *, history: History | None = None,
               history_path: str | os.PathLike | None = None, reduce: Mapping[str, str] | None = None,
               progress: bool = True) -> History:
    """Run ``epochs`` epochs; in each, every phase of ``loaders`` in order, calling ``step`` per batch.

    ``step(batch, phase)`` trains or evaluates on one batch and returns its metrics: Python
    numbers, or numpy, torch or JAX 0-d values. An epoch's value is the mean over its batches,
    weighted by batch size: the ``batch_size`` entry of the result if there is one, else the
    length of the batch's first item. ``reduce`` names other reductions for some metrics:
    ``"sum"`` (element-wise, e.g. per-class counts), ``"first"`` or ``"last"`` (e.g. images). Pass ``history``
    to resume: epochs continue from it.
    With ``history_path``, the history is saved there (atomically) after every phase.

    A ``KeyboardInterrupt`` ends the run cleanly: callbacks get ``on_exception`` and the
    history so far is returned. Any other error is re-raised with the history attached as
    ``exc.history``.

    Example:
        >>> def step(batch, phase):
        ...     return {"loss": sum(batch) / len(batch)}
        >>> h = train_loop(step, {"train": [[1.0, 3.0], [5.0]]}, epochs=2, progress=False)
        >>> h["train"]["loss"]
        [3.0, 3.0]
    """
    if not callable(step):
        raise TypeError(f"step must be a callable step(batch, phase) -> dict, got {type(step).__name__}")
    if not isinstance(loaders, Mapping) or not loaders:
        raise TypeError(f"loaders must be a non-empty dict of phase name to iterable of batches, "
                        f"e.g. {{'train': train_loader}}; got {loaders!r:.80}")
    whole("epochs", epochs)
    history = History() if history is None else history
    EpochReducer(reduce)  # bad reductions fail here, before any training
    cbs = CallbackList(callbacks)
    first = max((history.epochs(p) for p in loaders), default=0)
    steps = {p: len(ld) for p, ld in loaders.items() if isinstance(ld, Sized)}
    cbs.set_params({"epochs": first + epochs, "phases": list(loaders), "steps": steps})
    cbs.on_train_begin(history)
    epoch_bar = tqdm(range(first, first + epochs), desc="epoch", disable=not progress)
    # one bar per phase, reset every epoch: a saved notebook keeps a few bars, not one per epoch
    bars = {p: tqdm(desc=p, total=steps.get(p), leave=False, disable=not progress) for p in loaders}
    try:
        for epoch in epoch_bar:
            for phase, loader in loaders.items():
                values = _run_phase(step, loader, epoch, phase, cbs, bars[phase], reduce)
                history.append(phase, values)
                if history_path is not None:
                    history.save(history_path)
                cbs.on_epoch_end(epoch, phase, history)
                epoch_bar.set_postfix({f"{phase}_{k}": v for k, v in values.items() if isinstance(v, float)},
                                      refresh=False)
    except KeyboardInterrupt as exc:
        _stop(exc, cbs, history, history_path)
        print(f"livetrain: interrupted; returning the history of {max(map(history.epochs, history), default=0)} "
              f"epoch(s)", file=sys.stderr)
        return history
    except Exception as exc:
        _stop(exc, cbs, history, history_path)
        exc.history = history  # type: ignore[attr-defined]
        exc.add_note("livetrain: the history recorded so far is attached as exc.history")
        raise
    finally:
        for bar in (*bars.values(), epoch_bar):
            bar.close()
    cbs.on_train_end(history)
    return history


def _run_phase(step: Step, loader: Iterable, epoch: int, phase: str, cbs: CallbackList,
               bar: tqdm, reduce: Mapping[str, str] | None) -> dict[str, Any]:
    """One phase of one epoch; returns its reduced metrics."""
    cbs.on_epoch_begin(epoch, phase)
    reducer = EpochReducer(reduce)
    bar.reset(total=bar.total)
    for i, batch in enumerate(loader):
        out = step(batch, phase)
        if not isinstance(out, Mapping):
            raise TypeError(f"step(batch, {phase!r}) must return a dict of metrics, "
                            f"got {type(out).__name__}: {out!r:.80}")
        logs = dict(out)
        size = logs.pop("batch_size", None)
        weight = to_float("batch_size", size) if size is not None else (batch_size(batch) or 1)
        logs = reducer.add(logs, weight)
        cbs.on_batch_end(i, phase, logs)
        if not bar.disable:
            bar.set_postfix(logs, refresh=False)
            bar.update()
    return reducer.result()


def _stop(exc: BaseException, cbs: CallbackList, history: History,
          history_path: str | os.PathLike | None) -> None:
    """Tell the callbacks the run stopped, and save what was recorded."""
    cbs.on_exception(exc, history)
    if history_path is not None:
        history.save(history_path)
