# The demo: `make demo` trains IASSF (shrunk for the CPU: configs/iassf/iassf_tiny_synthetic.py)
# on the embedded synthetic VIS + thermal scenes in under 3 minutes on 2 CPU cores, then tests
# it: PSNR/SSIM of the dehazed output against the clear image next to the hazy input's, and
# MI / Q^AB/F of the fused output.
_base_ = ['../iassf/iassf_tiny_synthetic.py']
