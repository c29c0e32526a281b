"""PyTorch Lightning on scikit-learn's digits, drawn live by livetrain: a ``LightningLogger`` for the values
``self.log`` logs, a ``LightningCallback`` for weight and gradient histograms and a grid of input images.

Run it as a script (``python examples/lightning_digits.py``) or in a notebook cell (``%run
examples/lightning_digits.py``); ``main(live=False)`` is the same training without livetrain.
"""
from __future__ import annotations

import tempfile

import lightning.pytorch as pl
import torch
from torch.nn import functional as F

import livetrain
from livetrain.examples.digits import DigitsCNN, load_digits_loaders


class DigitsModule(pl.LightningModule):
    """The digits CNN, trained with Adam; logs the loss per step and per epoch, validation loss and accuracy."""

    def __init__(self, lr: float = 1e-3, width: int = 16) -> None:
        super().__init__()
        self.save_hyperparameters()  # LightningLogger.log_hyperparams gets them
        self.model = DigitsCNN(width=width)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        x, y = batch
        loss = F.cross_entropy(self.model(x), y)
        self.log("train_loss", loss, on_step=True, on_epoch=True)  # train_loss_step and train_loss_epoch
        return {"loss": loss, "images": x[:16]}  # "images": LightningCallback draws them

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        logits = self.model(x)
        self.log("val_loss", F.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(dim=1) == y).float().mean())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


def main(epochs: int = 2, live: bool = True, extras: bool = True) -> livetrain.History | None:
    """Train for ``epochs``; with ``live``, drawn by livetrain and its history returned, else without it (None).
    ``extras``: the ``LightningCallback`` too (weight histograms and input images every 20 steps)."""
    torch.set_num_threads(1)  # a tiny model: one thread is fastest on a CPU
    torch.manual_seed(0)
    loaders = load_digits_loaders()
    logger = livetrain.LightningLogger() if live else False
    histograms = livetrain.LightningCallback(every=20, modules=["model.classifier"])  # and the "images" returned
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=epochs, logger=logger, log_every_n_steps=5,
                         callbacks=[histograms] if live and extras else [],
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         default_root_dir=tempfile.gettempdir())
    trainer.fit(DigitsModule(), loaders["train"], loaders["test"])
    return logger.history if live else None


if __name__ == "__main__":
    main()
