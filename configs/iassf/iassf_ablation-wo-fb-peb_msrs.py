# Table VII "w/o FB-PEB": the fusion blocks' PEBs lose their window attention ("feature
# concatenation and convolution directly").
_base_ = './iassf_official_msrs.py'
model = dict(fuser=dict(embedding_attention=False))
