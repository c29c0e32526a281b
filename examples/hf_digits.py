"""A Hugging Face ``Trainer`` on scikit-learn's bundled digits, drawn live by ``livetrain.HFCallback``.

The model is a plain ``torch.nn.Module`` that returns ``{"loss", "logits"}`` (the Trainer accepts any such module);
the data a torch ``Dataset`` of dicts (no ``datasets`` needed). Run it as a script (``python examples/hf_digits.py``)
or in a notebook cell (paste it, or ``runpy.run_path("examples/hf_digits.py")["main"]()``): a live Board of the
train loss, learning rate and gradient norm every 5 steps and the evaluation at each epoch's end.
"""
from __future__ import annotations

import tempfile
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import EvalPrediction, PrinterCallback, Trainer, TrainingArguments

import livetrain
from livetrain.examples.digits import DigitsCNN, load_digits_loaders


class Digits(torch.utils.data.Dataset):
    """One split of the digits as ``{"pixels": (1, 8, 8) float32, "labels": int64}`` items."""

    def __init__(self, split: str) -> None:
        self.data = load_digits_loaders(shuffle=False)[split].dataset

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        pixels, label = self.data[i]
        return {"pixels": pixels, "labels": label}


class Classifier(nn.Module):
    """:class:`~livetrain.examples.digits.DigitsCNN` with the cross-entropy loss, as the Trainer calls a model."""

    def __init__(self) -> None:
        super().__init__()
        self.net = DigitsCNN()

    def forward(self, pixels: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        logits = self.net(pixels)
        return {"logits": logits} if labels is None else {"loss": nn.functional.cross_entropy(logits, labels),
                                                          "logits": logits}


def accuracy(prediction: EvalPrediction) -> dict[str, float]:
    """The evaluation's accuracy (``eval_accuracy`` in the logs)."""
    return {"accuracy": float(np.mean(np.argmax(prediction.predictions, axis=1) == prediction.label_ids))}


def arguments(**options: Any) -> TrainingArguments:
    """``TrainingArguments(**options)``, with ``eval_strategy`` under its older name where this version has that."""
    if "eval_strategy" not in TrainingArguments.__dataclass_fields__:
        options["evaluation_strategy"] = options.pop("eval_strategy")
    return TrainingArguments(**options)


def main(epochs: int = 2, live: bool = True) -> livetrain.History | None:
    """Train for ``epochs``; with ``live`` through a :class:`livetrain.HFCallback` (returns its history), else
    without livetrain (returns ``None``)."""
    torch.set_num_threads(1)  # a model this small runs fastest on one thread
    torch.manual_seed(0)
    callback = livetrain.HFCallback() if live else None
    with tempfile.TemporaryDirectory() as out:
        args = arguments(output_dir=out, num_train_epochs=epochs, eval_strategy="epoch", logging_steps=5,
                         learning_rate=3e-3, per_device_train_batch_size=32, per_device_eval_batch_size=64,
                         report_to="none", use_cpu=True, save_strategy="no", disable_tqdm=True, log_level="error")
        trainer = Trainer(model=Classifier(), args=args, train_dataset=Digits("train"), eval_dataset=Digits("test"),
                          compute_metrics=accuracy, callbacks=[callback] if callback else [])
        trainer.remove_callback(PrinterCallback)  # with disable_tqdm it prints every log: the live view shows them
        trainer.train()
    return callback.history if callback else None


if __name__ == "__main__":
    main()
