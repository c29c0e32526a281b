"""PRCurvesCallback and the board's PRCurvePanel: scikit-learn's curves and APs, in place, binary, drawn by mpl;
the epoch views' pushes cut short by Ctrl-C."""
import json
from contextlib import nullcontext

import numpy as np
import pytest
import torch
from bokeh.document import Document
from bokeh.model import Model
from sklearn import metrics

import livetrain
from livetrain import History, SummaryWriter
from livetrain.core.classmetrics import class_pr_curves, step_points
from livetrain.frames import open_renderer
from livetrain.frames.png import to_image
from livetrain.views.confusion import ConfusionMatrixCallback
from livetrain.views.prcurves import PRCurvePanel, PRCurvesCallback
from livetrain.views.sheet import PredictionSheetCallback
from livetrain.wire import patch_message


def predictions(seed, n=400, k=10, skill=1.5):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + skill * np.eye(k)[labels]
    return labels, np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def history(epochs, phase="test", **kw):
    pairs = [predictions(e, **kw) for e in range(epochs)]
    return {phase: {"y_true": [p[0] for p in pairs], "y_score": [p[1] for p in pairs]}}


def test_each_class_curve_and_its_ap_are_scikit_learns():
    cb = PRCurvesCallback(classes=[f"c{i}" for i in range(10)], phases=("test",))
    h = history(2)
    cb.on_epoch_end(1, "test", h)
    cb.flush()
    labels, scores = h["test"]["y_true"][-1], h["test"]["y_score"][-1]
    aps = [metrics.average_precision_score(labels == k, scores[:, k]) for k in range(10)]
    for k, source in enumerate(cb.sources["test"]):
        precision, recall, _ = metrics.precision_recall_curve(labels == k, scores[:, k])
        x, y = source.data["recall"], source.data["precision"]
        assert isinstance(x, np.ndarray) and x.dtype == np.float32 and x.size <= cb.points
        # the steps as scikit-learn's display draws them, their area the AP
        assert (x[0], x[-1], y[-1]) == (pytest.approx(recall[0]), 0.0, 1.0)
        assert -np.sum(np.diff(x.astype(float)) * y[:-1]) == pytest.approx(aps[k], abs=1e-5)
    assert [i.label.value for i in cb.legends["test"].items] == [f"c{k} (AP {ap:.3f})" for k, ap in enumerate(aps)]
    assert cb.figures[0].title.text == f"Precision-recall (test) · mAP {np.mean(aps):.3f}"
    assert cb.legends["test"].click_policy == "hide"


def test_short_curves_are_drawn_whole_and_tensors_are_read():
    labels, scores = predictions(0, n=20, k=3)
    cb = PRCurvesCallback(classes=3, phases=("train",), points=1000)
    cb.on_epoch_end(0, "train", {"train": {"y_true": [torch.tensor(labels)], "y_score": [torch.tensor(scores)]}})
    cb.flush()
    for curve, source in zip(class_pr_curves(labels, scores), cb.sources["train"]):
        x, y = step_points(curve, 1000)
        np.testing.assert_array_equal(source.data["recall"], x)
        np.testing.assert_array_equal(source.data["precision"], y)


def test_updates_replace_the_points_in_place_as_binary_buffers_of_constant_size():
    cb = PRCurvesCallback(phases=("test",))
    doc = Document()
    doc.add_root(cb.graph)
    events = []
    doc.on_change(events.append)
    h = history(1)
    ids = {m.id for m in doc.models}
    sizes = []
    for epoch in range(40):
        h["test"]["y_true"].append(h["test"]["y_true"][0])
        h["test"]["y_score"].append(predictions(epoch, n=400)[1])
        events.clear()
        cb.on_epoch_end(epoch, "test", h)
        cb.flush()
        assert {type(e).__name__ for e in events} <= {"ColumnDataChangedEvent", "ModelChangedEvent"}
        assert {m.id for m in doc.models} == ids
        content, _, buffers = patch_message(events)
        assert len(buffers) == 20 and len(content) < 6000  # recall and precision per class travel as float32 bytes
        sizes.append(len(content) + sum(map(len, buffers)))
    assert max(sizes[-5:]) <= 1.1 * max(sizes[:5])


def test_phases_without_the_keys_are_skipped_and_bad_scores_are_named():
    cb = PRCurvesCallback(classes=3, phases=("train", "test"))
    cb.on_epoch_end(0, "train", {"train": {"loss": [0.5]}})
    cb.on_epoch_end(0, "train", {"train": {"y_true": [None], "y_score": [None]}})  # a value that left memory
    assert not cb._latest
    with pytest.raises(ValueError, match=r"history\['test'\]\['y_score'\]\[-1\]: expected scores for 3 classes, "
                                         r"got 10 columns; pass classes="):
        cb.on_epoch_end(0, "test", history(1))
    with pytest.raises(ValueError, match=r"history\['test'\]\['y_true'\] and \['y_score'\]: scores must be finite"):
        cb.on_epoch_end(0, "test", {"test": {"y_true": [[0, 1]], "y_score": [[[np.nan, 1, 0], [0, 1, 0]]]}})
    with pytest.raises(ValueError, match="keys must name two history keys"):
        PRCurvesCallback(keys=("y_score",))


def test_from_history_takes_the_classes_from_the_scores_and_a_resumed_run_shows_at_once():
    saved = History(history(2, phase="val", k=4))
    cb = PRCurvesCallback.from_history(saved)
    assert cb.classes == ("0", "1", "2", "3") and cb.phases == ("val",)
    cb.on_train_begin(saved)
    cb.flush()
    assert all(s.data["recall"].size for s in cb.sources["val"])


def shown(view):
    """Every value the view's models hold (references to other models left out), sorted: what a reader sees."""
    def plain(value):
        if isinstance(value, Model):
            raise TypeError("a reference")
        return value.tolist() if isinstance(value, np.ndarray) else repr(value)

    values = []
    for model in view.graph.references():
        for name, value in model.properties_with_values(include_defaults=False).items():
            try:
                values.append(f"{type(model).__name__}.{name} = {json.dumps(value, default=plain, sort_keys=True)}")
            except TypeError:
                pass
    return sorted(values)


@pytest.mark.parametrize("view", [PRCurvesCallback, ConfusionMatrixCallback, PredictionSheetCallback])
def test_a_push_cut_short_by_ctrl_c_at_any_change_leaves_what_it_did_not_draw_to_the_next(view):
    rng, full = np.random.default_rng(0), History()
    for seed, phase in enumerate(("train", "test")):  # three classes, images for the sheet
        pairs = [predictions(seed + 2 * epoch, n=40, k=3) for epoch in range(2)]
        full[phase] = {"y_true": [p[0] for p in pairs], "y_score": [p[1] for p in pairs],
                       "images": [rng.random((40, 4, 4)) for _ in pairs]}
    first = History({p: {k: v[:1] for k, v in series.items()} for p, series in full.items()})

    def run(cut):
        """Both phases drawn by one push, Ctrl-C coming after its ``cut``-th change (none if 0), then one more."""
        cb = view.from_history(full, interval=60)
        doc = Document()
        doc.add_root(cb.graph)
        cb.on_epoch_end(0, "train", first)  # shown and pushed at once: the next push waits for the interval
        cb.on_epoch_end(1, "train", full)
        cb.on_epoch_end(1, "test", full)  # its figure's first picture: the sheet refits it
        changes = []

        def frontend(event):
            changes.append(event)
            if len(changes) == cut:
                raise KeyboardInterrupt

        doc.on_change(frontend)
        try:
            with pytest.raises(KeyboardInterrupt) if cut else nullcontext():
                cb.flush()
            cb.flush()  # the next push (or the throttle's own, which may have come first)
        finally:
            cb.throttle.close()
        return shown(cb), len(changes)

    whole, count = run(0)
    assert count >= 4
    for cut in range(1, count + 1):
        assert run(cut)[0] == whole, f"Ctrl-C after change {cut} of {count}"


def test_the_matplotlib_renderer_draws_the_curves_and_honours_click_to_hide():
    cb = PRCurvesCallback(classes=2, phases=("test",))
    cb.on_epoch_end(0, "test", history(1, k=2, skill=0.5))
    cb.flush()
    cb.legends["test"].visible = False  # its glyphs share the curves' colours

    def frame():
        renderer, _ = open_renderer(cb.graph, "matplotlib")
        try:
            return np.asarray(to_image(renderer.capture())).astype(int)
        finally:
            renderer.close()

    def orange(pixels):  # class 1's colour, Category10's second
        return int((np.abs(pixels - (255, 127, 14)).max(axis=2) <= 30).sum())

    shown = frame()
    assert orange(shown) > 100
    cb.figures[0].renderers[1].visible = False  # what a click on its legend entry does
    assert orange(frame()) == 0


def test_the_board_panel_draws_summary_writer_pr_curve_records():
    w = SummaryWriter(write_to_disk=False, show=False)
    labels, scores = predictions(3, k=2)
    w.add_pr_curve("class 1", labels == 1, scores[:, 1], global_step=7)
    step, _, curve = w.history.records["class 1"].entries[-1]
    panel = PRCurvePanel("class 1")
    panel.stage("class 1", step, curve, w.history)
    panel.apply()
    shown = curve["tp"] + curve["fp"] > 0
    np.testing.assert_array_equal(panel.source.data["recall"], curve["recall"][shown])
    np.testing.assert_array_equal(panel.source.data["precision"], curve["precision"][shown])
    assert panel.source.data["threshold"].dtype == np.float32
    assert panel.root.title.text == "class 1 (step 7)"
    renderer, _ = open_renderer(panel.root, "matplotlib")
    try:
        assert to_image(renderer.capture()).size[0] > 300
    finally:
        renderer.close()


def test_the_summary_writers_board_draws_add_pr_curve_tags_live():
    livetrain.set_transport("none")
    try:
        w = SummaryWriter(write_to_disk=False)
        labels, scores = predictions(4, k=2)
        for step in range(2):
            w.add_pr_curve("dog", labels == 1, scores[:, 1], global_step=step)
        w.board.flush()
        panel = w.board.panels["dog"]
        assert isinstance(panel, PRCurvePanel) and panel.root.title.text == "dog (step 1)"
        assert panel.source.data["recall"].size > 10
        w.close()
    finally:
        livetrain.set_transport(None)
