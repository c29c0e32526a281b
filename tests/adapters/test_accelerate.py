"""AccelerateTracker with the real Accelerate on the digits: the history holds what Accelerate's own TensorBoard
tracker writes from the same ``accelerator.log`` calls, epoch summaries fill ``history[phase]``, a broken view does
not stop training, and the example draws live in a kernel."""
import json
from pathlib import Path

import pytest
import torch
from accelerate import Accelerator
from adapter_views import Broken
from kernel_session import bokeh_models, pushes, stdout, streamed_rows
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.nn import functional as F

import livetrain
from livetrain import Board, CallbackDisabledWarning
from livetrain.examples.digits import DigitsCNN, load_digits_loaders

pytestmark = pytest.mark.usefixtures("no_display")
EXAMPLE = Path(__file__).parents[2] / "examples" / "accelerate_digits.py"


def train(tracker, project_dir=None, epochs=2):
    """Two epochs on the digits, logged as Accelerate's examples do (floats, for its TensorBoard tracker)."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    log_with = [tracker] + (["tensorboard"] if project_dir else [])
    accelerator = Accelerator(cpu=True, log_with=log_with, project_dir=project_dir)
    accelerator.init_trackers("digits", config={"lr": 1e-3, "batch_size": 64})
    loaders = load_digits_loaders()
    model = DigitsCNN()
    model, optimizer, train_loader, test = accelerator.prepare(
        model, torch.optim.Adam(model.parameters(), lr=1e-3), loaders["train"], loaders["test"])
    step = 0
    for epoch in range(epochs):
        losses = []
        for x, y in train_loader:
            loss = F.cross_entropy(model(x), y)
            accelerator.backward(loss)
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            accelerator.log({"train_loss": losses[-1], "lr": {"group0": 1e-3}}, step=step)
            step += 1
        with torch.no_grad():
            x, y = next(iter(test))
            logits = model(x)
            accelerator.log({"train_loss": sum(losses) / len(losses), "val_loss": F.cross_entropy(logits, y).item(),
                             "val_acc": (logits.argmax(1) == y).float().mean().item(), "epoch": epoch,
                             "notes": f"epoch {epoch} done"}, step=step - 1)
    accelerator.end_training()
    return step


def scalars(folder: Path, tag: str) -> list[tuple[int, float]]:
    [events] = [p.parent for p in folder.rglob("events.out.tfevents.*") if tag in EventAccumulator(
        str(p.parent), size_guidance={"scalars": 0}).Reload().Tags()["scalars"]]
    return [(e.step, e.value) for e in EventAccumulator(str(events), size_guidance={"scalars": 0}).Reload()
            .Scalars(tag)]


def test_the_history_holds_what_accelerate_logs(tmp_path):
    board = Board()
    tracker = livetrain.AccelerateTracker(callbacks=[board])
    steps = train(tracker, tmp_path)
    h = tracker.history
    logged = scalars(tmp_path, "train_loss")
    means, batches = [logged[23], logged[-1]], logged[:23] + logged[24:-1]  # each epoch's summary after its last batch
    assert len(batches) == steps == 46 and [s for s, _ in means] == [22, 45]
    trace = h.steps["train/loss"]
    assert trace.step.tolist() == [s for s, _ in batches]  # the batch values; the epoch means are per epoch
    assert trace.value.tolist() == pytest.approx([v for _, v in batches], rel=1e-6)
    assert h["train"]["loss"] == pytest.approx([v for _, v in means], rel=1e-6)
    for key in ("loss", "acc"):
        logged = scalars(tmp_path, f"val_{key}")
        assert h["val"][key] == pytest.approx([v for _, v in logged], rel=1e-6)
        assert h.steps[f"val/{key}"].step.tolist() == [s for s, _ in logged] == [22, 45]
    assert h.steps["lr/group0"].step.tolist() == list(range(46))
    assert [value for _, _, value in h.records["train/notes"].entries] == ["epoch 0 done", "epoch 1 done"]
    assert h.records["hparams"].entries[0][2]["hparams"] == {"lr": 1e-3, "batch_size": 64}
    board.flush()
    assert {"train/loss", "val/loss", "val/acc", "lr/group0", "train/notes", "hparams"} <= set(board.panels)


def test_a_broken_view_does_not_stop_training():
    tracker = livetrain.AccelerateTracker(callbacks=[Broken(), board := Board()])
    with pytest.warns(CallbackDisabledWarning, match="broken view"):
        train(tracker, epochs=1)
    assert len(tracker.history.steps["train/loss"]) == 23 and tracker.history["val"]["acc"]
    assert "val/acc" in board.panels


class Counted(torch.Tensor):
    """A tensor that counts the ways of reading it to the host, and stacking (how a trace reads its values)."""

    reads = 0

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("item", "__float__", "cpu", "tolist", "numpy", "to", "stack"):
            Counted.reads += 1
        return super().__torch_function__(func, types, args, kwargs or {})


def test_tensors_are_kept_as_given_and_read_when_drawn():
    tracker = livetrain.AccelerateTracker(callbacks=[])
    accelerator = Accelerator(cpu=True, log_with=[tracker])
    accelerator.init_trackers("t")
    loss = torch.tensor(0.25).as_subclass(Counted)
    Counted.reads = 0
    accelerator.log({"train_loss": loss, "epoch": 0.5}, step=3)
    assert Counted.reads == 0  # not read in the training loop
    assert tracker.history.steps["train/loss"].value.tolist() == [0.25] and Counted.reads > 0
    assert tracker.history.steps["train/loss"].epoch.tolist() == [0.5] and "train" not in tracker.history


def test_the_example_draws_live_in_a_kernel(kernel):
    run = kernel.run(f"import json, runpy\nh = runpy.run_path({str(EXAMPLE)!r})['main'](epochs=2)", timeout=120)
    logged = json.loads(stdout(kernel.run("print(json.dumps({t: h.steps[t].value.tolist() for t in h.steps}))")))
    assert len(logged["train/loss"]) == 46 and len(logged["val/acc"]) == 2
    sent = pushes(run)
    sources = {m["attributes"]["name"]: m for p in sent for m in bokeh_models(p.events)
               if m.get("name") == "ColumnDataSource" and "name" in m["attributes"]}
    for tag in ("train/loss", "val/loss", "val/acc"):  # each panel arrives with its first values, then is streamed to
        source = sources[f"livetrain:scalars:{tag}"]
        first = dict(source["attributes"]["data"]["entries"])["y"]
        assert first + streamed_rows(sent, source["id"]).get("y", []) == pytest.approx(logged[tag])
        if tag == "train/loss":
            assert len(first) < len(logged[tag])  # updated live, not only drawn at the end
