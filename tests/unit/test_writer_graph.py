"""SummaryWriter.add_graph traces a torch model and writes the GraphDef TensorBoard's graph dashboard draws, named as
torch's writer names it; a model that cannot be traced gets one warning, never an exception."""
import json
import warnings
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.compat.proto.graph_pb2 import GraphDef
from tensorboard.plugins import base_plugin
from tensorboard.plugins.graph.graphs_plugin import GraphsPlugin
from torch import nn
from torch.utils.tensorboard import SummaryWriter as TorchWriter
from werkzeug.test import Client

from livetrain.writer import SummaryWriter

torch.set_num_threads(1)


class Net(nn.Module):
    """Seed 004's CNN, with its head in a Sequential."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 8, 2)
        self.head = nn.Sequential(nn.Linear(8 * 1 * 1, 12), nn.ReLU(), nn.Linear(12, 10))

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        return self.head(x.view(-1, 8))


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.scale = nn.Parameter(torch.ones(2))

    def forward(self, x, y):
        return self.fc(x) * self.scale + y


def graphs(run: Path) -> list[GraphDef]:
    """The GraphDefs of the run's event files, read by TensorBoard's own loader."""
    return [GraphDef.FromString(event.graph_def) for file in sorted(run.glob("events.out.tfevents.*"))
            for event in EventFileLoader(str(file)).Load() if event.HasField("graph_def")]


def torchs(folder: Path, model: nn.Module, inputs) -> GraphDef:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.trace's deprecation
        writer = TorchWriter(str(folder))
        writer.add_graph(model, inputs)
        writer.close()
    [graph] = graphs(folder)
    return graph


@pytest.mark.parametrize("model, inputs", [(Net(), torch.rand(2, 1, 8, 8)),
                                           (TwoInputs(), (torch.rand(4, 3), torch.rand(4, 2)))])
def test_the_graph_is_torchs(tmp_path, model, inputs):
    with SummaryWriter(tmp_path / "ours", show=False) as writer:
        writer.add_graph(model, inputs)
    [ours] = graphs(tmp_path / "ours")
    theirs = torchs(tmp_path / "torch", model, inputs)
    assert ours.versions.producer == theirs.versions.producer == 22
    assert sorted((n.name, n.op) for n in ours.node) == sorted((n.name, n.op) for n in theirs.node)
    names = {n.name for n in ours.node}
    theirs_by_name = {n.name: n for n in theirs.node}
    for node in ours.node:
        assert set(node.input) <= names, node  # every edge ends at a node (torch's also name modules, not nodes)
        assert list(node.input) == [i for i in theirs_by_name[node.name].input if i in names], node.name
        assert node.attr["attr"].s == theirs_by_name[node.name].attr["attr"].s, node.name
        if node.op != "IO Node" or node.name.startswith("input/"):
            assert node.attr["_output_shapes"] == theirs_by_name[node.name].attr["_output_shapes"], node.name


def test_nodes_are_scoped_by_module(tmp_path):
    with SummaryWriter(tmp_path / "run", show=False) as writer:
        writer.add_graph(Net(), torch.rand(2, 1, 8, 8))
    [graph] = graphs(tmp_path / "run")
    nodes = {n.name: n for n in graph.node}
    [image] = [n for n in graph.node if n.op == "IO Node" and n.name.startswith("input/")]
    assert [d.size for d in image.attr["_output_shapes"].list.shape[0].dim] == [2, 1, 8, 8]
    [conv1] = [n for n in graph.node if n.op == "aten::_convolution" and n.name.startswith("Net/Conv2d[conv1]/")]
    assert conv1.input[0] == image.name
    assert [d.size for d in conv1.attr["_output_shapes"].list.shape[0].dim] == [2, 6, 6, 6]
    weight, bias = nodes[conv1.input[1]], nodes[conv1.input[2]]
    assert (weight.op, bias.op) == ("prim::GetAttr", "prim::GetAttr")
    assert weight.name.startswith("Net/Conv2d[conv1]/weight/") and bias.name.startswith("Net/Conv2d[conv1]/bias/")
    linears = [n.name.rsplit("/", 1)[0] for n in graph.node if n.op == "aten::linear"]
    assert linears == ["Net/Sequential[head]/Linear[0]", "Net/Sequential[head]/Linear[2]"]
    [output] = [n for n in graph.node if n.name.startswith("output/")]
    assert output.name == "output/output.1" and nodes[output.input[0]].op == "aten::linear"
    assert {"aten::max_pool2d", "aten::relu", "aten::view"} <= {n.op for n in graph.node}


def test_tensorboards_graph_dashboard_serves_it(tmp_path):
    with SummaryWriter(tmp_path / "run", show=False) as writer:
        writer.add_graph(TwoInputs(), (np.zeros((1, 3), np.float32), jnp.zeros((1, 2))))  # numpy, JAX: tensors
    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(tmp_path))
    mux.Reload()
    context = base_plugin.TBContext(logdir=str(tmp_path), multiplexer=mux,
                                    data_provider=data_provider.MultiplexerDataProvider(mux, str(tmp_path)))
    apps = GraphsPlugin(context).get_plugin_apps()
    info = json.loads(Client(apps["/info"]).get("/info").data)
    assert info["run"]["run_graph"] is True
    text = Client(apps["/graph"]).get("/graph", query_string={"run": "run"}).data.decode()
    assert 'name: "TwoInputs/Linear[fc]/weight/weight"' in text and 'name: "TwoInputs/scale/scale"' in text


class Broken(nn.Module):
    def forward(self, x):
        raise RuntimeError("no forward today")


class Talkative(nn.Module):
    def forward(self, x):
        return {"a": x}  # a dict: the strict tracer refuses it


@pytest.mark.parametrize("model, inputs, why", [
    (object(), None, "add_graph traces a torch.nn.Module; got builtins.object"),
    (nn.Linear(2, 3), None, "add_graph needs input_to_model"),
    (Broken(), torch.zeros(1), "no forward today"),
    (Talkative(), torch.zeros(1), "strict"),
])
def test_a_model_that_cannot_be_traced_warns_once_and_is_recorded(tmp_path, model, inputs, why):
    writer = SummaryWriter(tmp_path / "run", show=False)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for _ in range(3):
            writer.add_graph(model, inputs)
    messages = [str(w.message) for w in seen]
    assert len(messages) == 1 and why in messages[0] and type(model).__name__ in messages[0], messages
    assert seen[0].filename == __file__  # it points at the caller's line
    assert [e[2]["model"] for e in writer.history.records["graph"].entries] == [type(model).__name__] * 3
    writer.close()
    assert graphs(tmp_path / "run") == []


def test_tracing_leaves_the_model_as_it_was(tmp_path, capsys):
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.BatchNorm1d(2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with SummaryWriter(tmp_path / "run", show=False) as writer:
        writer.add_graph(model, torch.rand(4, 2), verbose=True)
    assert model.training and all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert "aten::linear" in capsys.readouterr().out  # verbose: the traced graph, printed as torch does
    [graph] = graphs(tmp_path / "run")
    assert "aten::dropout" in {n.op for n in graph.node}  # traced in eval mode: no batch-norm statistics update
    assert writer.history.records["graph"].entries[-1][2]["parameters"] == 10


def test_without_files_nothing_is_traced(tmp_path):
    writer = SummaryWriter(write_to_disk=False, show=False)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        writer.add_graph(Broken(), torch.zeros(1))
    assert seen == [] and writer.history.records["graph"].entries[-1][2]["model"] == "Broken"
