"""ModelSummaryCallback: the table and diagram carry every layer, user strings verbatim, a saved run draws again."""
import warnings

import numpy as np
import pytest
import torch
from bokeh.model.util import collect_models
from bokeh.models import Div
from torch import nn

import livetrain
from livetrain import History
from livetrain.frames import open_renderer
from livetrain.views.model import ModelSummaryCallback

torch.set_num_threads(1)


pytestmark = pytest.mark.usefixtures("no_display")  # views made here display nothing


def net():
    torch.manual_seed(0)
    layers = nn.ModuleDict({"conv": nn.Conv2d(1, 4, 3), "<b>odd</b> & $x$": nn.ReLU(),
                            "head": nn.Linear(4 * 6 * 6, 10)})

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = layers

        def forward(self, x):
            for layer in self.layers.values():
                x = layer(x.flatten(1) if isinstance(layer, nn.Linear) else x)
            return x

    return Net()


def started(view, history):
    view.set_params({"epochs": 2, "phases": ["train"], "steps": {}})
    view.on_train_begin(history)
    view.flush()
    return view


def test_the_table_and_the_diagram_carry_every_layer_and_user_strings_verbatim():
    model = net()
    view = started(ModelSummaryCallback(model, torch.zeros(1, 1, 8, 8)), History())
    names = ["layers.conv", "layers.<b>odd</b> & $x$", "layers.head"]
    assert view.panel.cells.data["text"] == [names[0], "Conv2d", "1×4×6×6", names[1], "ReLU", "1×4×6×6",
                                       names[2], "Linear", "1×10"]
    assert view.panel.numbers.data["text"] == ["40", "40", "0", "0", "1,450", "1,450"]
    assert view.panel.boxes.data["label"] == [f"{names[0]}: Conv2d", f"{names[1]}: ReLU", f"{names[2]}: Linear"]
    assert view.panel.caption.data["text"] == ["1,490 parameters, 1,490 trainable"]
    assert not [m for m in collect_models(view.graph) if isinstance(m, Div) or getattr(m, "tooltips", None)]
    drawer, _ = open_renderer(view.replica().graph, "matplotlib")
    try:
        drawer.capture()
        texts = [t.get_text() for t in drawer.fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_visible()]
    finally:
        drawer.close()
    assert names[1] in texts and f"{names[1]}: ReLU" in texts  # drawn as typed: no markup, no math


def test_the_matplotlib_renderer_draws_it_to_a_png(tmp_path):
    view = started(ModelSummaryCallback(net(), torch.zeros(1, 1, 8, 8)), History()).replica()
    drawer, _ = open_renderer(view.graph, "matplotlib")
    try:
        image = drawer.capture()
    finally:
        drawer.close()
    image.save(tmp_path / "model.png")
    pixels = np.asarray(image.convert("RGB"), dtype=int)
    conv_box = np.array([31, 119, 180]) * 0.25 + 255 * 0.75  # Category10's first colour at 25 % on white
    assert (np.abs(pixels - conv_box).max(axis=2) <= 3).sum() > 500
    assert image.height > 3 * 46 and (tmp_path / "model.png").stat().st_size > 1000


def test_a_saved_run_draws_the_same_table_and_the_caption_follows_the_trainable_parameters(tmp_path):
    model = net()
    history = History({"train": {"loss": [1.0]}})
    view = started(ModelSummaryCallback(model, torch.zeros(1, 1, 8, 8), phases=("train",)), history)
    model.layers["conv"].requires_grad_(False)  # frozen after the first epoch: the caption shows it
    view.on_epoch_end(0, "train", history)
    view.flush()
    assert view.panel.caption.data["text"] == ["after epoch 1 (train): 1,490 parameters, 1,450 trainable"]
    again = ModelSummaryCallback.from_history(History.load(history.save(tmp_path / "h.json")))
    again.flush()
    assert again.panel.cells.data["text"] == view.panel.cells.data["text"] and again.phases == ("train",)
    with pytest.raises(ValueError, match="no model summary under 'graph'"):
        ModelSummaryCallback.from_history(History({"train": {"loss": [1.0]}}))


def test_a_summary_logged_during_the_run_is_shown():
    view = ModelSummaryCallback(phases=("train",))
    summary = ModelSummaryCallback.demo_history(1).records["graph"].entries[0][2]
    history = History()
    history.record("graph", "graph", summary)
    view.on_log(0, {"graph": summary}, history)
    view.flush()
    assert view.panel.cells.data["text"][:3] == ["conv1", "Conv2d", "1×6×24×24"]
    assert len(view.panel.boxes.data["y"]) == 6
    with pytest.raises(ValueError, match="list of rows"):
        view.set_summary({"model": "Net"})


def test_a_dashboard_holding_the_view_makes_frames_and_its_replica_is_never_displayed(tmp_path):
    import torch

    from livetrain import Dashboard, FrameExporter, LinePlotsCallback, train_loop

    livetrain.set_transport("none")
    try:
        model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
        view = ModelSummaryCallback(model, torch.zeros(1, 4))
        board = Dashboard([view, LinePlotsCallback(keys=["loss"], phases=["train"])])
        exporter = FrameExporter(board, renderer="matplotlib", gif=tmp_path / "run.gif")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a switched-off exporter would warn
            train_loop(lambda batch, phase: {"loss": 1.0}, {"train": [0]}, epochs=2, progress=False,
                       callbacks=[board, exporter])
        assert len(exporter.frames()) == 2 and (tmp_path / "run.gif").stat().st_size > 0
        copy = view.replica()
        assert not copy.displayed and copy.panel.boxes.data["label"] == ["0: Linear", "1: ReLU", "2: Linear"]
    finally:
        livetrain.set_transport(None)
