"""ScalarsView and ScalarPanel: step-level tags as panels, each series on its own x, decimated on the page."""
import json
import warnings

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.embed import json_item
from bokeh.models import DatetimeAxis, Slider, Toggle

from livetrain import History
from livetrain.core.decimate import STOPS
from livetrain.core.steps import Trace
from livetrain.views.scalars import ScalarPanel, ScalarsView
from livetrain.wire import patch_message

pytestmark = pytest.mark.usefixtures("no_display")  # views made here display nothing


def data(view: ScalarsView, tag: str) -> dict[str, list]:
    return view.panels[tag].sources[tag].data


def test_panels_appear_as_tags_arrive_each_on_its_own_cadence():
    view = ScalarsView()
    for step in range(100):
        view.log({"train/loss": 1 / (step + 1)}, step)
        if step % 10 == 0:
            view.log({"test/accuracy": step / 100}, step)
    view.flush()
    assert list(view.panels) == ["train/loss", "test/accuracy"]
    assert data(view, "train/loss")["x"] == list(range(100))
    assert data(view, "test/accuracy")["x"] == list(range(0, 100, 10))  # no NaN rows between its points
    assert data(view, "test/accuracy")["y"] == [s / 100 for s in range(0, 100, 10)]
    assert [r.children for r in view.graph.children[1:]] == [[p.figure for p in view.panels.values()]]
    view.log({"lr": 0.1}, 100)
    view.flush()
    assert list(view.panels) == ["train/loss", "test/accuracy", "lr"]


def test_only_the_given_tags_are_drawn():
    view = ScalarsView(tags=["loss"])
    view.log({"loss": 1.0, "acc": 0.5})
    view.flush()
    assert list(view.panels) == ["loss"]


def test_a_million_points_keep_the_page_within_budget_and_the_saved_output_small():
    view = ScalarsView(width=400)
    history = view.history
    trace_values = np.cumsum(np.random.default_rng(0).normal(size=1_000_000))
    for start in range(0, 1_000_000, 100_000):  # as a long run would, in bulk to keep the test short
        history.steps.setdefault("loss", Trace("loss"))
        history.steps["loss"].extend(np.arange(start, start + 100_000), trace_values[start:start + 100_000],
                                     np.zeros(100_000), np.full(100_000, np.nan))
        view.on_log(start, {"loss": None}, history)
        view.flush()
    rows = data(view, "loss")
    assert len(rows["x"]) <= 800  # two rows per pixel of a 400-pixel panel
    assert rows["x"][-1] == 999_999 and rows["y"][-1] == trace_values[-1]
    assert rows["y"].count(trace_values.max()) and rows["y"].count(trace_values.min())
    saved = len(json.dumps(json_item(view.graph)))
    assert saved < 300_000, saved  # the whole document, as the final output stores it


def test_bytes_per_update_stay_flat_from_ten_to_a_hundred_thousand_points():
    view = ScalarsView()
    doc = Document()
    doc.add_root(view.graph)
    events = []
    doc.on_change(events.append)
    sizes = {}
    rng = np.random.default_rng(1)
    for step in range(100_010):
        view.history.log({"loss": float(rng.normal())}, step)
        if step in range(10, 20) or step in range(100_000, 100_010):
            view.on_log(step, {"loss": None}, view.history)
            view.flush()
            content, _, buffers = patch_message(events)
            if not any(e.__class__.__name__ == "ColumnDataChangedEvent" for e in events):  # not a reset
                sizes[step] = len(content) + sum(map(len, buffers))
            events.clear()
    early = np.median([v for k, v in sizes.items() if k < 100])
    late = np.median([v for k, v in sizes.items() if k > 100])
    assert late <= 1.5 * early + 300, (early, late)


def test_the_smoothed_line_is_bold_over_a_faint_raw_line_and_starts_at_the_chosen_stop():
    panel = ScalarPanel(["loss"], "loss", smoothing=0.9, group="g")
    raw, smooth = panel.figure.renderers
    assert raw.glyph.y == "y" and raw.glyph.line_alpha < 0.5 and smooth.glyph.y == f"s{STOPS.index(0.9)}"
    assert smooth.glyph.line_width > raw.glyph.line_width and smooth.glyph.line_alpha == 1
    assert "g" in panel.figure.tags and "smoothed" in smooth.tags


def test_new_points_redraw_the_lines_layer_alone_and_a_single_tag_has_no_legend():
    panel = ScalarPanel(["loss"], "loss", group="g")
    assert [r.level for r in panel.figure.renderers] == ["overlay", "overlay"]  # above the axes', grids' layer
    assert not panel.figure.legend
    for event in ("streaming", "patching", "change:data"):  # in the page, each update keeps the axes still
        [keep] = panel.sources["loss"].js_property_callbacks[event]
        assert keep.args["plot"] is panel.figure


def test_the_page_controls_are_a_slider_over_the_stops_and_a_log_toggle():
    view = ScalarsView()
    slider, toggle = view.graph.children[0].children
    assert isinstance(slider, Slider) and (slider.start, slider.end, slider.value) == (0, len(STOPS) - 1, 1)
    assert isinstance(toggle, Toggle) and not toggle.active
    view.log({"loss": 1.0})
    view.flush()
    layouts = [view.graph, *view.graph.children[1:]]
    for model, attr in ((slider, "value"), (toggle, "active"), *((layout, "children") for layout in layouts)):
        [callback] = model.js_property_callbacks[f"change:{attr}"]  # a panel arriving later takes their state
        assert callback.args["group"] == view.group  # acts on this view's panels only, in the page


@pytest.mark.parametrize("x", ["epoch", "wall", "relative"])
def test_the_x_axis_is_the_chosen_one_and_says_so(x):
    view = ScalarsView(x=x)
    view.history.log({"loss": 1.0}, 0, wall=1000.0, epoch=0.5)
    view.history.log({"loss": 0.5}, 10, wall=1002.5, epoch=1.0)
    view.on_log(10, {"loss": None}, view.history)
    view.flush()
    fig = view.panels["loss"].figure
    assert fig.xaxis[0].axis_label == {"epoch": "epoch", "wall": "wall time", "relative": "time since start (s)"}[x]
    assert isinstance(fig.xaxis[0], DatetimeAxis) == (x == "wall")
    assert data(view, "loss")["x"] == {"epoch": [0.5, 1.0], "wall": [1e6, 1.0025e6], "relative": [0.0, 2.5]}[x]
    assert data(view, "loss")["step"] == [0, 10]
    [hover] = [t for t in fig.tools if t.__class__.__name__ == "HoverTool"]
    assert hover.tooltips[1][0] == fig.xaxis[0].axis_label


def test_a_series_without_epochs_is_skipped_under_x_epoch_with_one_warning():
    view = ScalarsView(x="epoch")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(3):
            view.log({"loss": 1.0, "acc": 0.5}, step)
            view.flush()
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2 and all("logged without epochs" in m and "x='step'" in m for m in messages)
    assert data(view, "loss")["x"] == [] and data(view, "acc")["x"] == []


def test_epoch_values_from_train_loop_are_tags_phase_key():
    view = ScalarsView()
    history = History()
    for epoch in range(3):
        history.append("train", {"loss": 1 / (epoch + 1), "images": [[0.0]]})
        view.on_epoch_end(epoch, "train", history)
    view.flush()
    assert list(view.panels) == ["train/loss"]
    assert data(view, "train/loss")["x"] == [1, 2, 3] and data(view, "train/loss")["y"] == [1, 0.5, 1 / 3]


def test_log_never_raises_into_the_loop():
    view = ScalarsView()
    with pytest.warns(RuntimeWarning, match="'loss'"):
        assert view.log({"loss": "high"}) is None
    assert view.log({"loss": 0.5}) == 0


def test_a_panel_of_several_tags_gives_each_its_own_line_and_x():
    history = History()
    for step in range(20):
        history.log({"loss/train": 1.0 / (step + 1)}, step)
        if step % 5 == 0:
            history.log({"loss/test": 2.0 / (step + 1)}, step)
    panel = ScalarPanel(["loss/train", "loss/test"], "loss")
    assert panel.update(history)
    panel.apply()
    assert panel.sources["loss/train"].data["x"] == list(range(20))
    assert panel.sources["loss/test"].data["x"] == [0, 5, 10, 15]
    [legend] = panel.figure.legend
    assert len(legend.items) == 2 and legend in panel.figure.above  # over the frame: no line hides under it
    assert not panel.update(history)  # nothing new


def test_bad_options_are_clear_errors():
    with pytest.raises(ValueError, match="x must be one of 'step', 'epoch', 'wall', 'relative', got 'time'"):
        ScalarsView(x="time")
    with pytest.raises(ValueError, match=r"smoothing must be one of the slider's stops \[0.0, 0.6"):
        ScalarsView(smoothing=0.5)


def test_a_new_history_for_a_tag_starts_its_line_afresh():
    view = ScalarsView()
    for step in range(5):
        view.log({"loss": 1.0}, step)
    view.flush()
    fresh = History()
    fresh.log({"loss": 0.5}, 0)
    view.on_log(0, {"loss": 0.5}, fresh)
    view.flush()
    assert data(view, "loss")["x"] == [0] and data(view, "loss")["y"] == [0.5]


def test_in_train_loop_it_draws_the_per_batch_traces_not_the_epoch_means_over_them():
    from livetrain import train_loop

    view = ScalarsView()
    history = train_loop(lambda batch, phase: {"loss": 1.0 / (batch + 1)}, {"train": [0, 1, 2, 3]}, epochs=3,
                         callbacks=[view], progress=False)
    view.flush()
    assert list(view.panels) == ["train/loss"]
    assert "train/loss" not in view.history.steps  # no epoch means logged over train_loop's trace
    assert view.panels["train/loss"].update(history) is False  # all 12 per-batch points are drawn


def test_log_never_waits_for_a_push_in_progress():
    import threading
    import time

    view = ScalarsView(interval=0.05)
    view.log({"loss": 1.0}, step=0)  # pushed at once
    entered, release, push = threading.Event(), threading.Event(), view.throttle.action

    def slow_push():
        entered.set()
        release.wait(5)
        push()

    view.throttle.action = slow_push
    view.log({"loss": 0.9}, step=1)  # within the interval: the helper pushes it, slowly
    assert entered.wait(5)
    t0 = time.monotonic()
    view.log({"loss": 0.5, "acc": 0.9}, step=2)
    waited = time.monotonic() - t0
    release.set()
    view.flush()
    view.throttle.action = push
    assert waited < 1, f"log() waited {waited:.2f} s for a push"
    assert set(view.panels) == {"loss", "acc"}
    assert view.panels["loss"].update(view.history) is False
