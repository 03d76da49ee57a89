# Semantic-alignment ablation, "VIS-only" arm: the semantic stream with the VIS content encoder
# alone (no NIR encoder, no alignment loss), segmentation trained and predicted from VIS — the
# paper's visible-only baseline (mIoU 0.7623, against 0.7865 with the alignment).
_base_ = ['./hsvf_ablation-seg-aligned_vnhd.py']

model = dict(
    semantic=dict(modalities=('vis', ), predict_from='vis'),
    losses=dict(align=None, seg_nir=None, recon_nir=None))
