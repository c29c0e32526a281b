"""A small variational auto-encoder for digit images (the blog's VAE, after pytorch/examples) and its step.

The step returns the epoch's sample images next to the loss, for
:class:`livetrain.ImagePlotsCallback`: give :func:`livetrain.train_loop` ``reduce=VAE_REDUCE`` so
the first batch's reconstructions and inputs are kept (a mean of images would make no sense).

Example:
    >>> import torch
    >>> from livetrain import train_loop
    >>> from livetrain.examples import load_digits_loaders
    >>> loaders = load_digits_loaders(shuffle=False)
    >>> model = DigitsVAE((8, 8))
    >>> step = make_vae_step(model, torch.optim.Adam(model.parameters(), lr=1e-3), n_images=16)
    >>> h = train_loop(step, loaders, epochs=1, reduce=VAE_REDUCE, progress=False)
    >>> sorted(h["test"]), h["test"]["recon"][-1].shape
    (['loss', 'recon', 'target'], (16, 1, 8, 8))
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

Step = Callable[[Any, str], Mapping[str, Any]]

#: The ``reduce=`` for :func:`livetrain.train_loop` with :func:`make_vae_step`: keep the first
#: batch's images of each epoch (the loss stays a batch-size weighted mean).
VAE_REDUCE: dict[str, str] = {"recon": "first", "target": "first"}


class DigitsVAE(nn.Module):
    """A fully connected VAE: encoder to ``mu`` and ``logvar``, reparameterization, decoder with a sigmoid.

    ``image_shape`` is the ``(height, width)`` of the 1-channel images: ``(8, 8)`` for scikit-learn's
    digits (64 inputs), ``(28, 28)`` for MNIST (784 inputs, the blog's). ``forward`` takes images
    shaped ``(N, 1, H, W)`` (or anything with ``H * W`` values per sample) and returns the
    reconstructions shaped ``(N, 1, H, W)`` in [0, 1], ``mu`` and ``logvar``. In eval mode the
    latent code is ``mu`` itself, so evaluation is deterministic.

    Example:
        >>> vae = DigitsVAE((8, 8))
        >>> recon, mu, logvar = vae(torch.rand(5, 1, 8, 8))
        >>> tuple(recon.shape), tuple(mu.shape), bool(((recon >= 0) & (recon <= 1)).all())
        ((5, 1, 8, 8), (5, 20), True)
    """

    def __init__(self, image_shape: Sequence[int] = (8, 8), hidden: int = 400, latent: int = 20) -> None:
        super().__init__()
        self.image_shape = tuple(int(s) for s in image_shape)
        if len(self.image_shape) != 2 or min(self.image_shape) < 1:
            raise ValueError(f"image_shape must be (height, width), e.g. (8, 8) or (28, 28); got {image_shape!r}")
        self.n_inputs = math.prod(self.image_shape)
        self.fc1 = nn.Linear(self.n_inputs, hidden)
        self.fc_mu = nn.Linear(hidden, latent)
        self.fc_logvar = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent, hidden)
        self.fc4 = nn.Linear(hidden, self.n_inputs)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``mu`` and ``logvar`` of the latent code of each image."""
        h = F.relu(self.fc1(x.reshape(-1, self.n_inputs)))
        return self.fc_mu(h), self.fc_logvar(h)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """A sample ``mu + sigma * eps`` while training; ``mu`` in eval mode."""
        if not self.training:
            return mu
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images shaped ``(N, 1, H, W)`` with values in [0, 1]."""
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))).reshape(-1, 1, *self.image_shape)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


def vae_loss(recon: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The blog's loss: binary cross-entropy per pixel plus the KL divergence, normalized by the same count.

    Example:
        >>> x = torch.full((2, 1, 8, 8), 0.5)
        >>> round(vae_loss(x, x, torch.zeros(2, 20), torch.zeros(2, 20)).item(), 4)  # log(2): BCE only
        0.6931
    """
    bce = F.binary_cross_entropy(recon.reshape(x.shape), x)
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())  # Kingma & Welling 2014, appendix B
    return bce + kld / x.numel()


def make_vae_step(model: DigitsVAE, optimizer: torch.optim.Optimizer, n_images: int = 64,
                  device: str | torch.device | None = None) -> Step:
    """A ``step(batch, phase)`` training ``model`` on ``(images, labels)`` batches (labels unused).

    It trains in the ``"train"`` phase and evaluates (``model.eval()``, no gradients) in any
    other, and returns ``{"loss": ..., "recon": ..., "target": ...}``: the loss as a 0-d tensor,
    and the batch's first ``n_images`` reconstructions and input images, as CPU float tensors
    shaped ``(N, 1, H, W)`` in [0, 1]. Pass ``reduce=VAE_REDUCE`` to ``train_loop``.

    Example:
        >>> model = DigitsVAE((8, 8))
        >>> step = make_vae_step(model, torch.optim.Adam(model.parameters()), n_images=3)
        >>> out = step((torch.rand(10, 1, 8, 8), torch.zeros(10)), "train")
        >>> sorted(out), tuple(out["recon"].shape), tuple(out["target"].shape)
        (['loss', 'recon', 'target'], (3, 1, 8, 8), (3, 1, 8, 8))
    """
    if isinstance(n_images, bool) or not isinstance(n_images, int) or n_images < 1:
        raise ValueError(f"n_images must be an int >= 1, got {n_images!r}")
    if device is None:
        device = next(model.parameters()).device

    def step(batch: Any, phase: str) -> dict[str, torch.Tensor]:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        x = x.to(device)
        training = phase == "train"
        model.train(training)
        with torch.set_grad_enabled(training):
            recon, mu, logvar = model(x)
            loss = vae_loss(recon, x, mu, logvar)
        if training:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return {"loss": loss.detach(),
                "recon": recon[:n_images].detach().cpu(),
                "target": x[:n_images].detach().reshape(recon[:n_images].shape).cpu()}

    return step
