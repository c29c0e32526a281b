"""The view contract: every view registered in ``livetrain.views.VIEWS`` (and a ``Dashboard`` of them all), fed its
own ``demo_history`` epoch by epoch as ``train_loop`` would,

- updates its layout in place: after the first epoch only data events, never a new model or root;
- sends as many bytes per update at epoch 200 as at epoch 5;
- is reproduced by its ``replica()`` (same data in every source, same titles, sizes and ranges);
- and, for a registered view, is drawn by every renderer registered in ``livetrain.frames.RENDERERS`` (after the first
  epoch and after the last: two frames of one size that differ), and is built by ``from_history`` from its demo
  history.

A new view registered in ``VIEWS`` is tested here without editing this file.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.model import Model
from bokeh.model.util import collect_models
from bokeh.models import ColumnDataSource, Plot
from PIL import Image, ImageChops

from livetrain import Dashboard, History
from livetrain.frames import RENDERERS, renderer_class
from livetrain.frames.png import to_image
from livetrain.views import VIEWS, LiveView
from livetrain.wire import patch_message

DASHBOARD = "Dashboard(all views)"
CASES = [*sorted(VIEWS), DASHBOARD]
#: Events that change data or properties of models already in the document.
DATA_EVENTS = {"ColumnsStreamed", "ColumnsPatched", "ColumnDataChanged", "ModelChanged"}


pytestmark = pytest.mark.usefixtures("no_display")  # views made here display nothing


def demo(case: str, epochs: int = 3) -> History:
    """The case's demo history; for the dashboard, every view's demo histories merged phase by phase."""
    if case != DASHBOARD:
        return VIEWS[case].demo_history(epochs)
    merged = History()
    for kind in sorted(VIEWS):
        for phase, series in VIEWS[kind].demo_history(epochs).items():
            into = merged.setdefault(phase, {})
            for key, values in series.items():
                assert key not in into or same(into[key], values), \
                    f"the demo histories disagree on {phase}/{key}; the dashboard case needs them to agree"
                into[key] = values
    return merged


def make(case: str) -> LiveView:
    """The case's view with its defaults (its demo history is made for them)."""
    return Dashboard([VIEWS[kind]() for kind in sorted(VIEWS)]) if case == DASHBOARD else VIEWS[case]()


def count(history: Mapping) -> int:
    return max(len(v) for series in history.values() for v in series.values())


def start(view: LiveView, history: Mapping) -> None:
    """What ``train_loop`` does before the first epoch."""
    view.set_params({"epochs": count(history), "phases": list(history), "steps": {}})
    view.on_train_begin(History())


def epochs_of(history: Mapping) -> Iterator[tuple[int, list[tuple[str, History]]]]:
    """Per epoch, each phase with the history as it stood at that phase's end (grown in place, as in
    ``livetrain.cli.replay``)."""
    grown = History({p: {k: [] for k in series} for p, series in history.items()})
    for epoch in range(count(history)):
        steps = []
        for phase, series in history.items():
            for key, values in series.items():
                grown[phase][key].extend(values[epoch:epoch + 1])
            steps.append((phase, grown))
        yield epoch, steps


def feed(view: LiveView, steps: list[tuple[str, History]], epoch: int) -> None:
    """One epoch's phase ends, then the pending data applied."""
    for phase, grown in steps:
        view.on_epoch_end(epoch, phase, grown)
    view.flush()


def same(a: Any, b: Any) -> bool:
    """Equal values, NaN equal to NaN, arrays compared element by element."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return False
        if a.dtype.kind in "fc" and b.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        if a.dtype == object or b.dtype == object:
            return all(same(x, y) for x, y in zip(a.tolist(), b.tolist()))
        return bool(np.array_equal(a, b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def sources(graph: Model) -> list[ColumnDataSource]:
    return [m for m in collect_models(graph) if isinstance(m, ColumnDataSource)]


def snapshot(graph: Model) -> list[dict[str, Any]]:
    return [{k: (list(v) if isinstance(v, list) else v) for k, v in s.data.items()} for s in sources(graph)]


def event_kind(event: Any) -> str:
    return getattr(event, "kind", None) or type(event).__name__.removesuffix("Event")


@pytest.mark.parametrize("case", CASES)
def test_updates_are_in_place_and_their_size_does_not_grow(case: str) -> None:
    history = demo(case, 200)
    view = make(case)
    start(view, history)
    doc = Document()
    doc.add_root(view.graph)
    events: list = []
    doc.on_change(events.append)
    ids: set[str] = set()
    sizes: dict[int, int] = {}
    for epoch, steps in epochs_of(history):
        feed(view, steps, epoch)
        assert events, f"{case}: epoch {epoch} changed nothing in the document"
        if epoch == 0:
            ids = {m.id for m in doc.models}  # kept current by Bokeh as models join or leave the layout
        else:
            kinds = sorted({event_kind(e) for e in events} - DATA_EVENTS)
            assert not kinds, f"{case}: epoch {epoch} sent {kinds}, not only data events {sorted(DATA_EVENTS)}"
            strangers = {e.model.id for e in events if getattr(e, "model", None) is not None} - ids
            assert not strangers, f"{case}: epoch {epoch} changed models that were not in the layout: {strangers}"
            now = {m.id for m in doc.models}
            assert now == ids, (f"{case}: epoch {epoch} added {len(now - ids)} and removed {len(ids - now)} models; "
                                f"an update must change the existing ones in place")
            assert doc.roots == [view.graph]
        content, _, buffers = patch_message(events)
        sizes[epoch] = len(content) + sum(map(len, buffers))
        events.clear()
    assert {m.id for m in view.graph.references()} == ids
    early, late = max(sizes[e] for e in range(3, 8)), max(sizes[e] for e in range(195, 200))
    assert late <= 1.25 * early + 300, (f"{case}: an update costs {late} bytes at epoch ~200 but {early} at epoch ~5: "
                                        f"updates must not resend the history")
    view.on_train_end(History(history))


@pytest.mark.parametrize("case", CASES)
def test_a_replica_fed_the_same_history_ends_in_the_same_state(case: str) -> None:
    history = demo(case, 6)
    live = make(case)
    start(live, history)
    copy = live.replica()
    assert type(copy) is type(live) and copy.graph is not live.graph
    for epoch, steps in epochs_of(history):
        feed(live, steps, epoch)
        for phase, grown in steps:
            copy.on_epoch_end(epoch, phase, grown)  # a replica applies at once, no flush needed
    live.on_train_end(History(history))
    ours, theirs = sources(live.graph), sources(copy.graph)
    assert [s.name for s in ours] == [s.name for s in theirs], f"{case}: the replica has other sources"
    assert any(s.data for s in ours)
    for a, b in zip(ours, theirs):
        assert a.data.keys() == b.data.keys(), f"{case}: source {a.name} has other columns in the replica"
        for column in a.data:
            assert same(a.data[column], b.data[column]), f"{case}: {a.name}[{column!r}] differs in the replica"
    plots = [m for m in collect_models(live.graph) if isinstance(m, Plot)]
    copies = [m for m in collect_models(copy.graph) if isinstance(m, Plot)]
    assert len(plots) == len(copies) and plots
    for a, b in zip(plots, copies):
        where = f"{case}: figure {a.title.text if a.title else '?'!r}"
        assert (a.title.text if a.title else None) == (b.title.text if b.title else None), f"{where}: title differs"
        for attr in ("width", "height", "frame_width", "frame_height"):
            assert getattr(a, attr) == getattr(b, attr), f"{where}: {attr} differs in the replica"
        for axis in ("x_range", "y_range"):
            ra, rb = getattr(a, axis), getattr(b, axis)
            assert type(ra) is type(rb), f"{where}: {axis} differs in the replica"
            for attr in ("start", "end", "reset_start", "reset_end", "factors", "bounds"):
                if hasattr(ra, attr):
                    assert same(getattr(ra, attr), getattr(rb, attr)), f"{where}: {axis}.{attr} differs in the replica"


@pytest.mark.parametrize("kind", sorted(VIEWS))
def test_from_history_builds_a_view_of_the_demo_history(kind: str) -> None:
    history = VIEWS[kind].demo_history()
    view = VIEWS[kind].from_history(history)
    assert isinstance(view, VIEWS[kind]) and set(view.phases) == set(history)
    before = snapshot(view.graph)
    for epoch, steps in epochs_of(history):
        feed(view, steps, epoch)
    view.on_train_end(history)
    assert not same(before, snapshot(view.graph)), f"{kind}: from_history's view shows nothing of the history"


def blank(image: Image.Image) -> bool:
    return ImageChops.difference(image, Image.new("RGB", image.size, image.getpixel((0, 0)))).getbbox() is None


@pytest.mark.parametrize("renderer", sorted(RENDERERS))
@pytest.mark.parametrize("case", sorted(VIEWS))  # a dashboard of them all: tests/contract/test_renderers.py
def test_every_renderer_draws_the_view_as_it_changes(case: str, renderer: str) -> None:
    history = demo(case)
    view = make(case)
    start(view, history)
    copy = view.replica()
    cls = renderer_class(renderer)
    assert cls.missing() is None, f"renderer {renderer!r} cannot start here: it needs {cls.missing()}"
    drawer = cls(copy.graph)
    try:
        frames = []
        for epoch, steps in epochs_of(history):
            feed(copy, steps, epoch)
            if epoch in (0, count(history) - 1):
                frames.append(to_image(drawer.capture()))
    finally:
        drawer.close()
    first, last = frames
    assert first.width > 0 and first.height > 0 and not blank(first), f"{case}/{renderer}: an empty frame"
    assert first.size == last.size, f"{case}/{renderer}: frames of {first.size} then {last.size}"
    assert ImageChops.difference(first, last).getbbox() is not None, \
        f"{case}/{renderer}: the frame after the last epoch is the frame after the first"
