# The attention ablation at the tiny scale, "single softmax" arm: joint attention as one softmax
# over both modalities' keys instead of two summed (see
# hsvf_tiny_ablation-attention-joint_synthetic.py).
_base_ = ['./hsvf_tiny_ablation-attention-joint_synthetic.py']

model = dict(visual=dict(joint_form='single_softmax'))
