"""``LiveView``: the base of every live plot. One display, in-place throttled updates, and a guard."""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from bokeh.model import Model

from .callback import Callback
from .history import History
from .throttle import Throttle
from .transport import Output, open_output


class LiveView(Callback):
    """A callback that owns a Bokeh layout (``self.graph``) and keeps one notebook output of it current.

    Subclasses record new data under ``self._throttle.lock`` and call :meth:`_request`; the
    throttle then calls :meth:`_apply` (move the recorded data into the Bokeh models, e.g. one
    ``stream`` per source) and pushes once, at most every ``interval`` seconds. Train end and
    exceptions push at once. A failing push is reported once and then skipped: training goes on.
    Inside a :class:`~livetrain.Dashboard`, a view shares the dashboard's throttle and output.

    Example:
        >>> from livetrain import LinePlotsCallback
        >>> cb = LinePlotsCallback(epochs=5)
        >>> cb.on_epoch_end(0, "train", {"train": {"loss": [0.9], "acc": [0.6]}})
        >>> cb.flush()
    """

    graph: Model
    phases: tuple[str, ...]

    def __new__(cls, *args: Any, **kwargs: Any) -> LiveView:
        self = super().__new__(cls)
        self._settings = (args, kwargs)  # what replica() builds its copy from
        return self

    def __init__(self, interval: float = 0.1) -> None:
        self._throttle = Throttle(self._push, interval)
        self._out: Output | None = open_output(_file_name(type(self).__name__))
        self._shown = False
        self._host: LiveView = self

    def _attach(self, host: LiveView) -> None:
        """Hand display and pushes over to ``host``, whose ``_apply`` calls this view's."""
        self._host, self._throttle, self._out = host, host._throttle, None

    def show(self) -> None:
        """Display the plot in the current cell (again, if it was shown before)."""
        if self._host is not self:
            self._host.show()
            return
        with self._throttle.lock:
            self._apply()
            if self._out is not None:
                self._out.show(self.graph)
            self._shown = True

    @property
    def displayed(self) -> bool:
        """Whether the plot (or the dashboard holding it) has been shown in a cell."""
        return self._host._shown

    def _ipython_display_(self) -> None:
        if self._host._out is None:
            print(repr(self))
        else:
            self.show()

    def flush(self) -> None:
        """Push recorded data now instead of waiting for the throttle."""
        self._throttle.flush()

    def _request(self) -> None:
        """Ask for an update; called by subclasses after recording data under the lock."""
        if not self.displayed:
            self.show()
        self._throttle.request()

    def replica(self) -> LiveView:
        """A new view with this one's settings and phases, never displayed and updated at once (no throttle).

        Frames are drawn from replicas (see :class:`livetrain.FrameExporter`): feeding one the history up
        to an epoch puts its layout in the state the live view showed at that epoch.

        Example:
            >>> from livetrain import LinePlotsCallback
            >>> copy = LinePlotsCallback(epochs=5, keys=("loss",)).replica()
            >>> copy.on_epoch_end(0, "train", {"train": {"loss": [0.9]}})
            >>> copy.sources["train"].data["loss"]
            [0.9]
        """
        args, kwargs = self._settings
        copy = type(self)(*args, **{**kwargs, "interval": 0})
        copy._out = None
        copy.set_params(dict(self.params))
        if copy.phases != self.phases:
            copy._build(self.phases)
        return copy

    def _build(self, phases: tuple[str, ...]) -> None:
        """Make ``self.graph`` and its sources for ``phases``."""
        raise NotImplementedError

    def _apply(self) -> None:
        """Move recorded data into the Bokeh models. Called with the lock held."""
        raise NotImplementedError

    def set_params(self, params: dict[str, Any]) -> None:
        """Take ``train_loop``'s phases, unless the plot is already on screen."""
        super().set_params(params)
        phases = tuple(params.get("phases") or ())
        if phases and phases != self.phases and not self.displayed:
            self._build(names("phases", phases))

    def _check_phase(self, phase: str) -> None:
        if phase not in self.phases:
            raise ValueError(f"{type(self).__name__} shows phases {list(self.phases)}, got phase {phase!r}; "
                             f"pass phases=(...) to show it")

    def _series(self, phase: str, history: Mapping[str, Mapping[str, list]]) -> Mapping[str, list]:
        """``history[phase]``, or a clear error if ``phase`` is not shown or ``history`` is not shaped right."""
        self._check_phase(phase)
        series = history.get(phase) if isinstance(history, Mapping) else None
        if not isinstance(series, Mapping):
            raise TypeError(f"history must be a dict shaped history[phase][key] == [one value per epoch]; "
                            f"history[{phase!r}] is {type(series).__name__}")
        return series

    def _push(self) -> None:
        self._apply()
        if self._out is None:
            return
        try:
            self._out.push()
        except Exception as exc:  # noqa: BLE001 - a broken frontend must not stop training
            self._out = None
            warnings.warn(f"livetrain: updating {type(self).__name__} failed ({type(exc).__name__}: {exc}); "
                          f"the plot stops updating, the data is still recorded.", RuntimeWarning, stacklevel=2)

    def on_train_begin(self, history: History) -> None:
        if not self.displayed:
            self.show()

    def on_train_end(self, history: History) -> None:
        self._finish()

    def on_exception(self, exception: BaseException, history: History) -> None:
        self._finish()

    def _finish(self) -> None:
        """Push what is pending, then leave the final state in the output (see ``NotebookPush.finish``):
        a saved notebook, a reloaded page and nbconvert show the end of the run. A later update shows
        the plot again in the cell that makes it."""
        self._throttle.close()
        if self._host is not self or self._out is None or not self._shown:
            return
        with self._throttle.lock:
            try:
                self._out.finish()
            except Exception as exc:  # noqa: BLE001 - the run is over; its history must still come back
                warnings.warn(f"livetrain: storing the final plot in the notebook failed ({type(exc).__name__}: "
                              f"{exc}); the live plot shows it until the page is reloaded.", RuntimeWarning,
                              stacklevel=2)
            self._shown = False



class LatestValuesView(LiveView):
    """A view of each phase's latest value per key (bars, images): every update replaces them.

    Subclasses set ``keys`` and ``_noun`` and implement :meth:`_convert`; the converted values wait in
    ``self._pending[phase, key]`` until :meth:`_apply` moves them into the Bokeh models.
    """

    keys: tuple[str, ...]
    _noun = "values"

    def on_train_begin(self, history: History) -> None:
        for phase in self.phases:  # a resumed run shows its last values at once
            if all(len(history.get(phase, {}).get(k, ())) for k in self.keys):
                self._record(phase, history)
        super().on_train_begin(history)

    def on_epoch_end(self, epoch: int, phase: str, history: Mapping[str, Mapping[str, list]]) -> None:
        self._record(phase, history)
        self._request()

    def _record(self, phase: str, history: Mapping[str, Mapping[str, list]]) -> None:
        """Convert the latest value of every key of ``phase`` (outside the lock), then record them."""
        series = self._series(phase, history)
        missing = [k for k in self.keys if k not in series or not len(series[k])]
        if missing:
            raise KeyError(f"history[{phase!r}] has no {self._noun} for {missing}; it has {list(series)}. "
                           f"Pass keys=(...) to {type(self).__name__}")
        latest = {(phase, k): self._convert(phase, k, series[k][-1]) for k in self.keys}
        with self._throttle.lock:
            self._pending.update(latest)

    def _convert(self, phase: str, key: str, value: Any) -> Any:
        """``value`` in the form :meth:`_apply` sets on the Bokeh models, or a clear error."""
        raise NotImplementedError


def names(what: str, values: Sequence[str]) -> tuple[str, ...]:
    """``values`` as a tuple of names, or a ``TypeError`` saying what was expected.

    Example:
        >>> names("keys", ["loss", "acc"])
        ('loss', 'acc')
    """
    if isinstance(values, str) or not values or not all(isinstance(v, str) for v in values):
        raise TypeError(f"{what} must be a non-empty sequence of str, e.g. ('train', 'test'); got {values!r}")
    return tuple(values)


def _file_name(class_name: str) -> str:
    """``LinePlotsCallback`` -> ``line``, ``Dashboard`` -> ``dashboard``: the name of a view's files."""
    return class_name.removesuffix("PlotsCallback").removesuffix("Callback").lower() or "plot"
