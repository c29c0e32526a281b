"""livetrain.core.histograms: binning as numpy and TensorBoard bin, the logged forms, and re-binning."""
import numpy as np
import pytest
from torch.utils.tensorboard import SummaryWriter as TorchWriter
from torch.utils.tensorboard.summary import histogram as torch_histogram_summary

from livetrain.core.histograms import Histogram, from_summary, histogram, read, rebin, to_summary, uniform

RNG = np.random.default_rng(0)


def test_fixed_bins_are_numpys_and_leave_out_non_finite_values():
    values = RNG.normal(size=1000)
    counts, edges = histogram(np.concatenate([values, [np.nan, np.inf, -np.inf]]), bins=64)
    want_counts, want_edges = np.histogram(values, bins=64)
    np.testing.assert_array_equal(counts, want_counts)
    np.testing.assert_array_equal(edges, want_edges)
    np.testing.assert_array_equal(histogram(values, bins=[-1, 0, 1]).counts, np.histogram(values, [-1, 0, 1])[0])


def test_tensorflow_bins_match_torchs_summary_as_tensorboard_reads_it(tmp_path):
    values = RNG.normal(scale=0.1, size=5000)
    with TorchWriter(tmp_path) as writer:  # its add_histogram(bins="tensorflow") uses these edges
        tensorflow_edges = writer.default_bins
    proto = torch_histogram_summary("w", values, tensorflow_edges).value[0].histo
    theirs = from_summary({"min": proto.min, "max": proto.max, "bucket_limit": list(proto.bucket_limit),
                           "bucket": list(proto.bucket)})
    ours = histogram(values, "tensorflow")
    assert ours.counts.sum() == theirs.counts.sum() == 5000
    assert ours.edges[0] <= values.min() and ours.edges[-1] >= values.max()
    # on common display bins (as TensorBoard's dashboard re-bins them) the two agree
    edges = np.linspace(values.min(), values.max(), 31)
    np.testing.assert_allclose(rebin(ours, edges), rebin(theirs, edges), atol=1e-6 * 5000)


def test_a_summary_converts_both_ways():
    hist = histogram(RNG.random(100), bins=8)
    summary = to_summary(hist, low=hist.edges[0], high=hist.edges[-1], total=100, sum_=1.0, sum_squares=1.0)
    back = from_summary(summary)
    assert back.counts[0] == 0 and back.edges[0] == back.edges[1]  # the leading empty bucket, zero wide
    np.testing.assert_array_equal(back.counts[1:], hist.counts)
    np.testing.assert_allclose(back.edges[1:], hist.edges)


def test_tensorflows_outer_buckets_are_clipped_to_min_and_max():
    hist = from_summary({"min": -3.0, "max": 2.0, "bucket_limit": [-1.0, 1.0, 1.7976931348623157e308],
                         "bucket": [2, 5, 1]})
    assert hist.edges.tolist() == [-3.0, -1.0, 1.0, 2.0]


@pytest.mark.parametrize("value", [
    Histogram(np.array([1.0, 2.0]), np.array([0.0, 1.0, 2.0])),
    (np.array([1, 2]), np.array([0, 1, 2])),
    {"counts": [1, 2], "edges": [0, 1, 2]},
    {"min": 0.0, "max": 2.0, "bucket_limit": [1.0, 2.0], "bucket": [1, 2]},
])
def test_every_logged_form_reads_the_same(value):
    counts, edges = read(value)
    assert counts.tolist() == [1.0, 2.0] and edges.tolist() == [0.0, 1.0, 2.0]


def test_raw_values_are_binned_and_bad_forms_name_the_expected_ones():
    assert read(np.arange(10.0), bins=5).counts.tolist() == [2.0] * 5
    with pytest.raises(ValueError, match="mapping with 'counts' and 'edges'.*got a mapping with keys"):
        read({"values": [1]})
    with pytest.raises(ValueError, match="one more than counts; got 2 counts and 2 edges"):
        read(([1, 2], [0, 1]))
    with pytest.raises(ValueError, match="none finite"):
        histogram(np.array([np.nan]))


def test_rebinning_merges_bins_exactly_and_keeps_the_total():
    values = RNG.normal(size=2000)
    fine = histogram(values, bins=64)
    coarse = rebin(fine, fine.edges[::2])
    np.testing.assert_allclose(coarse, np.histogram(values, bins=fine.edges[::2])[0])
    shifted = rebin(fine, np.linspace(fine.edges[0], fine.edges[-1], 17))
    assert shifted.sum() == pytest.approx(2000)


def test_rebinning_spreads_a_bin_evenly_and_drops_what_lies_outside():
    hist = Histogram(np.array([10.0, 4.0]), np.array([0.0, 1.0, 3.0]))
    np.testing.assert_allclose(rebin(hist, np.array([0.5, 1.0, 2.0, 5.0])), [5.0, 2.0, 2.0])
    point = Histogram(np.array([0.0, 7.0, 0.0]), np.array([1.0, 2.0, 2.0, 4.0]))  # a zero-wide bin at 2
    np.testing.assert_allclose(rebin(point, np.array([1.0, 2.0, 3.0])), [0.0, 7.0])
    np.testing.assert_allclose(rebin(point, np.array([0.0, 2.0])), [7.0])  # the last edge is closed


def test_uniform_bins_span_the_histograms_own_range():
    hist = uniform(histogram(RNG.normal(size=500), "tensorflow"), 30)
    assert len(hist.counts) == 30 and np.allclose(np.diff(hist.edges), np.diff(hist.edges)[0])
    assert hist.counts.sum() == pytest.approx(500)
    same = uniform(Histogram(np.array([3.0]), np.array([2.0, 2.0])), 30)
    assert same.counts.tolist() == [3.0] and same.edges.tolist() == [2.0, 2.0]
