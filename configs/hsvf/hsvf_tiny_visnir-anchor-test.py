# Test a tiny-config checkpoint on real registered VIS-NIR pairs without labels or haze-free
# references (EPFL RGB-NIR naming; the three pairs of $MMHAZE_SHARED_DATA/visnir_anchor/):
# no-reference FADE / NIQE (hazy input as a row) and MI / VIF / Q^AB/F against the inputs.
#   python tools/test.py configs/hsvf/hsvf_tiny_visnir-anchor-test.py CKPT
_base_ = ['./hsvf_tiny_synthetic.py']

test_dataloader = dict(
    _delete_=True, batch_size=1, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='PairedFusionDataset',
                 data_root='{{$MMHAZE_SHARED_DATA:../shared/data}}/visnir_anchor',
                 layout='epfl_rgbnir', test_mode=True,
                 pipeline=[dict(type='LoadFusionImages', ir_channels=1),
                           dict(type='PackFusionInputs')]))
test_evaluator = {{_base_.hsvf_unlabelled_evaluator}}
