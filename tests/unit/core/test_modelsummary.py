"""The layer table: parameter counts equal the framework's own, output shapes equal what the layers really return."""
import jax
import jax.numpy as jnp
import numpy as np
import torch
import torch.nn.functional as F
from flax import nnx
from torch import nn

from livetrain import History
from livetrain.core.modelsummary import read_summary, summarize, table

torch.set_num_threads(1)


class Net(nn.Module):
    """Seed 004's CNN: conv, pool, conv, three linear layers, on 1x28x28 images."""

    def __init__(self):
        super().__init__()
        self.conv1, self.pool, self.conv2 = nn.Conv2d(1, 6, 5), nn.MaxPool2d(2, 2), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(16 * 4 * 4, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = F.relu(self.fc1(x.view(-1, 16 * 4 * 4)))
        return self.fc3(F.relu(self.fc2(x)))


def layers_003():
    """Seed 003's ``model.layers``: a sequential CNN with batch norm and dropout, one layer frozen."""
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Dropout(0.25), nn.Flatten(), nn.Linear(8 * 14 * 14, 32), nn.ReLU(), nn.Linear(32, 10))
    net[0].requires_grad_(False)
    return net


def real_shapes(model, x):
    """Each leaf's output shape, computed by calling the leaves by hand in the order ``forward`` does."""
    if isinstance(model, Net):
        a = model.conv1(x)
        b = model.pool(F.relu(a))
        c = model.conv2(b)
        d = model.fc1(model.pool(F.relu(c)).view(-1, 256))
        e = model.fc2(F.relu(d))
        return {"conv1": a.shape, "pool": b.shape, "conv2": c.shape, "fc1": d.shape, "fc2": e.shape,
                "fc3": model.fc3(F.relu(e)).shape}
    shapes = {}
    for name, layer in model.named_children():
        x = layer(x)
        shapes[name] = x.shape
    return shapes


def test_torch_counts_and_shapes_are_the_models_own():
    torch.manual_seed(0)
    for model in (Net(), layers_003()):
        model.eval()
        x = torch.randn(2, 1, 28, 28)
        s = summarize(model, x)
        with torch.no_grad():
            expected = real_shapes(model, x)
        assert [r["name"] for r in s["rows"]] == list(expected)
        assert {r["name"]: r["shape"] for r in s["rows"]} == {k: list(v) for k, v in expected.items()}
        assert s["params"] == sum(p.numel() for p in model.parameters())
        assert s["trainable"] == sum(p.numel() for p in model.parameters() if p.requires_grad)
        for r in s["rows"]:
            layer = dict(model.named_modules())[r["name"]]
            assert r["params"] == sum(p.numel() for p in layer.parameters()), r["name"]
        assert s["note"] == "" and s["framework"] == "torch"


def test_the_model_is_left_as_it_was_and_shared_parameters_count_once():
    net = layers_003()
    net.train()
    tied = nn.Sequential(nn.Linear(10, 10), nn.ReLU())
    tied.append(tied[0])  # the same layer twice: one row, counted once
    before = {k: v.clone() for k, v in net.state_dict().items()}
    s = summarize(net, torch.randn(4, 1, 28, 28))
    assert net.training and all(m.training for m in net.modules())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # batch norm stats untouched
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in net.modules())
    assert s["rows"][0]["trainable"] == 0 and s["rows"][0]["params"] == 80
    t = summarize(tied, torch.randn(3, 10))
    assert [r["name"] for r in t["rows"]] == ["0", "1"]
    assert t["params"] == 110 == sum(p.numel() for p in tied.parameters())


def test_without_a_sample_or_on_a_failing_call_the_shapes_are_unknown_and_the_note_says_why():
    s = summarize(Net())
    assert [r["shape"] for r in s["rows"]] == [None] * 6 and "no sample" in s["note"] and s["params"] == 44426
    bad = summarize(Net(), torch.zeros(1, 3, 28, 28))
    assert "failed on the sample" in bad["note"] and "RuntimeError" in bad["note"]
    assert bad["rows"][0]["shape"] is None and bad["params"] == 44426
    assert "?" in table(bad) and bad["note"] in table(bad)


class FlaxCNN(nnx.Module):
    def __init__(self, rngs):
        self.conv = nnx.Conv(1, 4, (3, 3), rngs=rngs)
        self.blocks = nnx.List([nnx.Linear(4 * 8 * 8, 16, rngs=rngs), nnx.Linear(16, 16, rngs=rngs)])
        self.bn = nnx.BatchNorm(16, rngs=rngs)
        self.drop = nnx.Dropout(0.5, rngs=rngs)
        self.head = nnx.Linear(16, 10, rngs=rngs)
        self.scale = nnx.Param(jnp.ones(10))  # a parameter of the model itself

    def __call__(self, x):
        x = nnx.relu(self.conv(x)).reshape(x.shape[0], -1)
        for block in self.blocks:
            x = nnx.relu(block(x))
        return self.head(self.drop(self.bn(x))) * self.scale


def snapshot(model):
    return [np.asarray(jax.random.key_data(v) if jnp.issubdtype(v.dtype, jax.dtypes.prng_key) else v)
            for v in jax.tree.leaves(nnx.state(model))]


def test_flax_nnx_counts_and_shapes_and_nothing_computed_or_changed():
    model = FlaxCNN(nnx.Rngs(0))
    x = jnp.ones((2, 8, 8, 1))
    before = snapshot(model)
    s = summarize(model, x)
    assert s["framework"] == "flax" and s["note"] == ""
    assert [r["name"] for r in s["rows"]] == ["FlaxCNN", "conv", "blocks.0", "blocks.1", "bn", "drop", "head"]
    assert s["params"] == sum(v.size for v in jax.tree.leaves(nnx.state(model, nnx.Param)))
    rows = {r["name"]: r for r in s["rows"]}
    assert rows["blocks.0"]["params"] == 4 * 8 * 8 * 16 + 16 and rows["bn"]["params"] == 32
    assert rows["FlaxCNN"]["params"] == 10 and rows["FlaxCNN"]["shape"] == [2, 10]
    conv = model.conv(x)
    assert rows["conv"]["shape"] == list(conv.shape) and rows["head"]["shape"] == [2, 10]
    assert rows["blocks.1"]["shape"] == [2, 16]
    assert all(np.array_equal(a, b) for a, b in zip(before, snapshot(model), strict=True))  # rngs and stats too
    assert "__call__" not in nnx.Dropout.__dict__ or not getattr(nnx.Dropout.__call__, "_livetrain_patched", False)
    assert not getattr(nnx.Linear.__call__, "_livetrain_patched", False)


def test_a_summary_survives_a_saved_history(tmp_path):
    s = summarize(Net(), torch.zeros(1, 1, 28, 28))
    h = History()
    h.record("graph", "graph", s)
    loaded = History.load(h.save(tmp_path / "h.json"))
    assert read_summary(loaded.records["graph"].entries[-1][2]) == read_summary(s) == s
