# Table VII "w/o FR-PEB": the restoration-path PEB loses its window attention; the prompt is
# still made and joined to F_i by concatenation and convolutions (1×1, 3×3).
_base_ = './iassf_official_msrs.py'
model = dict(dehazer=dict(restoration_embedding=dict(use_attention=False)))
