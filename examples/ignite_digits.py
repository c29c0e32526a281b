"""PyTorch Ignite on scikit-learn's bundled digits, drawn live by livetrain: the trainer's loss at every iteration
and the evaluator's accuracy and loss at every epoch end, on one Board.

Run it as a script (``python examples/ignite_digits.py``) or in a notebook cell (paste it, or
``runpy.run_path("examples/ignite_digits.py")["main"]()``).
"""
from __future__ import annotations

import torch
from ignite.engine import Events, create_supervised_evaluator, create_supervised_trainer
from ignite.metrics import Accuracy, Loss
from torch import nn

import livetrain
from livetrain.examples.digits import DigitsCNN, load_digits_loaders


def main(epochs: int = 2, live: bool = True) -> livetrain.History | None:
    """Train the digits CNN for ``epochs`` with Ignite; with ``live=False``, the same training without livetrain."""
    torch.manual_seed(0)
    torch.set_num_threads(1)  # a model this small runs fastest on one thread
    loaders = load_digits_loaders()
    model, loss_fn = DigitsCNN(), nn.CrossEntropyLoss()
    trainer = create_supervised_trainer(model, torch.optim.Adam(model.parameters(), lr=1e-3), loss_fn,
                                        output_transform=lambda x, y, y_pred, loss: loss.detach())  # not read here
    evaluator = create_supervised_evaluator(model, metrics={"accuracy": Accuracy(), "loss": Loss(loss_fn)})
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda: evaluator.run(loaders["test"]))
    logger = livetrain.IgniteLogger().attach(trainer, evaluators={"val": evaluator}) if live else None
    trainer.run(loaders["train"], max_epochs=epochs)
    return None if logger is None else logger.history


if __name__ == "__main__":
    main()
