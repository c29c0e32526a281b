"""ClassScoresCallback: seed 003's four metrics per epoch, as scikit-learn computes them, in the history the views
read in the same epoch."""
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from livetrain import ClassScoresCallback, LinePlotsCallback, train_loop
from livetrain.core.history import History


def batches(rng, n=5, size=40, classes=4):
    for _ in range(n):
        y = rng.integers(0, classes, size)
        logits = rng.normal(size=(size, classes)) + 2 * np.eye(classes)[y]
        yield y, logits


def test_the_four_macro_scores_match_scikit_learn_and_the_line_view_plots_them():
    rng = np.random.default_rng(0)
    data = {"test": [b for b in batches(rng)]}

    def step(batch, phase):
        y, logits = batch
        return {"loss": 0.0, "y_true": y, "y_score": logits}

    line = LinePlotsCallback(keys=["accuracy", "f1_score"], phases=["test"])
    h = train_loop(step, data, epochs=2, callbacks=[ClassScoresCallback(classes=4, per_class=True), line],
                   reduce={"y_true": "concat", "y_score": "concat"}, progress=False)
    y = np.concatenate([b[0] for b in data["test"]])
    pred = np.concatenate([b[1] for b in data["test"]]).argmax(1)
    p, r, f, _ = precision_recall_fscore_support(y, pred, labels=range(4), zero_division=0)
    assert h["test"]["accuracy"] == pytest.approx([accuracy_score(y, pred)] * 2)
    assert h["test"]["precision"][0] == pytest.approx(p.mean()) and h["test"]["recall"][1] == pytest.approx(r.mean())
    assert h["test"]["f1_score"][0] == pytest.approx(f.mean())
    assert [h["test"][f"f1_score/{k}"][0] for k in range(4)] == pytest.approx(f)
    line.flush()
    assert list(line.sources["test"].data[line.columns["f1_score"]]) == pytest.approx([f.mean()] * 2)


def test_phases_without_the_keys_are_left_alone_and_bad_keys_say_what_is_expected():
    h = History({"train": {"loss": [1.0]}})
    ClassScoresCallback(classes=3).on_epoch_end(0, "train", h)
    assert h["train"] == {"loss": [1.0]}
    with pytest.raises(ValueError, match="two keys; got \\['y_true'\\]"):
        ClassScoresCallback(classes=3, keys=["y_true"])
