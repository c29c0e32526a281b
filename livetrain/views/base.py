"""``LiveView``: the base of every live plot. One display, in-place throttled updates, and a guard.

A view is a :class:`~livetrain.Callback` that owns a Bokeh layout (``graph``). Its subclass contract is
:class:`LiveView`'s two abstract methods, :meth:`~LiveView.build_layout` and :meth:`~LiveView.apply_pending`;
views redrawn from each phase's latest epoch values build on :class:`LatestEpochView` (PR curves, confusion matrix,
prediction sheet), or on :class:`LatestValuesView` where each key's value is converted alone (bars, images).
"""
from __future__ import annotations

import inspect
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from bokeh.model import Model

from ..core.callback import Callback
from ..core.checks import names
from ..core.distributed import is_rank_zero
from ..core.history import History
from ..core.throttle import Throttle, run_again
from ..display import open_output
from ..display.base import Output
from ..display.env import after_cell
from ..frames import picture
from ..frames.base import pixel_scale
from ..wire import curdocs_kept

Series = Mapping[str, Mapping[str, list]]


class LiveView(Callback, ABC):
    """A callback that owns a Bokeh layout (``self.graph``, made of ``self.figures``, which you may restyle) and
    keeps one output of it current.

    Subclasses record new data under ``self.throttle.lock`` and call :meth:`_request`; the throttle then
    calls :meth:`apply_pending` and pushes once, at most every ``interval`` seconds. Train end and exceptions
    push at once. A failing push is reported once and then skipped: training goes on. Inside a
    :class:`~livetrain.Dashboard`, a view shares the dashboard's throttle and output.

    The end of a run stays in the notebook: at ``on_train_end``, ``on_exception``, or, in a user's own loop
    that calls neither, when the notebook cell that updated the view ends, the output is replaced by the final
    state (see :meth:`~livetrain.display.base.Output.finish`); a later update shows the plot again, in the cell
    that makes it. Set ``end_with_cell = False`` to keep one plot live across the cells of a run that spans
    several (then call ``on_train_end`` at its end).

    Example:
        >>> from livetrain import LinePlotsCallback
        >>> cb = LinePlotsCallback(epochs=5)
        >>> cb.on_epoch_end(0, "train", {"train": {"loss": [0.9], "acc": [0.6]}})
        >>> cb.flush()
    """

    graph: Model
    phases: tuple[str, ...]
    #: device pixels per CSS pixel of the PNG an output keeps of the final state (the notebook's picture for
    #: readers without JavaScript, a script's ``<name>.png``): 2 or 3 for print; set it on the view before the end
    picture_scale: float = 1.0

    def __new__(cls, *args: Any, **kwargs: Any) -> LiveView:
        self = super().__new__(cls)
        self._settings = (args, kwargs)  # what replica() builds its copy from
        return self

    def __init__(self, interval: float = 0.1) -> None:
        self.throttle = Throttle(self._push, interval)
        self._out: Output | None = open_output(file_name(type(self).__name__))
        self._shown = False
        self._cell_end_pending = False
        self._host: LiveView = self
        args, kwargs = self._settings
        #: whether ``phases=`` was given: then it wins over ``train_loop``'s, and other phases are ignored quietly
        self.phases_given = "phases" in inspect.signature(self.__init__).bind_partial(*args, **kwargs).arguments
        self._warned: set[str] = set()
        self.end_with_cell = True  #: whether the end of the cell that updated the plot ends it (see above)
        self._rank_zero: bool | None = None  # asked at the first update: every logged step requests one

    @abstractmethod
    def build_layout(self, phases: tuple[str, ...]) -> None:
        """Make ``self.graph``, its sources and its figures for ``phases`` (and set ``self.phases``)."""

    @abstractmethod
    def apply_pending(self) -> None:
        """Move the data recorded since the last call into the Bokeh models. Called with the lock held."""

    def apply_staged(self) -> bool:
        """For views of panels (``self.panels``, board panels with ``apply()``): apply those whose keys were staged
        (``self._staged``) since the last push; whether there were any. Called with the lock held, from
        :meth:`apply_pending`."""
        staged, self._staged = self._staged, set()
        for key in staged:
            self.panels[key].apply()
        return bool(staged)

    def join(self, host: LiveView) -> None:
        """Hand display and pushes over to ``host`` (a :class:`~livetrain.Dashboard`), which applies this view's
        recorded data in its own pushes."""
        self._host, self.throttle, self._out = host, host.throttle, None

    def show(self) -> None:
        """Display the plot in the current cell (again, if it was shown before); in a distributed run, on global
        rank 0 only."""
        if not is_rank_zero():
            return
        if self._host is not self:
            self._host.show()
            return
        with self.throttle.lock, curdocs_kept():
            self.apply_pending()
            if self._out is not None:
                self._out.show(self.graph)
            self._shown = True

    @property
    def displayed(self) -> bool:
        """Whether the plot (or the dashboard holding it) has been shown in a cell."""
        return self._shown if self._host is self else self._host.displayed

    def _ipython_display_(self) -> None:
        if self._host is not self:
            self._host._ipython_display_()
        elif self._out is None:
            print(repr(self))
        else:
            self.show()

    def flush(self) -> None:
        """Push recorded data now instead of waiting for the throttle."""
        self.throttle.flush()

    def _request(self) -> None:
        """Ask for an update; called by subclasses after recording data under the lock. In a notebook, the
        end of the cell then leaves the final state in the output, as ``on_train_end`` does. Another rank than 0 of a
        distributed run only records (the rank is asked once per view: by then a run's process group is up)."""
        if self._rank_zero is None:
            self._rank_zero = is_rank_zero()
        if not self._rank_zero:
            return
        if self._host is not self:
            self._host._request()
            return
        if not self._shown:
            self.show()
        if self.end_with_cell and not self._cell_end_pending and self._out is not None:
            self._cell_end_pending = after_cell(self._cell_ended)
        self.throttle.request()

    def _cell_ended(self) -> None:
        self._cell_end_pending = False
        self._finish()

    def replica(self) -> LiveView:
        """A new view with this one's settings and phases, never displayed and updated at once (no throttle).

        Frames are drawn from replicas (see :class:`livetrain.FrameExporter`): feeding one the history up
        to an epoch puts its layout in the state the live view showed at that epoch.

        Example:
            >>> from livetrain import LinePlotsCallback
            >>> copy = LinePlotsCallback(epochs=5, keys=("loss",)).replica()
            >>> copy.on_epoch_end(0, "train", {"train": {"loss": [0.9]}})
            >>> copy.sources["train"].data[copy.columns["loss"]]
            [0.9]
        """
        args, kwargs = self._settings
        if "compare" in kwargs:  # the earlier runs as this view read them, not read from their files again
            kwargs = {**kwargs, "compare": getattr(self, "compare", kwargs["compare"])}
        copy = type(self)(*args, **{**kwargs, "interval": 0})
        copy._out = None
        copy.phases_given = True  # the phases it shows are the live view's
        copy.set_params(dict(self.params))
        if copy.phases != self.phases:
            copy.build_layout(self.phases)
        return copy

    def set_params(self, params: dict[str, Any]) -> None:
        """Take ``train_loop``'s phases, unless ``phases=`` was given or the plot is already on screen."""
        super().set_params(params)
        phases = tuple(params.get("phases") or ())
        if phases and phases != self.phases and not self.phases_given and not self.displayed:
            self.build_layout(names("phases", phases))

    def _shows(self, phase: str) -> bool:
        """Whether the view shows ``phase``. It ignores other phases: quietly when ``phases=`` chose them (as in
        a :class:`~livetrain.Dashboard` whose views show different phases), else with one warning per phase."""
        if phase in self.phases:
            return True
        if not self.phases_given:
            self._warn_once(phase, f"{type(self).__name__} shows phases {list(self.phases)}, got phase {phase!r}; "
                                   f"it is ignored. Pass phases=(...) to show it")
        return False

    def _warn_once(self, topic: str, message: str) -> None:
        """Warn ``message`` the first time ``topic`` comes up for this view."""
        if topic not in self._warned:
            self._warned.add(topic)
            warnings.warn(f"livetrain: {message}", RuntimeWarning, stacklevel=4)

    def _series(self, phase: str, history: Series) -> Mapping[str, list] | None:
        """``history[phase]``; ``None`` if the view does not show ``phase``; a clear error if ``history`` is not
        shaped right."""
        if not self._shows(phase):
            return None
        series = history.get(phase) if isinstance(history, Mapping) else None
        if not isinstance(series, Mapping):
            raise TypeError(f"history must be a dict shaped history[phase][key] == [one value per epoch]; "
                            f"history[{phase!r}] is {type(series).__name__}")
        return series

    def _push(self) -> None:
        with curdocs_kept():
            self.apply_pending()
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
        """Push what is pending, then leave the final state in the output (see ``Output.finish``): a saved
        notebook, a reloaded page and nbconvert show the end of the run. A later update shows the plot again
        in the cell that makes it."""
        self.throttle.close()
        if self._host is not self or self._out is None or not self._shown:
            return
        with self.throttle.lock:
            try:
                self._out.scale = pixel_scale(self.picture_scale)  # what the output draws its picture at
                self._out.finish()
            except Exception as exc:  # noqa: BLE001 - the run is over; its history must still come back
                warnings.warn(f"livetrain: storing the final plot in the notebook failed ({type(exc).__name__}: "
                              f"{exc}); the live plot shows it until the page is reloaded.", RuntimeWarning,
                              stacklevel=2)
            self._shown = False

    def picture(self, scale: float = 1.0) -> bytes | None:
        """A PNG of the view as it is now (what is recorded and not pushed yet included), ``scale`` device pixels per
        CSS pixel (seed 003's ``savefig(dpi=300)`` is about 3), drawn as the notebook's final picture is (matplotlib,
        else Chromium); ``None`` when neither is installed.

        Example:
            >>> from livetrain import LinePlotsCallback
            >>> png = LinePlotsCallback(epochs=5).picture(scale=2)
            >>> png is None or png.startswith(b"\\x89PNG")
            True
        """
        with self.throttle.lock, curdocs_kept():
            self.apply_pending()
            return picture(self.graph, pixel_scale(scale))

    @classmethod
    def from_history(cls, history: History, keys: Sequence[str] | None = None,
                     phases: Sequence[str] | None = None, **options: Any) -> LiveView:
        """This view, set up to draw the saved ``history`` (its ``keys`` and ``phases``; by default those the
        view finds in it). The registered views (:data:`livetrain.views.VIEWS`) implement it; ``livetrain gif``
        uses it. ``options`` go to the constructor."""
        raise TypeError(f"{cls.__name__} cannot be set up from a saved history")

    @classmethod
    def demo_history(cls, epochs: int = 3, phases: Sequence[str] = ("train", "test")) -> History:
        """A small made-up history this view draws with its defaults: for examples and for the tests that every
        registered view passes."""
        raise TypeError(f"{cls.__name__} has no demo history")


class LatestEpochView(LiveView):
    """A view redrawn from each phase's latest epoch values of ``keys`` (bars, images, PR curves, a confusion matrix,
    a prediction sheet). Subclasses implement :meth:`_record`: read those values, outside the lock, then record in
    ``self._latest[phase]`` what :meth:`_draw` sets on the models. A resumed run shows its last values at once."""

    keys: tuple[str, ...]

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__(interval)
        self._latest: dict[Any, Any] = {}  # what the next push draws, by phase (by (phase, key) in LatestValuesView)

    @abstractmethod
    def _record(self, phase: str, history: Series) -> bool:
        """Read ``phase``'s latest values, then record them under the lock; whether there were any to draw."""

    def _latest_values(self, phase: str, history: Series) -> list[Any] | None:
        """The latest value of each of ``keys`` in ``history[phase]``; ``None`` when the view does not show ``phase``
        or a key has no value (or ``None``: a value that left memory)."""
        series = self._series(phase, history)
        if series is None:
            return None
        latest = [series[k][-1] if len(series.get(k, ())) else None for k in self.keys]
        return None if any(v is None for v in latest) else latest

    def _draw(self, phase: str, latest: Any) -> None:
        """Set ``latest``, what :meth:`_record` recorded for ``phase``, on the Bokeh models; a draw cut short by an
        interrupt is done again, whole."""
        raise NotImplementedError(f"{type(self).__name__} must implement _draw or apply_pending")

    def apply_pending(self) -> None:
        """Draw each phase recorded since the last push. An interrupt (Ctrl-C) leaves the phase it cut short and
        those after it to the next push; an error drops them."""
        latest, self._latest = self._latest, {}
        try:
            for phase, value in list(latest.items()):
                self._draw(phase, value)
                del latest[phase]
        except BaseException as exc:
            if not isinstance(exc, Exception):  # an interrupt: newer values recorded meanwhile win
                self._latest = {**latest, **self._latest}
                run_again(0)
            raise

    def on_train_begin(self, history: History) -> None:
        for phase in self.phases:
            if all(len(history.get(phase, {}).get(k, ())) for k in self.keys):
                self._record(phase, history)
        super().on_train_begin(history)

    def on_epoch_end(self, epoch: int, phase: str, history: Series) -> None:
        if self._record(phase, history):
            self._request()


class LatestValuesView(LatestEpochView):
    """A view of each phase's latest value per key (bars, images): every update replaces them.

    Subclasses set ``keys`` and implement :meth:`convert`; the converted values wait until
    :meth:`~LiveView.apply_pending` takes them with :meth:`take_latest` and sets them on the Bokeh models.
    """

    keys: tuple[str, ...]
    noun: ClassVar[str] = "values"  #: what the keys hold, for error messages ("images")

    @abstractmethod
    def convert(self, phase: str, key: str, value: Any) -> Any:
        """``value`` in the form :meth:`~LiveView.apply_pending` sets on the Bokeh models, or a clear error."""

    def take_latest(self) -> dict[tuple[str, str], Any]:
        """The converted values recorded since the last call, by ``(phase, key)``. Called with the lock held."""
        latest, self._latest = self._latest, {}
        return latest

    def _record(self, phase: str, history: Series) -> bool:
        """Convert the latest value of every key of ``phase`` (outside the lock), then record them; whether there
        were any. A phase the view does not show, or that holds none of the keys (images logged in one phase
        only), is skipped; one that holds some of them but not all is a clear error."""
        series = self._series(phase, history)
        if series is None:
            return False
        missing = [k for k in self.keys if k not in series or not len(series[k])]
        if len(missing) == len(self.keys):
            return False
        if missing:
            raise KeyError(f"history[{phase!r}] has no {self.noun} for {missing}; it has {list(series)}. "
                           f"Pass keys=(...) to {type(self).__name__}")
        latest = {(phase, k): self.convert(phase, k, series[k][-1]) for k in self.keys}
        with self.throttle.lock:
            self._latest.update(latest)
        return True


def saved_keys(history: History, keys: Sequence[str] | None, phases: Sequence[str] | None,
               defaults: Callable[[Mapping[str, list]], Sequence[str]], view: str
               ) -> tuple[Mapping[str, list], tuple[str, ...], tuple[str, ...]]:
    """For :meth:`LiveView.from_history`: the first phase's series, the keys and the phases to draw; ``defaults``
    picks the keys from the first phase's series when ``keys`` is not given. A clear error when they are not there.

    Example:
        >>> saved_keys(History({"train": {"loss": [1.0]}}), None, None, lambda s: list(s), "line")[1:]
        (('loss',), ('train',))
    """
    phases = tuple(phases or history)
    if not phases or any(p not in history for p in phases):
        raise ValueError(f"the history has phases {list(history)}; asked for {list(phases)}")
    first = history[phases[0]]
    chosen = tuple(keys or defaults(first))
    missing = [k for k in chosen if k not in first]
    if not chosen or missing:
        raise ValueError(f"history[{phases[0]!r}] has keys {list(first)}; the {view} view needs "
                         f"{missing or 'a key with one number per epoch'} (choose with --keys)")
    return first, chosen, phases


def file_name(class_name: str) -> str:
    """The name of a view's files: ``LinePlotsCallback`` -> ``line``, ``Dashboard`` -> ``dashboard``.

    Example:
        >>> file_name("VBarPlotsCallback")
        'vbar'
    """
    return class_name.removesuffix("PlotsCallback").removesuffix("Callback").lower() or "plot"

