"""One rank of the two-process gloo run that tests/distributed/test_gloo.py starts with torchrun: train_loop, a
user's own loop with AcrossRanks, a SummaryWriter and a FrameExporter, each writing under ``<out>/rank<r>``; then the
test's own record of what this rank holds, in ``<out>/result<r>.json`` (the only file a rank other than 0 writes)."""
import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

import livetrain
from livetrain import AcrossRanks, FrameExporter, JsonlWriter, LinePlotsCallback, SummaryWriter, train_loop

#: Each rank's batches: uneven sizes and counts, and rank 1 has no test batch in the second epoch.
TRAIN = {0: [[1.0, 2.0, 3.0], [4.0, 5.0]], 1: [[10.0], [20.0, 30.0, 40.0, 50.0]]}
TEST = {0: [[1.0, 1.0]], 1: [[3.0, 3.0, 3.0, 3.0]]}


def step(batch, phase):
    values = torch.tensor(batch)
    return {"loss": values.mean(), "counts": torch.tensor([len(batch), 1]), "batch_size": len(batch)}


def main() -> None:
    out = Path(sys.argv[1])
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.set_num_threads(1)
    mine = out / f"rank{rank}"
    os.environ["LIVETRAIN_HTML_DIR"] = str(mine)
    livetrain.set_transport("script")
    line = LinePlotsCallback(keys=("loss",), phases=("train", "test"))
    exporter = FrameExporter(line, renderer="matplotlib", gif=mine / "line.gif")
    loaders = {"train": TRAIN[rank], "test": TEST[rank]}
    history = train_loop(step, loaders, epochs=2, callbacks=[line, exporter, JsonlWriter(mine / "run.jsonl")],
                         history_path=mine / "history.json", reduce={"counts": "sum"}, progress=True)
    # a user's own loop: this rank's epoch values, averaged by AcrossRanks (weighted by the samples seen)
    own = LinePlotsCallback(keys=("loss",), phases=("train",))
    wrapped = AcrossRanks([own], weight="samples")
    samples = sum(map(len, TRAIN[rank]))
    local = sum(sum(b) for b in TRAIN[rank]) / samples
    wrapped.on_epoch_end(0, "train", {"train": {"loss": [local], "samples": [samples]}})
    with SummaryWriter(mine / "tb") as writer:
        writer.add_scalar("loss", local, 0)
    line.flush(); own.flush()
    result = {"history": {p: {k: [v.tolist() if hasattr(v, "tolist") else v for v in vs] for k, vs in s.items()}
                          for p, s in history.items()},
              "drawn": {p: list(line.sources[p].data[line.columns["loss"]]) for p in ("train", "test")},
              "own_drawn": list(own.sources["train"].data[own.columns["loss"]])}
    (out / f"result{rank}.json").write_text(json.dumps(result))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
