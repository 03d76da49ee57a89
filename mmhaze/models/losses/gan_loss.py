"""Adversarial losses on discriminator outputs (hinge, LSGAN, vanilla/non-saturating, FM).

Every GAN loss takes ``fake`` and, in the discriminator update, ``real``: one call is the
discriminator's loss when ``real`` is given (bind both, ``step='discriminator'``) and the
generator's when it is not (bind ``fake`` only). A discriminator output is a tensor of logits,
or mmhaze's multi-scale form ``[[features..., logits] per scale]``; a list of such outputs (one
per discriminator, ``None`` for a discriminator that has nothing to judge in this batch, e.g. a
semantic region that is absent) is averaged over the discriminators present. When none is
present the loss is zero (with a graph to nothing, so the update skips it cleanly).

A logits map may come with a weight per patch (:class:`WeightedLogits`, e.g. the share of a
semantic region inside each patch of a region discriminator): its term is then the weighted mean
over patches, and a map whose weights are all zero is *absent* — it counts for nothing and is
left out of the average, yet stays in the graph (its parameters get a zero gradient, which DDP
requires of every parameter of a network that ran). In the discriminator update a map pair
counts when both its real and its fake map are present.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional, Union

import torch
import torch.nn.functional as F

from mmhaze.registry import MODELS

from .pixel_loss import WeightedLoss


@dataclass
class WeightedLogits:
    """A logits map with a non-negative weight per patch (broadcastable to ``logits``)."""
    logits: torch.Tensor
    weight: torch.Tensor


Logits = Union[torch.Tensor, WeightedLogits]


def iter_logits(output: Any) -> Iterator[Logits]:
    """The logits maps of a (list of) discriminator output(s), scale by scale."""
    if output is None:
        return
    if isinstance(output, (torch.Tensor, WeightedLogits)):
        yield output
        return
    items = [o for o in output if o is not None]
    if items and isinstance(items[0], torch.Tensor):  # one scale: features..., logits
        yield items[-1]
        return
    for item in items:
        yield from iter_logits(item)


def iter_scales(output: Any) -> Iterator[list]:
    """The ``[features..., logits]`` list of each scale of each discriminator output."""
    if output is None or isinstance(output, (torch.Tensor, WeightedLogits)):
        return
    items = list(output)
    if items and isinstance(items[0], torch.Tensor):
        yield items
        return
    for item in items:
        yield from iter_scales(item)


def weighted_mean(values: torch.Tensor, weight: Optional[torch.Tensor]
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean of ``values`` weighted by ``weight``, 1.0 if any weight is positive else 0.0)."""
    if weight is None:
        return values.mean(), values.new_ones(())
    weight = weight.expand_as(values)
    total = weight.sum()
    return (values * weight).sum() / total.clamp_min(1e-12), (total > 0).to(values.dtype)


def _split(item: Logits) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    if isinstance(item, WeightedLogits):
        return item.logits, item.weight
    return item, None


class _GANLoss(WeightedLoss):
    """Mean over every present logits map of the discriminator terms (``real_term`` on real
    logits + ``fake_term`` on fake logits, D update) or of ``gen_term`` (G update); the terms are
    element-wise, so per-patch weights apply."""

    def real_term(self, real: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def fake_term(self, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def gen_term(self, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, fake: Any, real: Optional[Any] = None) -> torch.Tensor:
        fakes = [_split(f) for f in iter_logits(fake)]
        terms, present = [], []
        if real is None:
            for logits, weight in fakes:
                value, here = weighted_mean(self.gen_term(logits), weight)
                terms.append(value * here)
                present.append(here)
        else:
            reals = [_split(r) for r in iter_logits(real)]
            if len(reals) != len(fakes):
                raise ValueError(f'{type(self).__name__}: {len(fakes)} fake and {len(reals)} '
                                 'real discriminator outputs')
            for (r, wr), (f, wf) in zip(reals, fakes):
                value_r, here_r = weighted_mean(self.real_term(r), wr)
                value_f, here_f = weighted_mean(self.fake_term(f), wf)
                terms.append((value_r + value_f) * (here_r * here_f))
                present.append(here_r * here_f)
        if not terms:
            return torch.zeros((), requires_grad=True)
        count = torch.stack(present).sum().clamp_min(1.0)
        return self.loss_weight * torch.stack(terms).sum() / count


@MODELS.register_module()
class HingeGANLoss(_GANLoss):
    """D: ``relu(1 − D(real)) + relu(1 + D(fake))``; G: ``−D(fake)`` (SPADE, BigGAN)."""

    def real_term(self, real):
        return F.relu(1 - real)

    def fake_term(self, fake):
        return F.relu(1 + fake)

    def gen_term(self, fake):
        return -fake


@MODELS.register_module()
class LSGANLoss(_GANLoss):
    """D: ``½(D(real) − 1)² + ½D(fake)²``; G: ``½(D(fake) − 1)²`` (Mao et al. 2017)."""

    def real_term(self, real):
        return 0.5 * (real - 1) ** 2

    def fake_term(self, fake):
        return 0.5 * fake ** 2

    def gen_term(self, fake):
        return 0.5 * (fake - 1) ** 2


@MODELS.register_module()
class VanillaGANLoss(_GANLoss):
    """Cross-entropy GAN; the generator uses the non-saturating ``−log σ(D(fake))``."""

    def real_term(self, real):
        return F.binary_cross_entropy_with_logits(real, torch.ones_like(real), reduction='none')

    def fake_term(self, fake):
        return F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake), reduction='none')

    def gen_term(self, fake):
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake), reduction='none')


@MODELS.register_module()
class FeatureMatchingLoss(WeightedLoss):
    """L1 between the discriminator features of fake and real images (pix2pixHD, SPADE).

    Averaged over layers and scales of every discriminator present (a weighted scale whose region
    is absent on either side counts for nothing); the real features are targets (detached).
    """

    def forward(self, fake: Any, real: Any) -> torch.Tensor:
        terms, present = [], []
        for f_scale, r_scale in zip(iter_scales(fake), iter_scales(real)):
            # A scale counts when its region (if weighted) is present on both sides.
            here = _presence(f_scale[-1]) * _presence(r_scale[-1])
            for f, r in zip(f_scale[:-1], r_scale[:-1]):
                terms.append(F.l1_loss(f, r.detach()) * here)
                present.append(here)
        if not terms:
            return torch.zeros((), requires_grad=True)
        count = torch.stack(present).sum().clamp_min(1.0)
        return self.loss_weight * torch.stack(terms).sum() / count


def _presence(item: Logits) -> torch.Tensor:
    logits, weight = _split(item)
    if weight is None:
        return logits.new_ones(())
    return (weight.sum() > 0).to(logits.dtype)
