"""ActivationCapture: each chosen layer's output for a fixed sample, per epoch, in the history and in an image grid."""
import numpy as np
import pytest
import torch
from bokeh.palettes import Inferno256
from torch import nn

from livetrain import History, ImagePlotsCallback, train_loop
from livetrain.torch_tools import ActivationCapture

torch.set_num_threads(1)


pytestmark = pytest.mark.usefixtures("no_display")  # views made here display nothing


def cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 20, 3), nn.BatchNorm2d(20), nn.ReLU(), nn.Conv2d(20, 4, 3), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 10))


def test_maps_are_the_layers_outputs_for_the_first_sample_and_the_mode_is_restored():
    net, x = cnn(), torch.randn(3, 1, 8, 8)
    acts = ActivationCapture(net, ["0", net[3], "5"], x, max_channels=16)
    net.train()
    h = History()
    acts.on_epoch_end(0, "train", h)
    assert acts.keys == ("act/0", "act/3", "act/5")
    net.eval()
    with torch.no_grad():
        first = net[0](x)[0]
        third = net[3](net[2](net[1](net[0](x))))[0]
        logits = net(x)[0]
    maps = {k: h["train"][k][0] for k in acts.keys}
    np.testing.assert_allclose(maps["act/0"], first[:16, None].numpy(), rtol=1e-6)  # 16 of 20 channels
    np.testing.assert_allclose(maps["act/3"], third[:, None].numpy(), rtol=1e-6)
    np.testing.assert_allclose(maps["act/5"], logits.reshape(1, 1, 1, 10).numpy(), rtol=1e-6)  # a (1, N) strip
    assert all(m.dtype == np.float32 for m in maps.values())
    net.train()
    acts.on_epoch_end(1, "train", h)
    assert net.training and all(m.training for m in net.modules())  # the train mode is back after each capture
    assert len(h["train"]["act/0"]) == 2
    acts.on_train_end(h)
    assert not any(m._forward_hooks for m in net.modules())
    with pytest.raises(RuntimeError, match="closed"):
        acts.capture()


def test_training_forwards_are_not_kept_and_every_and_phase_choose_the_captures():
    net = cnn()
    acts = ActivationCapture(net, ["0"], torch.randn(1, 1, 8, 8), every=2, phase="test")
    net(torch.randn(5, 1, 8, 8))  # a training pass: nothing kept
    assert acts._maps == {}
    h = History({"train": {}, "test": {}})
    for epoch in range(4):
        acts.on_epoch_end(epoch, "train", h)
        acts.on_epoch_end(epoch, "test", h)
    assert "act/0" not in h["train"] and [m is None for m in h["test"]["act/0"]] == [False, True, False]
    acts.close()
    with pytest.raises(ValueError, match="not a submodule"):
        ActivationCapture(net, ["conv9"], torch.zeros(1))


def test_in_train_loop_the_image_view_shows_the_maps_in_colour():
    net = cnn()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    data = [(torch.randn(4, 1, 8, 8), torch.randint(0, 10, (4,))) for _ in range(2)]

    def step(batch, phase):
        x, y = batch
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    acts = ActivationCapture(net, ["0", "5"], data[0][0][:1])
    view = ImagePlotsCallback(acts.keys, cmap="Inferno256", normalize=True, scale_each=True, nrow=4)
    h = train_loop(step, {"train": data}, 2, [acts, view], progress=False)
    view.flush()
    assert len(h["train"]["act/0"]) == 2 and h["train"]["act/0"][-1].shape == (16, 1, 6, 6)
    grid = view.sources["train"]["act/0"].data["image"][0]
    rgba = grid.view(np.uint8).reshape(*grid.shape, 4)
    assert grid.shape == (4 * 8 + 2, 4 * 8 + 2)  # 16 maps, 4 per row, 2 pixels apart
    pixels = rgba[..., :3].reshape(-1, 3).astype(int)
    inferno = {tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in Inferno256}
    assert set(map(tuple, pixels)) <= inferno  # every pixel is a colour of the map
    assert (np.ptp(pixels, axis=1) > 30).mean() > 0.2, "the maps are grey, not coloured by the colour map"
    strip = view.sources["train"]["act/5"].data["image"][0]
    assert strip.shape == (1, 10)  # one image: no padding
    assert not any(m._forward_hooks for m in net.modules())
