"""HistogramCollector: numpy's counts, computed on the device without host syncs, delivered to each kind of target."""
import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.tensorboard import SummaryWriter as TorchWriter

import livetrain
from livetrain import History
from livetrain.core.histograms import from_summary
from livetrain.torch_tools import HistogramCollector
from livetrain.views.histograms import HistogramsCallback

torch.set_num_threads(1)


def model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))


def train_step(net):
    net.zero_grad()
    net(torch.randn(32, 20)).square().mean().backward()


class Ops(TorchDispatchMode):
    """Records the ATen ops that run."""

    def __init__(self):
        super().__init__()
        self.names = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.append(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))


def test_counts_are_numpys_over_each_tensors_min_and_max():
    net = model()
    train_step(net)
    hist = HistogramCollector(net, bins=64)
    hist.step()
    for tag, tensor in (("0.weight", net[0].weight), ("2.weight.grad", net[2].weight.grad)):
        values = tensor.detach().numpy().astype(np.float64).ravel()
        step, _, summary = hist.history.records[tag].entries[-1]
        counts, edges = from_summary(summary)
        want, want_edges = np.histogram(values, bins=64)
        np.testing.assert_array_equal(counts[1:], want)  # after the leading empty bucket, as the writer records
        np.testing.assert_allclose(edges[1:], want_edges)
        assert summary["num"] == values.size and summary["sum"] == pytest.approx(values.sum())
        assert summary["sum_squares"] == pytest.approx(values @ values) and step == 0


def test_non_finite_values_are_left_out():
    net = torch.nn.Linear(2, 2)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, float("nan")], [float("inf"), 3.0]]))
    hist = HistogramCollector(net, bins=2, grads=False)
    hist.step()
    summary = hist.history.records["weight"].entries[-1][2]
    assert (summary["num"], summary["min"], summary["max"]) == (2, 1.0, 3.0)
    assert summary["bucket"][1:].tolist() == [1.0, 1.0]


def test_only_every_nth_step_logs_and_modules_choose_the_parameters():
    net = model()
    hist = HistogramCollector(net, modules=["2"], every=3, bins=8)
    assert hist.tags == ["2.weight", "2.bias", "2.weight.grad", "2.bias.grad"]
    for _ in range(7):
        train_step(net)
        hist.step()
    assert [e[0] for e in hist.history.records["2.weight.grad"].entries] == [0, 3, 6]
    with pytest.raises(ValueError, match="'fc9' is not a submodule"):
        HistogramCollector(net, modules=["fc9"])


def test_steps_between_logs_run_no_op_and_a_logged_step_never_reads_a_device_scalar():
    net = model()
    train_step(net)
    hist = HistogramCollector(net, every=2, bins=64)
    hist.step()
    with Ops() as quiet:
        hist.step()  # not due: a counter
    assert quiet.names == []
    with Ops() as logged:
        hist.step()
    # .item(), nonzero, bincount and masked selection wait for the device; the host reads one stacked table
    assert "scatter_add_" in logged.names
    assert not {"_local_scalar_dense", "nonzero", "bincount", "masked_select", "histc"} & set(logged.names)


def test_a_torch_summary_writer_gets_raw_histograms_tensorboard_reads_back(tmp_path):
    net = model()
    train_step(net)
    with TorchWriter(tmp_path) as writer:
        HistogramCollector(net, writer, bins=16, grads=False).step(step=40)
    events = EventAccumulator(str(tmp_path), size_guidance={"histograms": 0})
    events.Reload()
    assert set(events.Tags()["histograms"]) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    [event] = events.Histograms("0.weight")
    values = net[0].weight.detach().numpy().ravel()
    assert event.step == 40 and event.histogram_value.num == values.size
    assert list(event.histogram_value.bucket) == np.histogram(values, bins=16)[0].tolist()


def test_a_history_or_a_view_receives_the_histograms():
    livetrain.set_transport("none")
    try:
        net = model()
        train_step(net)
        history = History()
        HistogramCollector(net, history, bins=8).step(step=5)
        assert history.records["0.weight"].kind == "histogram" and history.records["0.weight"].entries[0][0] == 5
        collector = HistogramCollector(net, bins=8)
        view = HistogramsCallback(keys=(), tags=collector.tags, bins=8)
        collector.to = view
        collector.step(step=9)
        view.flush()
        assert set(view.panels["", "2.bias.grad"].source.data["x"].tolist()) == {9.0}
    finally:
        livetrain.set_transport(None)
