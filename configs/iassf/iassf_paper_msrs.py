# IASSF as the paper describes it, where the official code deviates (configs/iassf/README.md,
# "Paper vs official"). Same data, schedule and losses as iassf_official_msrs.py.
_base_ = './iassf_official_msrs.py'

model = dict(dehazer=dict(
    # Eq. (1)-(2): a Conv before GAP in the weight predictor, and a 3×3 then a 1×1 conv on the
    # prompt (the release's restoration-path PGM has neither the first conv nor the 1×1).
    restoration_prompt=dict(diff_conv=True, out_conv1x1=True),
    # Eq. (3)-(4): the atmospheric light divides the image before the dark channel; no 8-bit
    # quantisation; the density is differentiable (gradients reach the encoder); D in [0, 1].
    haze_density=dict(preset='paper'),
    # Eq. (5): D·F_i' + (1 − D)·F_v, without the release's extra + F_v.
    double_vis_residual=False))
