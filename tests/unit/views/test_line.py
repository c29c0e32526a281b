import math

import pytest
from bokeh.models import GlyphRenderer, HoverTool, Legend, Range1d

from livetrain import LinePlotsCallback, train_loop


def epochs_history(n, phases=("train", "test")):
    return {p: {"loss": [1 / (e + 1) for e in range(n)], "acc": [1 - 1 / (e + 2) for e in range(n)]} for p in phases}


def renderers(cb):
    return [r for fig in cb.figures for r in fig.renderers if isinstance(r, GlyphRenderer)]


def test_blog_style_calls_stream_one_row_per_epoch_and_phase():
    cb = LinePlotsCallback(epochs=20)
    h = {"train": {"loss": [], "acc": []}, "test": {"loss": [], "acc": []}}
    for e in range(3):
        for phase in ("train", "test"):
            h[phase]["loss"].append(1.0 / (e + 1))
            h[phase]["acc"].append(0.5 + e / 10)
            cb.on_epoch_end(e, phase, h)
    cb.flush()
    for phase in ("train", "test"):
        assert cb.sources[phase].data == {"epoch": [1, 2, 3], "y0": [1.0, 0.5, 1 / 3], "y1": [0.5, 0.6, 0.7]}
        assert cb.columns == {"loss": "y0", "acc": "y1"}


def test_layout_figures_lines_legend_hover_and_fixed_x_range():
    cb = LinePlotsCallback(epochs=20)
    assert [f.title.text for f in cb.figures] == ["Loss", "Accuracy"]
    assert hasattr(cb, "graph")
    for fig in cb.figures:
        assert isinstance(fig.x_range, Range1d) and (fig.x_range.start, fig.x_range.end) == (0, 20)
        legend = fig.select_one(Legend)
        assert legend.click_policy == "hide"
        assert [i.label.value for i in legend.items] == ["train", "test", "best test loss"]
        assert fig.select(HoverTool)
    colors = {r.name: r.glyph.line_color for r in renderers(cb) if r.name in ("train", "test")}
    assert colors["train"] != colors["test"]


def test_renderers_are_built_once_not_per_update():
    cb = LinePlotsCallback(epochs=100)
    before = len(renderers(cb))
    h = epochs_history(50)
    for e in range(50):
        cb.on_epoch_end(e, "train", {"train": {k: v[: e + 1] for k, v in h["train"].items()}})
    cb.flush()
    assert len(renderers(cb)) == before


def test_missed_epochs_are_back_filled_so_no_point_is_lost():
    cb = LinePlotsCallback()
    cb.on_epoch_end(4, "train", epochs_history(5, ["train"]))
    cb.flush()
    assert cb.sources["train"].data["epoch"] == [1, 2, 3, 4, 5]
    assert cb.sources["train"].data[cb.columns["loss"]] == epochs_history(5)["train"]["loss"]


def test_nan_and_inf_are_kept_as_gaps_and_skipped_for_best():
    cb = LinePlotsCallback(phases=("train",))
    h = {"train": {"loss": [2.0, math.nan, math.inf, 1.0], "acc": [0.1, 0.2, 0.3, math.nan]}}
    cb.on_epoch_end(3, "train", h)
    cb.flush()
    loss = cb.sources["train"].data[cb.columns["loss"]]
    assert loss[0] == 2.0 and math.isnan(loss[1]) and loss[2] == math.inf and loss[3] == 1.0
    assert cb.best == (4, 1.0)


def test_best_epoch_is_the_best_monitor_value_of_the_last_phase():
    cb = LinePlotsCallback(monitor="acc")
    h = {"train": {"loss": [3, 2, 1], "acc": [0.1, 0.2, 0.9]}, "test": {"loss": [3, 1, 2], "acc": [0.5, 0.8, 0.7]}}
    cb.on_epoch_end(2, "train", h)
    cb.on_epoch_end(2, "test", h)
    cb.flush()
    assert cb.best == (2, 0.8)
    with pytest.raises(ValueError, match="monitor must be one of keys"):
        LinePlotsCallback(monitor="f1")
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        LinePlotsCallback(mode="lowest")


def test_a_non_numeric_value_raises_type_error_naming_the_key():
    cb = LinePlotsCallback()
    with pytest.raises(TypeError, match="metric 'acc'"):
        cb.on_epoch_end(0, "train", {"train": {"loss": [1.0], "acc": ["high"]}})


@pytest.mark.parametrize("call, match", [
    (lambda cb: cb.on_epoch_end(0, "val", {"val": {"loss": [1.0]}}), "got phase 'val'; it is ignored. Pass phases="),
    (lambda cb: cb.on_epoch_end(0, "train", {"train": {"f1": [1.0]}}), r"none of the plotted keys \['loss', 'acc'\]; "
                                                                      r"it has \['f1'\]"),
])
def test_input_it_cannot_draw_is_skipped_with_a_warning(call, match):
    with pytest.warns(RuntimeWarning, match=match):
        call(LinePlotsCallback())


@pytest.mark.parametrize("call, error, match", [
    (lambda cb: cb.on_epoch_end(0, "train", {"train": [1.0]}), TypeError, "history must be a dict shaped"),
    (lambda cb: LinePlotsCallback(keys="loss"), TypeError, "keys must be a non-empty sequence of str"),
    (lambda cb: LinePlotsCallback(epochs=0), ValueError, "epochs must be an int >= 1"),
])
def test_bad_input_gets_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call(LinePlotsCallback())


def test_train_loop_phases_and_epochs_configure_an_undisplayed_callback():
    cb = LinePlotsCallback()
    train_loop(lambda b, p: {"loss": 1.0, "acc": 0.5}, {"train": [[1]], "val": [[1]]}, epochs=3, callbacks=[cb],
               progress=False)
    assert cb.phases == ("train", "val")
    assert cb.sources["val"].data["epoch"] == [1, 2, 3]
    assert cb._x_range.end == 3


def test_per_batch_points_sit_inside_their_epoch():
    cb = LinePlotsCallback()
    train_loop(lambda b, p: {"loss": float(b[0]), "acc": 0.5}, {"train": [[1], [2], [3], [4]]}, epochs=2,
               callbacks=[cb], progress=False)
    assert cb.batch_sources["train"].data["x"] == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
    assert cb.batch_sources["train"].data[cb.columns["loss"]] == [1.0, 2.0, 3.0, 4.0] * 2


def test_batch_points_without_known_length_use_the_last_epoch_length():
    cb = LinePlotsCallback(phases=("train",))
    for e in range(2):
        for b in range(4):
            cb.on_batch_end(b, "train", {"loss": 1.0})
        cb.on_epoch_end(e, "train", epochs_history(e + 1, ["train"]))
    cb.flush()
    x = cb.batch_sources["train"].data["x"]
    assert all(0 < a < 1 for a in x[:4]) and x[:4] == sorted(x[:4])
    assert x[4:] == [1.25, 1.5, 1.75, 2.0]


def test_interrupt_is_marked_on_every_figure():
    cb = LinePlotsCallback()

    def step(batch, phase):
        if batch == "stop":
            raise KeyboardInterrupt
        return {"loss": 1.0, "acc": 0.5}

    train_loop(step, {"train": ["a"], "test": ["b", "stop"]}, epochs=3, callbacks=[cb], progress=False)
    assert all("interrupted at epoch 1" in f.title.text for f in cb.figures)
    assert all(s.visible and s.location == 1 for s in cb._spans)
    assert cb.sources["train"].data["epoch"] == [1]


def test_x_range_grows_in_steps_when_epochs_unknown():
    cb = LinePlotsCallback(phases=("train",))
    ends = []
    for e in range(9):
        cb.on_epoch_end(e, "train", epochs_history(e + 1, ["train"]))
        cb.flush()
        ends.append(cb._x_range.end)
    assert ends == [2, 4, 4, 8, 8, 8, 8, 16, 16]


def test_only_the_training_phase_draws_batch_points_by_default():
    cb = LinePlotsCallback()
    train_loop(lambda b, p: {"loss": 1.0, "acc": 0.5}, {"train": [[1], [2]], "test": [[3]]}, epochs=1,
               callbacks=[cb], progress=False)
    assert len(cb.batch_sources["train"].data["x"]) == 2 and cb.batch_sources["test"].data["x"] == []
    both = LinePlotsCallback(batch_phases=("train", "test"))
    both.on_batch_end(0, "test", {"loss": 1.0})
    both.flush()
    assert both.batch_sources["test"].data[both.columns["loss"]] == [1.0]


def test_empty_plot_keeps_axes_until_data_arrives():
    cb = LinePlotsCallback(phases=("train",))
    assert all(p.visible for p in cb._placeholders)
    cb.on_epoch_end(0, "train", epochs_history(1, ["train"]))
    cb.flush()
    assert not any(p.visible for p in cb._placeholders)
