import numpy as np
import pytest

from livetrain.mpl_frames import line_frames

HISTORY = {"train": {"loss": [2.0, 1.0, 0.5, 0.4], "acc": [0.2, 0.5, 0.7, 0.8]},
           "test": {"loss": [2.2, 1.2, 0.6, 0.9], "acc": [0.1, 0.4, 0.6, 0.5]}}


def colour_count(image, rgb, tol=10):
    a = np.asarray(image).astype(int)
    return int((np.abs(a - rgb).max(axis=2) <= tol).sum())


def test_one_frame_per_epoch_with_the_live_views_colours_and_a_best_star():
    frames = list(line_frames(HISTORY, epochs=10))
    assert len(frames) == 4 and {f.size for f in frames} == {(700, 330)}
    red, blue, gold = colour_count(frames[-1], (214, 39, 40)), colour_count(frames[-1], (31, 119, 180)), \
        colour_count(frames[-1], (255, 215, 0))
    assert red > 100 and blue > 100 and gold > 20
    assert colour_count(frames[0], (214, 39, 40)) < red  # the curves grow frame by frame
    assert not np.array_equal(np.asarray(frames[1]), np.asarray(frames[2]))


def test_missing_phase_is_a_clear_error():
    with pytest.raises(KeyError, match=r"history has phases \['train', 'test'\]; asked for \['val'\]"):
        next(line_frames(HISTORY, phases=("val",)))
