# The semantic-alignment ablation at the tiny scale, "VIS-only" arm: the VIS content encoder
# alone, trained and predicting from the hazy VIS image (see
# hsvf_tiny_ablation-seg-aligned_synthetic.py).
_base_ = ['./hsvf_tiny_ablation-seg-aligned_synthetic.py']

model = dict(
    semantic=dict(modalities=('vis', ), predict_from='vis'),
    losses=dict(align=None, seg_nir=None, recon_nir=None))
