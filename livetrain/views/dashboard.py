"""``Dashboard``: several live views in one layout, one display, one handle and one push per throttle window."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bokeh.layouts import column, row

from ..core.callback import CallbackList
from ..core.history import History
from .base import LiveView


class Dashboard(LiveView):
    """Several live views shown as one: their layouts in rows of ``ncols`` (one column by default), updated by a
    single push.

    Pass the dashboard (not its views) to ``train_loop``: it forwards every hook to each view,
    and a view that raises is switched off on its own while the others go on. Each view shows the phases
    given to it (``phases=``), else the loop's, and ignores the others; the dashboard's ``phases`` are
    all of theirs. Updates of all the views within one throttle window go out in one push.

    Example:
        >>> from livetrain import LinePlotsCallback, VBarPlotsCallback
        >>> board = Dashboard([LinePlotsCallback(epochs=10), VBarPlotsCallback(categories=10)])
        >>> [type(v).__name__ for v in board.views], board.phases
        (['LinePlotsCallback', 'VBarPlotsCallback'], ('train', 'test'))
        >>> grid = Dashboard([VBarPlotsCallback(categories=3) for _ in range(3)], ncols=2)
        >>> [len(r.children) for r in grid.graph.children]
        [2, 1]
    """

    def __init__(self, views: Sequence[LiveView], interval: float = 0.1, *, ncols: int = 1) -> None:
        if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
            raise ValueError(f"ncols must be an int >= 1 (views per row), got {ncols!r}")
        self.ncols = ncols
        views = list(views)
        if not views or not all(isinstance(v, LiveView) for v in views):
            raise TypeError(f"Dashboard needs a non-empty list of livetrain views (LinePlotsCallback, ...), "
                            f"got {[type(v).__name__ for v in views] or views!r}")
        if len({id(v) for v in views}) != len(views) or any(v.displayed for v in views):
            raise ValueError("each view can join one dashboard once, before it is displayed")
        super().__init__(interval)
        self.views = views
        for view in views:
            view.join(self)
        self._hooks = CallbackList(views)
        self.build_layout(())

    def build_layout(self, phases: tuple[str, ...]) -> None:
        """Lay the views' graphs out in rows of ``ncols``; ``self.phases`` are the phases any view shows."""
        self.phases = tuple(dict.fromkeys(p for v in self.views for p in v.phases))
        graphs = [v.graph for v in self.views]
        if self.ncols == 1:
            self.graph = column(graphs)
        else:
            self.graph = column([row(graphs[i:i + self.ncols]) for i in range(0, len(graphs), self.ncols)])

    def replica(self) -> Dashboard:
        """A new dashboard of the views' replicas (see :meth:`LiveView.replica`).

        Example:
            >>> from livetrain import LinePlotsCallback
            >>> len(Dashboard([LinePlotsCallback()]).replica().views)
            1
        """
        copy = Dashboard([v.replica() for v in self.views], interval=0, ncols=self.ncols)
        copy._out = None
        copy.params = dict(self.params)
        return copy

    def apply_pending(self) -> None:
        self._hooks.each("apply_pending", lambda view: view.apply_pending())  # a failing view is switched off

    def set_params(self, params: dict[str, Any]) -> None:
        self._hooks.set_params(params)  # views may rebuild their layouts for the loop's phases,
        self.params = params
        if not self.displayed:  # and then so does the dashboard
            self.build_layout(())

    def on_train_begin(self, history: History) -> None:
        self._hooks.on_train_begin(history)
        super().on_train_begin(history)

    def on_epoch_begin(self, epoch: int, phase: str) -> None:
        self._hooks.on_epoch_begin(epoch, phase)

    def on_batch_end(self, batch: int, phase: str, logs: Mapping[str, float]) -> None:
        self._hooks.on_batch_end(batch, phase, logs)

    def on_epoch_end(self, epoch: int, phase: str, history: Mapping[str, Mapping[str, list]]) -> None:
        self._hooks.on_epoch_end(epoch, phase, history)

    def on_log(self, step: int, logs: Mapping[str, Any], history: History) -> None:
        self._hooks.on_log(step, logs, history)

    def on_train_end(self, history: History) -> None:
        self._hooks.on_train_end(history)
        super().on_train_end(history)

    def on_exception(self, exception: BaseException, history: History) -> None:
        self._hooks.on_exception(exception, history)
        super().on_exception(exception, history)

    def __repr__(self) -> str:
        return f"Dashboard({self.views!r}, ncols={self.ncols})"
