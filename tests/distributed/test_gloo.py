"""A real two-process ``torch.distributed`` run on the gloo backend (torchrun): the epoch values that reach the
history and the plot are the global means weighted by batch size, ``"sum"`` metrics are summed over the ranks, a
user's own loop gets the same through ``AcrossRanks``, and only rank 0 draws and writes files."""
import json
import runpy
import socket
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
RANKS = runpy.run_path(str(HERE / "rank_run.py"))  # its batches (main() runs only under torchrun)
TRAIN, TEST = RANKS["TRAIN"], RANKS["TEST"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def weighted_mean(batches_by_rank) -> float:
    values = [x for batches in batches_by_rank.values() for batch in batches for x in batch]
    return sum(values) / len(values)  # the mean of batch means weighted by batch size is the mean of all samples


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gloo")
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                           "--master-addr", "127.0.0.1", "--master-port", str(free_port()),
                           str(HERE / "rank_run.py"), str(out)], capture_output=True, text=True, timeout=600,
                          cwd=HERE.parents[1])
    assert done.returncode == 0, done.stderr[-4000:]
    return out, [json.loads((out / f"result{r}.json").read_text()) for r in (0, 1)], done


def test_epoch_values_are_the_global_means_weighted_by_batch_size(run):
    _, results, _ = run
    train, test = weighted_mean(TRAIN), weighted_mean(TEST)
    for result in results:  # every rank's history holds the global values
        assert result["history"]["train"]["loss"] == pytest.approx([train, train])
        assert result["history"]["test"]["loss"] == pytest.approx([test, test])
        assert result["history"]["train"]["counts"][-1] == [10, 4]  # "sum": the samples and batches of both ranks
    assert results[0]["drawn"]["train"] == pytest.approx([train, train])  # what rank 0 plots
    assert results[0]["drawn"]["test"] == pytest.approx([test, test])


def test_a_users_own_loop_gets_the_global_means_through_across_ranks(run):
    _, results, _ = run
    assert results[0]["own_drawn"] == pytest.approx([weighted_mean(TRAIN)])
    assert results[1]["own_drawn"] == []  # rank 1 passes nothing on


def test_only_rank_zero_draws_and_writes(run):
    out, _, done = run
    zero = out / "rank0"
    for name in ("history.json", "run.jsonl", "line.gif"):
        assert (zero / name).stat().st_size > 0, name
    assert list((zero / "tb").glob("events.out.tfevents.*")) and list(zero.glob("livetrain-line*.html"))
    assert not (out / "rank1").exists() or not any((out / "rank1").rglob("*")), list((out / "rank1").rglob("*"))
    pages = [line for line in done.stdout.splitlines() if "the live plot is at" in line]
    assert len(pages) == 3 and all("/rank0/" in line for line in pages)  # train_loop's, the own loop's, the writer's


def test_the_notebook_watches_the_job_through_rank_zeros_log(run):
    from livetrain import Watcher

    out, _, _ = run
    watcher = Watcher(out / "rank0" / "run.jsonl", callbacks=[])
    watcher.poll()
    steps = watcher.history.steps
    assert steps["test/loss (epoch)"].value.tolist() == pytest.approx([weighted_mean(TEST)] * 2)  # global means
    assert steps["train/loss (epoch)"].value.tolist() == pytest.approx([weighted_mean(TRAIN)] * 2)
    assert steps["train/loss"].value.tolist() == pytest.approx([2.0, 4.5, 2.0, 4.5])  # rank 0's own batches
