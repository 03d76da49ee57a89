# Attention ablation: the full model with cross-attention only in the visual stream (the paper
# compares self, cross and joint; joint — self and cross terms summed — is hsvf_vnhd.py).
_base_ = ['./hsvf_vnhd.py']

model = dict(visual=dict(attention='cross'))
