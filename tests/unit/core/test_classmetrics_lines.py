"""Seed 003's 2x2 metrics grid as lines: per-class scores and the learning-rate schedule, fed to the line view."""
import numpy as np
import pytest
import torch
from sklearn.metrics import precision_recall_fscore_support

from livetrain import Callback, History, LinePlotsCallback, train_loop
from livetrain.core.classmetrics import class_scores, confusion_matrix, per_class, scores_from_counts

CLASSES = ["cat", "dog", "bird"]


def test_per_class_gives_one_float_per_class_and_metric_as_scikit_learn():
    rng = np.random.default_rng(0)
    labels, predicted = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    values = per_class(class_scores(confusion_matrix(labels, predicted, 3)), CLASSES)
    precision, recall, f1, _ = precision_recall_fscore_support(labels, predicted, labels=range(3), zero_division=0)
    for metric, expected in (("precision", precision), ("recall", recall), ("f1_score", f1)):
        got = [values[f"{metric}/{name}"] for name in CLASSES]
        np.testing.assert_allclose(got, expected)
        assert all(type(v) is float for v in got)


def test_per_class_of_counts_keeps_nan_where_precision_is_unknown_and_checks_the_names():
    values = per_class(scores_from_counts([3, 4], [4, 4]), ["a", "b"])
    assert values["recall/a"] == 0.75 and np.isnan(values["precision/a"])
    with pytest.raises(ValueError, match="classes must name the 2 classes of the scores; got 3"):
        per_class(scores_from_counts([3, 4], [4, 4]), CLASSES)


def test_per_class_values_are_lines_of_the_line_view_titled_by_class():
    history, keys = History(), [f"f1_score/{name}" for name in CLASSES]
    view = LinePlotsCallback(keys=keys, phases=("test",))
    rng = np.random.default_rng(1)
    for epoch in range(3):
        labels = rng.integers(0, 3, 100)
        predicted = np.where(rng.random(100) < 0.5 + 0.2 * epoch, labels, rng.integers(0, 3, 100))
        history.append("test", per_class(class_scores(confusion_matrix(labels, predicted, 3)), CLASSES), epoch=epoch)
        view.on_epoch_end(epoch, "test", history)
    view.flush()
    assert [f.title.text for f in view.figures] == ["F1 score (cat)", "F1 score (dog)", "F1 score (bird)"]
    assert view.sources["test"].data[view.columns["f1_score/dog"]] == history["test"]["f1_score/dog"]


class Schedule(Callback):
    """Steps a torch scheduler at the end of each training epoch."""

    def __init__(self, scheduler):
        self.scheduler = scheduler

    def on_epoch_end(self, epoch, phase, history):
        if phase == "train":
            self.scheduler.step()


def test_the_learning_rate_schedule_is_a_line_with_one_entry_in_the_step():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)

    def step(batch, phase):
        loss = model(batch).pow(2).mean()
        if phase == "train":
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return {"loss": loss.detach(), "lr": optimizer.param_groups[0]["lr"]}  # the rate this batch used
        return {"loss": loss.detach()}

    view = LinePlotsCallback(keys=("loss", "lr"))
    history = train_loop(step, {"train": [torch.ones(4, 2)] * 3, "test": [torch.ones(4, 2)]}, epochs=4,
                         callbacks=[Schedule(scheduler), view], reduce={"lr": "last"}, progress=False)
    view.flush()
    assert history["train"]["lr"] == [0.1, 0.05, 0.025, 0.0125]
    assert view.figures[1].title.text == "Learning rate"
    assert view.sources["train"].data[view.columns["lr"]] == [0.1, 0.05, 0.025, 0.0125]
    assert all(np.isnan(view.sources["test"].data[view.columns["lr"]]))  # evaluation has no rate: no line
