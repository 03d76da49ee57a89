"""Adversarial training for any fusion model: discriminators and alternating D/G updates.

``discriminators=dict(<name>=dict(type=..., fake='dehazed', real='unpaired_clear', ...))`` adds
one discriminator per entry; ``fake`` and ``real`` name what it compares (model outputs, sources
and batched fields of the loss namespace). Its outputs enter the namespace lazily as
``d_<name>_fake`` / ``d_<name>_real`` (and ``d_fake`` / ``d_real``, the lists over all
discriminators), so GAN losses are ordinary named loss entries::

    losses=dict(
        gan_g=dict(type='HingeGANLoss', fake='d_fake', loss_weight=0.1),
        gan_d=dict(type='HingeGANLoss', fake='d_fake', real='d_real', step='discriminator'))

``train_step`` then runs ``disc_steps`` discriminator updates (generator outputs computed without
a graph, so the generator is not stepped by the discriminator loss) and ``gen_steps`` generator
updates (discriminator parameters with ``requires_grad=False``, so the discriminator is not
stepped by the generator loss), each inside its optimizer wrappers' ``optim_context`` (mmengine's
``AmpOptimWrapper`` autocasts there on CUDA). The discriminator update logs its total as
``loss_disc``. Without discriminators the model trains like any :class:`BaseFusionModel`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional, Union

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper, OptimWrapperDict

from mmhaze.registry import MODELS

from .base_fusion_model import BaseFusionModel
from .contract import DISCRIMINATOR_BINDINGS, DISCRIMINATOR_SLOT
from .loss_namespace import BatchFields, LossNamespace
from .network_slots import fixed_parameters
from .optimization import (
    holds_any,
    holds_other_than,
    optim_contexts,
    stepping_wrappers,
    update_params,
)

DISC_TOTAL = 'loss_disc'


class DiscriminatorDict(nn.Module):
    """The discriminators of a model by name, called through ``forward(name, x)`` so that a DDP
    wrapper around the whole set sees every call. (Not a ModuleDict: its method names, e.g.
    ``clear``, would be refused as discriminator names.)"""

    def __init__(self, discriminators: Optional[Mapping[str, nn.Module]] = None):
        super().__init__()
        for name, module in (discriminators or {}).items():
            self[name] = module

    def __setitem__(self, name: str, module: nn.Module) -> None:
        if not name.isidentifier() or hasattr(nn.Module, name):
            raise ValueError(f'model.discriminators.{name}: the name must be an identifier and '
                             'not an nn.Module attribute')
        self.add_module(name, module)

    def __getitem__(self, name: str) -> nn.Module:
        return self._modules[name]

    def __iter__(self):
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)

    def forward(self, name: str, x: torch.Tensor) -> Any:
        return self._modules[name](x)


class BaseAdversarialFusionModel(BaseFusionModel):
    """A :class:`BaseFusionModel` with optional discriminators and a D/G ``train_step``.

    Args:
        discriminators: ``name → discriminator config`` with ``fake`` / ``real`` bindings.
        disc_steps: discriminator updates per iteration (before the generator's).
        gen_steps: generator updates per iteration.
        Other arguments: see :class:`BaseFusionModel`.
    """

    NETWORK_SLOTS = (DISCRIMINATOR_SLOT,)
    TRAINING_ONLY_SLOTS = (DISCRIMINATOR_SLOT,)

    def __init__(self, discriminators: Optional[Mapping] = None, disc_steps: int = 1,
                 gen_steps: int = 1, **kwargs):
        super().__init__(**kwargs)
        if disc_steps < 1 or gen_steps < 1:
            raise ValueError(f'disc_steps and gen_steps must be >= 1, got {disc_steps}, '
                             f'{gen_steps}')
        self.disc_steps = int(disc_steps)
        self.gen_steps = int(gen_steps)
        self.disc_bindings = self.declared_discriminators(dict(discriminators=discriminators))
        if not discriminators:
            self.add_network(DISCRIMINATOR_SLOT, None)
            return
        nets = DiscriminatorDict()
        for name, cfg in discriminators.items():
            nets[name] = MODELS.build({k: v for k, v in dict(cfg).items()
                                       if k not in DISCRIMINATOR_BINDINGS})
        self.add_network(DISCRIMINATOR_SLOT, nets)

    @property
    def has_discriminators(self) -> bool:
        return getattr(self, DISCRIMINATOR_SLOT, None) is not None

    # ------------------------------------------------------------------ contract
    @classmethod
    def declared_discriminators(cls, cfg: Mapping) -> dict[str, tuple[Optional[str],
                                                                      Optional[str]]]:
        return {name: (dict(sub).get('fake'), dict(sub).get('real'))
                for name, sub in (cfg.get(DISCRIMINATOR_SLOT) or {}).items()}

    @classmethod
    def declared_extra_keys(cls, cfg: Mapping) -> set[str]:
        names = cls.declared_discriminators(cfg)
        if not names:
            return set()
        keys = {'d_fake', 'd_real'}
        for name in names:
            keys |= {f'd_{name}_fake', f'd_{name}_real'}
        return keys

    # ------------------------------------------------------------------ namespace
    def discriminator_inputs(self, name: str, namespace: LossNamespace
                             ) -> tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
        """``(fake, real)`` images discriminator ``name`` compares (subclasses may mask them)."""
        fake_key, real_key = self.disc_bindings[name]
        return (namespace(fake_key) if fake_key else None,
                namespace(real_key) if real_key else None)

    def _discriminator_entries(self, step: str) -> dict[str, Any]:
        """Lazy namespace entries for the discriminator outputs of update ``step``."""

        def output(ns: LossNamespace, name: str, which: str) -> Any:
            fake, real = self.discriminator_inputs(name, ns)
            x = fake if which == 'fake' else real
            if x is None:
                return None
            if step == 'discriminator':  # through the (possibly DDP) wrapper: D trains
                return getattr(self, DISCRIMINATOR_SLOT)(name, x)
            # Generator update: D is a fixed critic, called outside DDP.
            net = self.get_network(DISCRIMINATOR_SLOT)[name]
            if which == 'real':
                with torch.no_grad():
                    return net(x)
            return net(x)

        names = list(self.disc_bindings)
        entries: dict[str, Any] = {}
        for name in names:
            for which in ('fake', 'real'):
                entries[f'd_{name}_{which}'] = (
                    lambda ns, n=name, w=which: output(ns, n, w))
        entries['d_fake'] = lambda ns: [ns(f'd_{n}_fake') for n in names]
        entries['d_real'] = lambda ns: [ns(f'd_{n}_real') for n in names]
        return entries

    def namespace(self, outputs: dict, inputs: dict, fields: BatchFields,
                  step: str = 'generator') -> LossNamespace:
        extras = self._discriminator_entries(step) if self.has_discriminators else None
        return LossNamespace(outputs, inputs, fields, extras)

    def wanted_outputs(self, terms) -> set[str]:
        wanted = super().wanted_outputs(terms)
        outputs = self.output_names()
        for term in terms:
            for key in term.keys:
                for name, (fake, real) in self.disc_bindings.items():
                    if key in (f'd_{name}_fake', f'd_{name}_real', 'd_fake', 'd_real'):
                        wanted |= {k for k in (fake, real) if k in outputs}
        return wanted

    # ------------------------------------------------------------------ optimisation
    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: Union[OptimWrapper, OptimWrapperDict]) -> dict[str, torch.Tensor]:
        if not self.has_discriminators:
            return super().train_step(data, optim_wrapper)
        if not isinstance(optim_wrapper, OptimWrapperDict):
            raise TypeError(
                'an adversarial model needs one optimizer for its discriminators and one for '
                "the rest: optim_wrapper=dict(constructor='MultiOptimWrapperConstructor', "
                "generator=dict(...), discriminators=dict(...))")
        disc_wrappers, gen_wrappers = self._split_wrappers(optim_wrapper)
        data = self.data_preprocessor(data, True)
        inputs, samples = data['inputs'], data['data_samples']
        log_vars: dict[str, torch.Tensor] = {}
        d_terms = self.active_losses('discriminator')
        if d_terms and disc_wrappers and self.is_trainable(DISCRIMINATOR_SLOT):
            for _ in range(self.disc_steps):
                with optim_contexts(disc_wrappers, self):
                    losses = self.step_losses(inputs, samples, d_terms, 'discriminator')
                parsed, d_vars = self.parse_losses(losses)
                update_params(disc_wrappers, parsed)
                d_vars[DISC_TOTAL] = d_vars.pop('loss')
                log_vars.update(d_vars)
        g_terms = self.active_losses('generator')
        if g_terms and gen_wrappers:
            for _ in range(self.gen_steps):
                # The discriminators judge; they take no gradient from the generator loss.
                with optim_contexts(gen_wrappers, self), \
                        fixed_parameters(self.get_network(DISCRIMINATOR_SLOT)):
                    losses = self.step_losses(inputs, samples, g_terms, 'generator')
                parsed, g_vars = self.parse_losses(losses)
                update_params(gen_wrappers, parsed)
                log_vars.update(g_vars)
        return log_vars

    def _split_wrappers(self, optim_wrapper: OptimWrapperDict
                        ) -> tuple[list[OptimWrapper], list[OptimWrapper]]:
        """(discriminator wrappers, generator wrappers) that step now."""
        disc_ids = {id(p) for p in self.get_network(DISCRIMINATOR_SLOT).parameters()}
        active = stepping_wrappers(optim_wrapper, self.stage)
        if self.is_trainable(DISCRIMINATOR_SLOT) and not (
                self.stage is not None and self.stage.optimizers is not None):
            # Discriminator wrappers are active while D trains, whatever requires_grad says.
            active += [w for w in optim_wrapper.values()
                       if w not in active and holds_any(w, disc_ids)]
        disc = [w for w in active if holds_any(w, disc_ids)]
        gen = [w for w in active if w not in disc]
        if any(holds_other_than(w, disc_ids) for w in disc):
            raise ValueError('an optimizer wrapper holds discriminator and generator parameters; '
                             "give the discriminators their own (modules=['discriminators'])")
        return disc, gen
