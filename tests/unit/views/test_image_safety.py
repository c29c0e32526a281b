"""ImagePlotsCallback: one picture shown as one, value ranges and their warnings, any names, interrupted pushes."""
import warnings

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.document.events import ColumnsPatchedEvent

from livetrain.core.images import colormap, to_rgba_u32
from livetrain.views.image import ImagePlotsCallback

GRAY = colormap("gray").view(np.uint32)[:, 0]


def shown(cb, phase, key, images, epoch=0):
    """The picture ``cb`` shows after one epoch whose ``key`` holds ``images``, and the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cb.on_epoch_end(epoch, phase, {phase: {key: [images]}})
        cb.flush()
    return cb.sources[phase][key].data["image"][0], [str(w.message) for w in caught if w.category is UserWarning]


def test_one_rgba_picture_is_shown_whole_whatever_max_images():
    rgba = np.random.default_rng(0).integers(0, 256, (120, 90, 4), dtype=np.uint8)  # a rendered figure's pixels
    cb = ImagePlotsCallback(keys=("figure",), phases=("train",), max_images=8)
    picture, _ = shown(cb, "train", "figure", rgba)
    assert picture.shape == (120, 90)
    np.testing.assert_array_equal(picture, rgba[::-1].copy().view(np.uint32)[..., 0])


def test_value_range_and_normalize_map_the_users_range_to_black_and_white():
    tensor = np.linspace(-1, 1, 5).reshape(1, 1, 1, 5)  # a tensor normalised to [-1, 1]
    picture, said = shown(ImagePlotsCallback(keys=("x",), phases=("train",), value_range=(-1, 1)), "train", "x", tensor)
    assert picture[0].tolist() == GRAY[[0, 64, 128, 192, 255]].tolist() and said == []
    digits = np.arange(17.0).reshape(1, 1, 1, 17)  # sklearn's digits: 0 to 16
    picture, said = shown(ImagePlotsCallback(keys=("x",), phases=("train",), normalize=True), "train", "x", digits)
    assert picture[0, 0] == GRAY[0] and picture[0, -1] == GRAY[255] and said == []
    assert len(set(picture[0].tolist())) == 17  # every level its own grey, none saturated


def test_clipping_warns_once_per_key_and_names_it():
    cb = ImagePlotsCallback(keys=("recon", "target"), phases=("train", "test"))
    out = np.full((2, 1, 4, 4), 16.0)
    said = []
    for epoch in range(3):
        for phase in ("train", "test"):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                cb.on_epoch_end(epoch, phase, {phase: {"recon": [out], "target": [out / 32]}})
            said += [str(w.message) for w in caught if w.category is UserWarning]
    assert len(said) == 1, said  # target is within [0, 1]; recon is told once
    assert said[0].startswith("livetrain: history['train']['recon'][-1]: values from 16 to 16 lie outside [0, 1]")
    assert "normalize=True" in said[0] and "value_range=(low, high)" in said[0]


def test_bad_scaling_arguments_are_named():
    with pytest.raises(ValueError, match=r"value_range must be \(low, high\).*got \(2, 1\)"):
        ImagePlotsCallback(value_range=(2, 1))
    with pytest.raises(ValueError, match="normalize must be True or False; got 'yes'"):
        ImagePlotsCallback(normalize="yes")


def test_any_phase_and_key_is_a_title_in_plain_text_and_never_a_column():
    keys, phases = ("image", "${x}", "@{y}", "</script>"), ("epoch", "{phase}")
    cb = ImagePlotsCallback(keys=keys, phases=phases)
    assert [f.title.text for f in cb.figures.values()] == [f"{k[:1].upper() + k[1:]} ({p})" for p in phases
                                                           for k in keys]
    for phase in phases:
        cb.on_epoch_end(0, phase, {phase: {k: [np.full((1, 1, 2, 2), i / 4)] for i, k in enumerate(keys)}})
    cb.flush()
    for phase in phases:
        for i, key in enumerate(keys):
            assert set(cb.sources[phase][key].data) == {"image"}
            assert cb.sources[phase][key].data["image"][0][0, 0] == GRAY[64 * i]
    assert not [t for f in cb.figures.values() for t in f.tools if hasattr(t, "tooltips")]


def test_a_push_interrupted_by_ctrl_c_is_sent_by_the_next_one():
    cb = ImagePlotsCallback(keys=("recon",), phases=("train",), interval=0)
    doc = Document()
    doc.add_root(cb.graph)
    shown(cb, "train", "recon", np.zeros((1, 1, 2, 2)))
    sent, interrupt = [], [True]

    def frontend(event):
        if interrupt.pop() if interrupt else False:
            raise KeyboardInterrupt  # Ctrl-C while the picture goes out
        if isinstance(event, ColumnsPatchedEvent):
            sent.append(event.patches["image"][0][1])

    doc.callbacks.on_change(frontend)
    with pytest.raises(KeyboardInterrupt):
        cb.on_epoch_end(1, "train", {"train": {"recon": [np.zeros((1, 1, 2, 2)), np.ones((1, 1, 2, 2))]}})
    cb.flush()  # the next push (or the throttle's own, which may have come first)
    assert len(sent) == 1
    np.testing.assert_array_equal(sent[0], to_rgba_u32(np.ones((2, 2))))
