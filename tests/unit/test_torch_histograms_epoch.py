"""HistogramCollector as a train_loop callback: one histogram per tag per epoch in the history, the view and the GIF."""
import io
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from livetrain import FrameExporter, HistogramsCallback, History, train_loop
from livetrain.core.callback import CallbackDisabledWarning
from livetrain.core.histograms import from_summary
from livetrain.torch_tools import HistogramCollector

torch.set_num_threads(1)


pytestmark = pytest.mark.usefixtures("no_display")  # views made here display nothing


class Run:
    """A tiny classifier, its data (3 training batches, 1 test batch) and a step that keeps each epoch's last
    gradients of the first layer."""

    def __init__(self, frozen=(), zero_grad_after=False):
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
        for name in frozen:
            self.net.get_parameter(name).requires_grad_(False)
        self.opt = torch.optim.SGD([p for p in self.net.parameters() if p.requires_grad], lr=0.5)
        self.data = [(torch.randn(16, 6), torch.randint(0, 3, (16,))) for _ in range(3)]
        self.loaders = {"train": self.data, "test": self.data[:1]}
        self.zero_grad_after = zero_grad_after
        self.last_grads = []

    def step(self, batch, phase):
        x, y = batch
        if phase != "train":
            with torch.no_grad():
                return {"loss": nn.functional.cross_entropy(self.net(x), y).item()}
        self.opt.zero_grad()
        loss = nn.functional.cross_entropy(self.net(x), y)
        loss.backward()
        if self.net[0].weight.grad is not None and batch is self.data[-1]:
            self.last_grads.append(self.net[0].weight.grad.clone())
        self.opt.step()
        if self.zero_grad_after:
            self.opt.zero_grad()
        return {"loss": loss.item()}


def png(frame):
    return np.asarray(Image.open(io.BytesIO(frame)).convert("RGB"))


def columns(panel):
    return sorted(set(panel.source.data["x"].tolist()))


def test_in_train_loop_each_epoch_adds_a_histogram_per_tag_that_the_view_and_the_gif_show():
    run = Run()
    collector = HistogramCollector(run.net, bins=16)  # as a callback: train_loop's first phase
    view = HistogramsCallback(collector.tags[:2], bins=16)
    exporter = FrameExporter(view, renderer="matplotlib")
    h = train_loop(run.step, run.loaders, 3, [collector, view, exporter], progress=False)

    assert collector.tags[:2] == ["0.weight", "0.bias"]
    assert all(len(h["train"][tag]) == 3 for tag in collector.tags)  # one per epoch per tag
    assert not set(collector.tags) & set(h["test"])  # the other phase is left alone
    weights = run.net[0].weight.detach().numpy().astype(np.float64).ravel()
    counts, edges = from_summary(h["train"]["0.weight"][-1])  # the weights at the last epoch's end
    np.testing.assert_array_equal(counts[1:], np.histogram(weights, bins=16)[0])
    np.testing.assert_allclose(edges[1:], np.histogram(weights, bins=16)[1])
    for epoch, grad in enumerate(run.last_grads):  # the gradients of each epoch's last batch
        summary = h["train"]["0.weight.grad"][epoch]
        assert summary["num"] == grad.numel() and summary["sum"] == pytest.approx(grad.sum().item())
        assert (summary["min"], summary["max"]) == pytest.approx((grad.min().item(), grad.max().item()))
    # recorded as well, at the global step of each epoch's end, as the training loss is
    assert [e[0] for e in collector.history.records["0.weight.grad"].entries] == [3, 6, 9]
    assert h.steps["train/loss"].step[2::3].tolist() == [3, 6, 9]

    view.flush()
    assert [columns(view.panels["train", tag]) for tag in collector.tags[:2]] == [[1.0, 2.0, 3.0]] * 2
    frames = exporter.frames()
    assert len(frames) == 3
    assert columns(exporter._replica.panels["train", "0.weight"]) == [1.0, 2.0, 3.0]
    first, last = png(frames[0]), png(frames[-1])
    assert first.shape == last.shape and (first != last).any(axis=-1).mean() > 0.01  # later columns in the GIF


def test_a_resumed_run_goes_on_from_its_saved_histograms(tmp_path):
    run, path = Run(), tmp_path / "run.json"
    train_loop(run.step, run.loaders, 2, [HistogramCollector(run.net, phase="train", bins=8)], history_path=path,
               progress=False)
    saved = History.load(path)
    assert HistogramsCallback.from_history(saved).keys == ("0.weight", "0.bias", "2.weight", "2.bias",
                                                           "0.weight.grad", "0.bias.grad", "2.weight.grad",
                                                           "2.bias.grad")
    collector = HistogramCollector(run.net, phase="train", bins=8)
    view = HistogramsCallback(["2.weight", "2.weight.grad"], bins=8)
    h = train_loop(run.step, run.loaders, 2, [collector, view], history=saved, progress=False)
    assert [len(h["train"][tag]) for tag in collector.tags] == [4] * 8
    assert all(isinstance(s, dict) and s["num"] > 0 for tag in collector.tags for s in h["train"][tag])
    assert [e[0] for e in collector.history.records["2.weight"].entries] == [9, 12]  # the global step goes on
    view.flush()
    assert columns(view.panels["train", "2.weight"]) == [3.0, 4.0]


def test_a_collector_joining_later_leaves_gaps_and_a_chosen_phase_is_the_only_one():
    run = Run()
    h = train_loop(run.step, run.loaders, 1, progress=False)
    collector = HistogramCollector(run.net, phase="test", bins=8, grads=False)
    h = train_loop(run.step, run.loaders, 2, [collector], history=h, progress=False)
    assert h["test"]["0.weight"][0] is None and all(s["num"] == 48 for s in h["test"]["0.weight"][1:])
    assert len(h["test"]["0.weight"]) == 3 and not set(collector.tags) & set(h["train"])


@pytest.mark.parametrize("case", ["frozen", "zero_grad_after_step"])
def test_parameters_without_gradients_warn_once_and_training_goes_on(case):
    run = Run(frozen=["0.weight", "0.bias"]) if case == "frozen" else Run(zero_grad_after=True)
    collector = HistogramCollector(run.net, bins=8)
    view = HistogramsCallback(["2.weight"], bins=8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = train_loop(run.step, run.loaders, 3, [collector, view], progress=False)
    messages = [str(w.message) for w in caught]
    assert not [w for w in caught if issubclass(w.category, CallbackDisabledWarning)], messages
    [warning] = [m for m in messages if "no gradient" in m]
    assert "'0.weight.grad'" in warning and "zero_grad() after optimizer.step()" in warning
    assert len(h["train"]["loss"]) == 3 and all(len(h["train"][t]) == 3 for t in ("0.weight", "2.weight"))
    assert "0.weight.grad" not in h["train"]
    assert ("2.weight.grad" in h["train"]) == (case == "frozen")
    view.flush()
    assert columns(view.panels["train", "2.weight"]) == [1.0, 2.0, 3.0]
