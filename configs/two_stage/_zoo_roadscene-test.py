# Shared by the two-stage configs that put a dehazer in front of a released zoo fuser
# (SeAFusion, IFCNN, SDNet, DenseFuse; U2Fusion behind the released dehazers) on RoadScene hazed
# per image with the 'iassf_dense' preset (fixed seed), scored like the IASSF paper (fusion
# metrics against IR and the clear visible image; PI, NIQE; dehazer-output and hazy-input rows).
# A _base_ fragment: the method config adds the fuser's model base and picks a dehazer below.
_base_ = [
    '../_base_/datasets/roadscene.py', '../_base_/default_runtime.py',
    './_two_stage_evaluation.py'
]
# Dehazers. DehazeFormer-S from a whole-model checkpoint with keys 'dehazer.*': an official
# release converted by tools/model_converters/dehazeformer_official_to_mmhaze.py, or one trained
# by configs/dehazeformer/dehazeformer-s_msrs-hazy.py.
dehazeformer_s_checkpoint = 'checkpoints/dehazeformer-s_mmhaze.pth'
dcp_dehazer = dict(type='DarkChannelPriorDehazer')
dehazeformer_s_dehazer = dict(
    type='DehazeFormer', arch='s',
    init_cfg=dict(type='Pretrained', checkpoint=dehazeformer_s_checkpoint, prefix='dehazer.'))
# The released dehazers, each from its converted release (tools/model_converters/
# <method>_official_to_mmhaze.py; configs/_base_/models/<method>.py give the commands). Their
# configs set model.dehazer_protocol='release': the fuser gets the dehazed image as the release
# saved it (8-bit), and pred_dehazed is scored as such.
aodnet_dehazer = dict(
    type='AODNet',
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/aodnet_release.pth',
                  prefix='dehazer.'))
lightdehazenet_dehazer = dict(
    type='LightDehazeNet',
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/lightdehazenet_release.pth',
                  prefix='dehazer.'))
gcanet_dehazer = dict(
    type='GCANet', in_channels=4, only_residual=True, input_offset=128.0,
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/gcanet_release.pth',
                  prefix='dehazer.'))
test_dataloader = dict(dataset=dict(pipeline={{_base_.hazy_test_pipeline}},
                                    dataset_name='roadscene_hazy'))
val_dataloader = test_dataloader
test_evaluator = {{_base_.iassf_rows_evaluator}}
val_evaluator = test_evaluator
test_cfg = dict(type='TestLoop')
val_cfg = dict(type='ValLoop')
