"""SPADE generator, the merging generator, semantic region discriminators and weighted GAN terms."""
import pytest
import torch

from mmhaze.models.discriminators import SemanticRegionDiscriminator
from mmhaze.models.generators import SPADE, ResidualMergeGenerator, SPADEGenerator
from mmhaze.models.losses import (
    FeatureMatchingLoss,
    HingeGANLoss,
    LowFrequencyL1Loss,
    LSGANLoss,
    WeightedLogits,
)

PATCH = dict(type='PatchGANDiscriminator', base_channels=4, num_layers=2, num_scales=2)


def test_spade_is_a_parameter_free_norm_modulated_by_the_map():
    torch.manual_seed(0)
    spade = SPADE(4, label_channels=3, hidden_channels=8)
    x = torch.randn(2, 4, 8, 8)
    label = torch.zeros(2, 3, 2, 2)
    label[:, 0] = 1
    for conv in (spade.gamma, spade.beta):
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.zeros_(conv.bias)
    assert torch.allclose(spade(x, label), torch.nn.functional.instance_norm(x), atol=1e-5)
    torch.nn.init.constant_(spade.beta.bias, 0.5)  # β shifts the normalised map
    assert torch.allclose(spade(x, label), torch.nn.functional.instance_norm(x) + 0.5, atol=1e-5)


def test_spade_generator_from_a_code_and_a_soft_map_any_size():
    torch.manual_seed(0)
    gen = SPADEGenerator(label_channels=5, in_channels=6, base_channels=4, num_upsamples=2,
                         num_middle_blocks=1, hidden_channels=8)
    label = torch.rand(2, 5, 10, 13).softmax(1)
    code = torch.randn(2, 6, 10, 13)
    out = gen(label, code, size=(37, 50))
    assert out.shape == (2, 3, 37, 50) and out.abs().max() <= 1
    assert hasattr(gen.head.conv_0, 'weight_orig')  # spectral norm on the block convs
    out.mean().backward()
    missing = [n for n, p in gen.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert missing == []
    # The semantic map steers the output.
    other = torch.zeros_like(label)
    other[:, 0] = 1
    with torch.no_grad():
        assert (gen(label, code, (37, 50)) - gen(other, code, (37, 50))).abs().mean() > 1e-3


def test_spade_generator_from_the_map_alone_and_channel_plan():
    gen = SPADEGenerator(label_channels=3, in_channels=0, base_channels=2, num_upsamples=3,
                         num_middle_blocks=2, hidden_channels=4)
    # SPADE's layout: head and middle blocks at base·2^(U−1), then halving to base.
    assert gen.fc.in_channels == 3 and gen.fc.out_channels == 8
    assert [b.conv_1.out_channels for b in gen.ups] == [4, 2]
    assert gen(torch.rand(1, 3, 16, 16)).shape == (1, 3, 16, 16)
    with pytest.raises(ValueError, match='label_channels'):
        SPADEGenerator()


def test_merge_generator_adds_a_residual_to_the_first_image():
    torch.manual_seed(0)
    gen = ResidualMergeGenerator(in_channels=7, base_channels=4, num_levels=3)
    base, other, nir = torch.rand(2, 3, 30, 42), torch.rand(2, 3, 30, 42), torch.rand(2, 1, 30, 42)
    out = gen(base, other, nir)
    assert out.shape == (2, 3, 30, 42)
    torch.nn.init.zeros_(gen.out.weight)
    torch.nn.init.zeros_(gen.out.bias)
    assert torch.equal(gen(base, other, nir), base)
    with pytest.raises(ValueError, match='in_channels is 7'):
        gen(base, other)


def test_region_discriminator_sees_only_its_region():
    torch.manual_seed(0)
    disc = SemanticRegionDiscriminator(in_channels=3, discriminator=PATCH)
    image = torch.rand(2, 3, 32, 32, requires_grad=True)
    mask = torch.zeros(2, 1, 32, 32)
    mask[:, :, :12] = 1  # the top rows only
    out = disc(torch.cat([image, mask], 1))
    assert len(out) == 2 and all(isinstance(s[-1], WeightedLogits) for s in out)
    sum(s[-1].logits.sum() for s in out).backward()
    assert image.grad[:, :, 12:].abs().sum() == 0  # nothing outside the mask
    assert image.grad[:, :, :12].abs().sum() > 0
    # Weights: the share of the region in each patch (1 at the top, 0 at the bottom).
    weight = out[0][-1].weight
    assert weight[..., 0, :].min() == 1 and weight[..., -1, :].max() == 0


def test_an_absent_region_gives_zero_loss_and_zero_gradient_to_every_parameter():
    torch.manual_seed(0)
    present = SemanticRegionDiscriminator(in_channels=3, discriminator=PATCH)
    absent = SemanticRegionDiscriminator(in_channels=3, discriminator=PATCH)
    image = torch.rand(2, 3, 32, 32)
    ones, zeros = torch.ones(2, 1, 32, 32), torch.zeros(2, 1, 32, 32)
    hinge = HingeGANLoss()
    d_present = present(torch.cat([image, ones], 1))
    d_absent = absent(torch.cat([image, zeros], 1))
    # The absent discriminator is left out of the average, not averaged in as zero.
    both = hinge([d_present, d_absent], [d_present, d_absent])
    alone = hinge([d_present], [d_present])
    assert both.item() == pytest.approx(alone.item())
    absent_only = hinge([d_absent], [d_absent])
    assert absent_only.item() == 0
    absent_only.backward()
    grads = [p.grad for p in absent.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)  # used (DDP needs that) ...
    assert all(g.abs().sum() == 0 for g in grads)  # ... but not moved


def test_weighted_gan_terms_known_values():
    logits = torch.tensor([[[[1.0, -1.0]]]])
    weight = torch.tensor([[[[3.0, 1.0]]]])
    ls = LSGANLoss()
    # G: ½(D−1)² = [0, 2], weighted mean (3·0 + 1·2)/4.
    assert ls(WeightedLogits(logits, weight)).item() == pytest.approx(0.5)
    # D: a map pair counts only when both sides are present.
    zero = WeightedLogits(logits, torch.zeros_like(weight))
    assert ls(zero, WeightedLogits(logits, weight)).item() == 0
    plain = ls(logits, logits).item()
    assert plain == pytest.approx(0.5 * (4 + 0) / 2 + 0.5 * (1 + 1) / 2)
    fm = FeatureMatchingLoss()
    f = [[torch.ones(1, 2), WeightedLogits(logits, weight)]]
    r = [[torch.zeros(1, 2), zero]]
    assert fm(f, r).item() == 0  # region absent on the real side
    assert fm(f, [[torch.zeros(1, 2), WeightedLogits(logits, weight)]]).item() == 1


def test_low_frequency_l1_sees_colour_not_detail():
    loss = LowFrequencyL1Loss(sigma=2.0, loss_weight=2.0)
    base = torch.full((1, 3, 32, 32), 0.5)
    assert loss(base + 0.25, base).item() == pytest.approx(2 * 0.25, abs=1e-5)
    checker = (torch.arange(32)[:, None] + torch.arange(32)[None]) % 2 * 0.5 - 0.25
    detail = base + checker  # the same mean, all of it at the highest frequency
    assert loss(detail, base).item() < 0.02 * loss(base + 0.25, base).item()
    with pytest.raises(ValueError, match='sigma'):
        LowFrequencyL1Loss(sigma=0)
