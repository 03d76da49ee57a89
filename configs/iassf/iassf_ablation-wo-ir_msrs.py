# Table VII "w/o IR assistance": no restoration prompt, no haze density, no IR features in the
# restoration: F_v goes straight into the restoration head. (IR still reaches the fusion stage.)
_base_ = './iassf_official_msrs.py'
model = dict(dehazer=dict(feature_blend='vis_only', restoration_prompt=None,
                          restoration_embedding=None, haze_density=None))
