# Table VII "w/o HDE": Eq. (5) replaced by the plain sum F_i' + F_v (no haze density).
_base_ = './iassf_official_msrs.py'
model = dict(dehazer=dict(feature_blend='add', haze_density=None))
