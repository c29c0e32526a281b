"""With the board and writer patches: add_histogram and add_histogram_raw records are heatmap panels on the board,
and HistogramCollector -> livetrain's SummaryWriter writes event files TensorBoard reads."""
import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from livetrain import SummaryWriter
from livetrain.torch_tools import HistogramCollector
from livetrain.views.histograms import HistogramPanel

pytestmark = pytest.mark.usefixtures("no_display")  # views made here display nothing


def test_histogram_records_are_heatmap_panels_on_the_board(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 3)
    w = SummaryWriter(tmp_path)
    for step in range(3):
        w.add_histogram("weights/fc1", np.arange(10.0) * (step + 1), step)
    HistogramCollector(net, w, bins=16, grads=False).step(step=7)
    w.flush()
    panel = w.board.panels["weights/fc1"]
    assert isinstance(panel, HistogramPanel) and sorted(set(panel.source.data["x"].tolist())) == [0.0, 1.0, 2.0]
    assert isinstance(w.board.panels["weight"], HistogramPanel)
    assert w.board.panels["weight"].source.data["x"].tolist()[0] == 7.0
    w.close()
    events = EventAccumulator(str(tmp_path), size_guidance={"histograms": 0})
    events.Reload()
    [event] = events.Histograms("weight")
    values = net.weight.detach().numpy().ravel()
    assert event.step == 7 and list(event.histogram_value.bucket)[1:] == np.histogram(values, 16)[0].tolist()
    assert event.histogram_value.min == values.min()
