"""A loop run with Hugging Face Accelerate on scikit-learn's digits, drawn live by livetrain's ``AccelerateTracker``:
the training loss each batch, the epoch's training and validation loss and the validation accuracy each epoch.

Run it as a script (``python examples/accelerate_digits.py``) or in a notebook cell (``%run
examples/accelerate_digits.py``); ``main(live=False)`` is the same training without livetrain.
"""
from __future__ import annotations

import torch
from accelerate import Accelerator
from torch.nn import functional as F

import livetrain
from livetrain.examples.digits import DigitsCNN, load_digits_loaders


def main(epochs: int = 2, live: bool = True) -> livetrain.History | None:
    """Train for ``epochs``; with ``live``, drawn by livetrain and its history returned, else without it (None)."""
    torch.set_num_threads(1)  # a tiny model: one thread is fastest on a CPU
    torch.manual_seed(0)
    tracker = livetrain.AccelerateTracker() if live else None
    accelerator = Accelerator(cpu=True, log_with=[tracker] if tracker is not None else None)
    accelerator.init_trackers("digits", config={"lr": 1e-3, "epochs": epochs})
    loaders = load_digits_loaders()
    model = DigitsCNN()
    model, optimizer, train, test = accelerator.prepare(model, torch.optim.Adam(model.parameters(), lr=1e-3),
                                                        loaders["train"], loaders["test"])
    step = 0
    for epoch in range(epochs):
        model.train()
        total = torch.zeros(())
        for x, y in train:
            loss = F.cross_entropy(model(x), y)
            accelerator.backward(loss)
            optimizer.step()
            optimizer.zero_grad()
            total += loss.detach()
            accelerator.log({"train_loss": loss.detach()}, step=step)  # a 0-d tensor: read when drawn
            step += 1
        model.eval()
        losses, hits = [], []
        with torch.no_grad():
            for x, y in test:
                logits = model(x)
                loss, y = accelerator.gather_for_metrics((F.cross_entropy(logits, y, reduction="none"), y))
                losses.append(loss)
                hits.append(accelerator.gather_for_metrics(logits.argmax(dim=1)) == y)
        accelerator.log({"train_loss": (total / len(train)).item(), "val_loss": torch.cat(losses).mean().item(),
                         "val_acc": torch.cat(hits).float().mean().item(), "epoch": epoch}, step=step - 1)
    accelerator.end_training()
    return tracker.history if tracker is not None else None


if __name__ == "__main__":
    main()
