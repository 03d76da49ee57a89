"""Adversarial losses on discriminator outputs (hinge, LSGAN, vanilla/non-saturating, FM).

Every GAN loss takes ``fake`` and, in the discriminator update, ``real``: one call is the
discriminator's loss when ``real`` is given (bind both, ``step='discriminator'``) and the
generator's when it is not (bind ``fake`` only). A discriminator output is a tensor of logits,
or mmhaze's multi-scale form ``[[features..., logits] per scale]``; a list of such outputs (one
per discriminator, ``None`` for a discriminator that has nothing to judge in this batch, e.g. a
semantic region that is absent) is averaged over the discriminators present. When none is
present the loss is zero (with a graph to nothing, so the update skips it cleanly).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Optional

import torch
import torch.nn.functional as F

from mmhaze.registry import MODELS

from .pixel_loss import WeightedLoss


def iter_logits(output: Any) -> Iterator[torch.Tensor]:
    """The logits tensors of a (list of) discriminator output(s), scale by scale."""
    if output is None:
        return
    if isinstance(output, torch.Tensor):
        yield output
        return
    items = [o for o in output if o is not None]
    if items and isinstance(items[0], torch.Tensor):  # one scale: features..., logits
        yield items[-1]
        return
    for item in items:
        yield from iter_logits(item)


def iter_features(output: Any) -> Iterator[list[torch.Tensor]]:
    """The intermediate feature lists (logits excluded) of each scale of each discriminator."""
    if output is None or isinstance(output, torch.Tensor):
        return
    items = list(output)
    if items and isinstance(items[0], torch.Tensor):
        yield items[:-1]
        return
    for item in items:
        yield from iter_features(item)


class _GANLoss(WeightedLoss):
    """Mean over every logits map of ``disc_term`` (D update) or ``gen_term`` (G update)."""

    def disc_term(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def gen_term(self, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, fake: Any, real: Optional[Any] = None) -> torch.Tensor:
        fakes = list(iter_logits(fake))
        if real is None:
            terms = [self.gen_term(f) for f in fakes]
        else:
            reals = list(iter_logits(real))
            if len(reals) != len(fakes):
                raise ValueError(f'{type(self).__name__}: {len(fakes)} fake and {len(reals)} '
                                 'real discriminator outputs')
            terms = [self.disc_term(r, f) for r, f in zip(reals, fakes)]
        if not terms:
            return torch.zeros((), requires_grad=True)
        return self.loss_weight * torch.stack(terms).mean()


@MODELS.register_module()
class HingeGANLoss(_GANLoss):
    """D: ``relu(1 − D(real)) + relu(1 + D(fake))``; G: ``−D(fake)`` (SPADE, BigGAN)."""

    def disc_term(self, real, fake):
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def gen_term(self, fake):
        return -fake.mean()


@MODELS.register_module()
class LSGANLoss(_GANLoss):
    """D: ``½(D(real) − 1)² + ½D(fake)²``; G: ``½(D(fake) − 1)²`` (Mao et al. 2017)."""

    def disc_term(self, real, fake):
        return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean()

    def gen_term(self, fake):
        return 0.5 * ((fake - 1) ** 2).mean()


@MODELS.register_module()
class VanillaGANLoss(_GANLoss):
    """Cross-entropy GAN; the generator uses the non-saturating ``−log σ(D(fake))``."""

    def disc_term(self, real, fake):
        return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))

    def gen_term(self, fake):
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


@MODELS.register_module()
class FeatureMatchingLoss(WeightedLoss):
    """L1 between the discriminator features of fake and real images (pix2pixHD, SPADE).

    Averaged over layers and scales of every discriminator present; the real features are
    targets (detached).
    """

    def forward(self, fake: Any, real: Any) -> torch.Tensor:
        terms = []
        for f_feats, r_feats in zip(iter_features(fake), iter_features(real)):
            for f, r in zip(f_feats, r_feats):
                terms.append(F.l1_loss(f, r.detach()))
        if not terms:
            return torch.zeros((), requires_grad=True)
        return self.loss_weight * torch.stack(terms).mean()
