# Table VII "w/o P_r": no restoration prompt and no FR-PEB; the encoder's IR features F_i are
# blended into F_v by the haze density directly.
_base_ = './iassf_official_msrs.py'
model = dict(dehazer=dict(restoration_prompt=None, restoration_embedding=None))
