import pytest
import torch

from mmhaze.models.losses import L1Loss, MaxGradientLoss, MaxIntensityLoss, sobel_l1_magnitude


def test_sobel_l1_magnitude_of_a_vertical_step():
    x = torch.zeros(1, 1, 5, 6)
    x[..., 3:] = 1.0  # step between columns 2 and 3
    g = sobel_l1_magnitude(x)
    # interior rows: |Gx| = 1+2+1 = 4 on the two columns beside the step; the zero padding
    # (as the IASSF reference code) makes the bright right border an edge too
    assert torch.allclose(g[0, 0, 2], torch.tensor([0., 0., 4., 4., 0., 4.]))
    # a constant image: zero inside, |Gx|+|Gy| = 3+3 at a corner (zero-padded borders)
    flat = sobel_l1_magnitude(torch.ones(1, 1, 4, 4))[0, 0]
    assert flat[1:3, 1:3].eq(0).all() and flat[0, 0] == 6


def test_max_intensity_loss_known_value_and_broadcast():
    fused = torch.full((1, 3, 4, 4), 0.5)
    vis = torch.full((1, 3, 4, 4), 0.2)
    ir = torch.full((1, 1, 4, 4), 0.9)  # 1-channel IR broadcast over RGB
    assert MaxIntensityLoss(loss_weight=2.0)(fused, vis, ir).item() == pytest.approx(0.8)


def test_max_gradient_loss_zero_when_fused_has_the_stronger_edges():
    vis = torch.zeros(1, 1, 8, 8)
    vis[..., 4:] = 1.0
    ir = torch.zeros(1, 1, 8, 8)
    ir[..., 4:, :] = 0.5
    target_like = torch.maximum(vis, ir)
    loss = MaxGradientLoss()
    assert loss(vis, vis, torch.zeros_like(ir)).item() == pytest.approx(0.0)
    assert loss(target_like, vis, ir).item() > 0  # max of images is not max of gradients


def test_losses_backpropagate_and_l1_masking():
    pred = torch.rand(2, 3, 8, 8, requires_grad=True)
    target = torch.rand(2, 3, 8, 8)
    total = (L1Loss()(pred, target) + MaxIntensityLoss()(pred, target, target[:, :1])
             + MaxGradientLoss()(pred, target, target[:, :1]))
    total.backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    mask = torch.zeros(2, 1, 8, 8)
    mask[..., :4] = 1
    masked = L1Loss()(pred, target, weight=mask)
    assert masked.item() == pytest.approx((pred - target).abs()[..., :4].mean().item(), rel=1e-5)
    with pytest.raises(ValueError, match='reduction'):
        L1Loss(reduction='max')
