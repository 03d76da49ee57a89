# The attention ablation at the tiny scale, "cross" arm: cross-attention only in the visual stream
# (see hsvf_tiny_ablation-attention-joint_synthetic.py).
_base_ = ['./hsvf_tiny_ablation-attention-joint_synthetic.py']

model = dict(visual=dict(attention='cross'))
