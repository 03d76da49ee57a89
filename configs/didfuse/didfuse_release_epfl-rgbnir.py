# The released DIDFuse on visible + near-infrared pairs in the EPFL RGB-NIR Scene layout
# (configs/_base_/datasets/epfl_rgbnir.py; the release's own VIS-NIR test set, NIR_Country, is
# EPFL's 'country' category as gray 512x340 files): the NIR image takes the IR input (the release
# feeds it as IR), the visible image's gray reading (Pillow 'L') is fused with it, the visible
# chroma is restored, and the 'release' protocol makes pred_fused as the release saved it.
#   python tools/test.py configs/didfuse/didfuse_release_epfl-rgbnir.py
#   (the three pairs of $MMHAZE_SHARED_DATA/visnir_anchor: --cfg-options
#    test_dataloader.dataset.data_root=$MMHAZE_SHARED_DATA/visnir_anchor)
_base_ = [
    '../_base_/models/didfuse.py', '../_base_/datasets/epfl_rgbnir.py',
    '../_base_/default_runtime.py', '../_base_/fusion_evaluation.py'
]
model = dict(fuser=dict(frozen=True))
test_evaluator = {{_base_.fusion_evaluator}}
val_evaluator = test_evaluator
test_cfg = {{_base_.release_test_cfg}}
val_cfg = {{_base_.release_val_cfg}}
