"""Render the bar and image views after a short real training run, as PNGs for the README.

Usage:
    python scripts/view_figures.py [--epochs 10]

Trains the digits CNN (per-class counts) and the digits VAE with livetrain's examples, then
screenshots the final state of VBar + HBar and of the gray and inferno image grids into ``fig/``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from screenshot import build_html, screenshot

from livetrain import Dashboard, HBarPlotsCallback, ImagePlotsCallback, VBarPlotsCallback, set_transport, train_loop
from livetrain.examples import (
    CLASSIFIER_REDUCE,
    VAE_REDUCE,
    DigitsCNN,
    DigitsVAE,
    load_loaders,
    make_step,
    make_vae_step,
)

FIG = Path(__file__).resolve().parent.parent / "fig"


def main(argv: list[str] | None = None) -> int:
    set_transport("none")  # this script draws its own pictures: no live HTML page
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    loaders, dataset = load_loaders(prefer="digits", seed=0)
    model = DigitsCNN()
    bars = Dashboard([VBarPlotsCallback(), HBarPlotsCallback()])
    train_loop(make_step(model, torch.optim.Adam(model.parameters(), 3e-3), per_class=10), loaders, args.epochs,
               callbacks=[bars], reduce=CLASSIFIER_REDUCE, progress=False)
    outputs = {"bars.png": bars}
    loaders, _ = load_loaders(prefer="digits", seed=0, shuffle=False)
    for cmap in ("gray", "inferno"):
        torch.manual_seed(0)
        vae = DigitsVAE()
        images = ImagePlotsCallback(cmap=cmap, size=250)
        train_loop(make_vae_step(vae, torch.optim.Adam(vae.parameters(), 1e-3)), loaders, args.epochs,
                   callbacks=[images], reduce=VAE_REDUCE, progress=False)
        outputs[f"{cmap}_image.png"] = images
    for name, view in outputs.items():
        size = screenshot(build_html(view), FIG / name, args.chromium, 1.0)
        print(f"view_figures: wrote fig/{name} ({size[0]}x{size[1]}, {dataset}, {args.epochs} epochs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
