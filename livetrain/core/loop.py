"""``train_loop``: a framework-agnostic epoch loop that feeds a ``History`` and the callbacks."""
from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from functools import partial
from typing import Any

from tqdm.auto import tqdm

from .callback import Callback, CallbackList
from .checks import whole
from .distributed import across_ranks, is_rank_zero, world
from .history import History
from .metrics import EpochReducer, batch_size, to_float
from .steps import read_numbers

Step = Callable[[Any, str], Mapping[str, Any]]
POSTFIX_S = 0.1  #: the least time between two updates of a progress bar's metrics (each reads the device values)


def train_loop(step: Step, loaders: Mapping[str, Iterable], epochs: int,
               callbacks: Iterable[Callback] = (), *, history: History | None = None,
               history_path: str | os.PathLike | None = None, reduce: Mapping[str, str] | None = None,
               progress: bool = True, group: Any = None) -> History:
    """Run ``epochs`` epochs; in each, every phase of ``loaders`` in order, calling ``step`` per batch.

    ``step(batch, phase)`` trains or evaluates on one batch and returns its metrics: Python
    numbers, or numpy, torch or JAX 0-d values. Return device values as they are (``loss``, not ``loss.item()``):
    the loop never waits for the device per batch. It adds them up on the device and reads the sums at the
    epoch's end; the progress bar and the live views read the latest ones at most about ten times a second, and
    ``on_batch_end`` gets them unread. An epoch's value is the mean over its batches, weighted by batch size: the
    ``batch_size`` entry of the result if there is one, else the length of the batch's first item. ``reduce`` names
    other reductions for some metrics: ``"sum"`` (element-wise, e.g. per-class counts), ``"first"`` or ``"last"``
    (e.g. images), ``"concat"`` (the batches joined, e.g. an epoch's labels and predicted probabilities). Pass
    ``history`` (a :class:`History`: ``History.load(path)``, or ``History(d)`` for a dict ``d``) to resume: epochs
    continue from it.

    Each epoch's values land at index ``epoch`` of their lists (gaps padded with NaN, or ``None`` for arrays): a
    run resumed after a kill between two phases, or a metric missing some epochs, stays aligned. Each batch's
    metrics also go to ``history.steps`` as traces ``"phase/key"`` (then ``on_log``) at the global step: the
    number of training batches done so far (those of the ``"train"`` phase, else of the first phase), with the
    epoch (``epoch + fraction of the phase done``) when the loader has a length.

    With ``history_path``, the history is saved there after every phase's callbacks and once more at the end, so
    what callbacks add to it is saved too; each save appends only what is new (see :meth:`History.save`). A save
    that fails (a full disk) warns once; training goes on and the history stays in memory.

    Distributed (``torch.distributed``, every rank running the loop on its shard): each epoch's means are the global
    ones, weighted by batch size over every rank of ``group`` (default: the world), and ``"sum"`` metrics are summed
    over the ranks, in one ``all_reduce`` per phase; the other reductions, and the per-batch traces, are each
    rank's own. Only global rank 0 shows progress bars and views and saves to ``history_path``; the other ranks keep
    their history in memory.

    A phase whose loader yields no batches in an epoch is skipped in that epoch (no value, no ``on_epoch_end``),
    with one warning naming it. A generator or other iterator is used up by the first epoch: pass a list or a
    re-iterable loader. This is a warning, not an error up front, because an iterator may restart itself when
    iterated again.

    A ``KeyboardInterrupt`` ends the run cleanly: callbacks get ``on_exception`` and the
    history so far is returned. Any other error is re-raised with the history attached as
    ``exc.history``. Ctrl-C pressed again while the run ends (the callbacks draw their final plots) cuts that
    drawing short, never the history: it is still returned, or attached.

    Example:
        >>> def step(batch, phase):
        ...     return {"loss": sum(batch) / len(batch)}
        >>> h = train_loop(step, {"train": [[1.0, 3.0], [5.0]]}, epochs=2, progress=False)
        >>> h["train"]["loss"]
        [3.0, 3.0]
    """
    _check(step, loaders, epochs, history)
    history = History() if history is None else history
    EpochReducer(reduce)  # bad reductions fail here, before any training
    cbs = CallbackList(callbacks)
    saver = _Saver(history_path if is_rank_zero() else None)
    if history_path is not None and is_rank_zero():
        history.path = history_path  # large arrays leave memory once saved there
    first = max((history.epochs(p) for p in loaders), default=0)
    steps = {p: len(ld) for p, ld in loaders.items() if isinstance(ld, Sized)}
    log = _BatchLog(history, cbs, list(loaders), steps, first)
    cbs.set_params({"epochs": first + epochs, "phases": list(loaders), "steps": steps})
    progress = progress and is_rank_zero()
    epoch_bar = tqdm(range(first, first + epochs), desc="epoch", disable=not progress)
    # one bar per phase, reset every epoch: a saved notebook keeps a few bars, not one per epoch
    bars = [tqdm(desc=p, total=steps.get(p), leave=False, disable=not progress) for p in loaders]
    empty = _EmptyPhases()
    try:
        cbs.on_train_begin(history)
        for epoch in epoch_bar:
            for (phase, loader), bar in zip(loaders.items(), bars):
                values = _run_phase(step, loader, epoch, phase, cbs, bar, reduce, log, group)
                if values is None:
                    empty.warn(phase, loader, epoch)
                    continue
                empty.seen.add(phase)
                history.append(phase, values, epoch=epoch)
                cbs.on_epoch_end(epoch, phase, history)
                saver.save(history)
                epoch_bar.set_postfix({f"{phase}_{k}": v for k, v in values.items() if isinstance(v, float)},
                                      refresh=False)
    except KeyboardInterrupt as exc:
        again = _end(partial(cbs.on_exception, exc, history), history, saver, [*bars, epoch_bar])
        print(f"livetrain: interrupted; returning the history of {_epochs(history)} epoch(s)"
              f"{' (Ctrl-C again cut the final drawing short)' if again else ''}", file=sys.stderr)
        return history
    except Exception as exc:
        exc.history = history  # type: ignore[attr-defined]
        exc.add_note("livetrain: the history recorded so far is attached as exc.history")
        _end(partial(cbs.on_exception, exc, history), history, saver, [*bars, epoch_bar])
        raise
    if _end(partial(cbs.on_train_end, history), history, saver, [*bars, epoch_bar]):
        print(f"livetrain: interrupted while the run ended (the final drawing was cut short); returning the whole "
              f"history of {_epochs(history)} epoch(s)", file=sys.stderr)
    return history


def _check(step: Any, loaders: Any, epochs: Any, history: Any) -> None:
    """A clear error for each bad argument, before anything runs."""
    if not callable(step):
        raise TypeError(f"step must be a callable step(batch, phase) -> dict, got {type(step).__name__}")
    if not isinstance(loaders, Mapping) or not loaders:
        raise TypeError(f"loaders must be a non-empty dict of phase name to iterable of batches, "
                        f"e.g. {{'train': train_loader}}; got {loaders!r:.80}")
    whole("epochs", epochs)
    if history is not None and not isinstance(history, History):
        got = f"the class {history.__name__}" if isinstance(history, type) else f"a {type(history).__name__}"
        raise TypeError(f"history must be a livetrain.History: History(d) for a dict d shaped "
                        f"d[phase][key] == [values], or History.load(path) to resume a saved run; got {got}")


def _run_phase(step: Step, loader: Iterable, epoch: int, phase: str, cbs: CallbackList,
               bar: tqdm, reduce: Mapping[str, str] | None, log: _BatchLog, group: Any) -> dict[str, Any] | None:
    """One phase of one epoch; returns its reduced metrics, or ``None`` if the loader yielded no batch."""
    cbs.on_epoch_begin(epoch, phase)
    reducer = EpochReducer(reduce)
    bar.reset(total=bar.total)
    i = -1
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
        if logs:
            log(epoch, phase, i, logs)
        if not bar.disable:
            if time.monotonic() >= log.postfix_due:  # reads device values: at the display rate, not every batch
                log.postfix_due = time.monotonic() + POSTFIX_S
                numbers = read_numbers("postfix", list(logs.values()), [i] * len(logs))[0]  # one transfer
                bar.set_postfix(dict(zip(logs, numbers.tolist())), refresh=False)
            bar.update()
    if world(group) is None:
        return reducer.result() if i >= 0 else None
    return reducer.result(partial(across_ranks, group=group)) or None  # every rank, batches or not: a collective


class _BatchLog:
    """Logs each batch's metrics as traces ``phase/key`` at the global step (training batches done so far), then
    calls ``on_log``. A resumed run goes on from the steps its history holds."""

    def __init__(self, history: History, cbs: CallbackList, phases: list[str], lengths: Mapping[str, int],
                 first: int) -> None:
        self.history, self.cbs, self.lengths = history, cbs, lengths
        self.train = "train" if "train" in phases else phases[0]
        self.tags: dict[str, dict[str, str]] = {p: {} for p in phases}
        logged = [int(t.step.max()) for tag, t in history.steps.items() if tag.startswith(f"{self.train}/") and len(t)]
        self.done = max(max(logged, default=0), first * lengths.get(self.train, 0))
        self.listened = any(getattr(type(cb), "on_log", Callback.on_log) is not Callback.on_log for cb in cbs.active)
        self.postfix_due = 0.0  # when a progress bar's metrics may next be read (time.monotonic())

    def __call__(self, epoch: int, phase: str, batch: int, logs: Mapping[str, Any]) -> None:
        if phase == self.train:
            self.done += 1
        n, names = self.lengths.get(phase), self.tags[phase]
        try:
            tagged = {names[k]: v for k, v in logs.items()}
        except KeyError:
            tagged = {names.setdefault(k, f"{phase}/{k}"): v for k, v in logs.items()}
        self.history.log(tagged, self.done, epoch=epoch + (batch + 1) / n if n else None)
        if self.listened:
            self.cbs.on_log(self.done, tagged, self.history)


class _EmptyPhases:
    """Warns once per phase that yields no batches in an epoch, saying why if it can."""

    def __init__(self) -> None:
        self.seen: set[str] = set()  # phases that yielded batches in this run
        self.warned: set[str] = set()

    def warn(self, phase: str, loader: Iterable, epoch: int) -> None:
        if phase in self.warned:
            return
        self.warned.add(phase)
        why = (f"Its loader, a {type(loader).__name__}, was used up by an earlier epoch: a generator or other "
               f"iterator can be iterated only once. Pass a list or a re-iterable loader (e.g. a DataLoader)"
               if phase in self.seen and isinstance(loader, Iterator) else "Its loader is empty")
        warnings.warn(f"livetrain: phase {phase!r} yielded no batches in epoch {epoch + 1}; it is skipped there, "
                      f"and in any later epoch without batches (this is the only warning). {why}.",
                      RuntimeWarning, stacklevel=3)


class _Saver:
    """Saves the history to ``path``, if one is given. A save that fails (a full disk) warns once, naming the path
    and the error; training goes on, and the history stays in memory (returned, or attached as ``exc.history``)."""

    def __init__(self, path: str | os.PathLike | None) -> None:
        self.path = path
        self.failed = False

    def save(self, history: History) -> None:
        if self.path is None:
            return
        try:
            history.save(self.path)
        except (OSError, TypeError, ValueError) as exc:
            if not self.failed:
                warnings.warn(f"livetrain: saving the history to {os.fspath(self.path)!r} failed "
                              f"({type(exc).__name__}: {exc}); training goes on and the history stays in memory "
                              f"(returned, or attached as exc.history). The file keeps its last complete save; "
                              f"later failures are not reported.", RuntimeWarning, stacklevel=3)
            self.failed = True


def _end(hook: Callable[[], None], history: History, saver: _Saver, bars: list[tqdm]) -> bool:
    """End the run: close the bars, call the callbacks' final ``hook`` (they draw their final plots), then save the
    history with what they added. Ctrl-C pressed again cuts a step short, never the history; returns whether it was.
    """
    interrupted = False
    for part in (lambda: [bar.close() for bar in bars], hook, lambda: saver.save(history)):
        try:
            part()
        except KeyboardInterrupt:
            interrupted = True
    return interrupted


def _epochs(history: History) -> int:
    return max(map(history.epochs, history), default=0)
