# Attention ablation: joint attention in the single-softmax form (one softmax over the
# concatenated keys and values of both modalities) instead of the paper's summed self and cross
# terms (hsvf_vnhd.py).
_base_ = ['./hsvf_vnhd.py']

model = dict(visual=dict(joint_form='single_softmax'))
