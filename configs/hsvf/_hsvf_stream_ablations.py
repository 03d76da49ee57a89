# HSVF's visual-stream-alone ablations, shared by their configs (a _base_ fragment, not a
# runnable config): every network but the visual stream removed, O_VF as the output, no stages,
# only stage 3's fusion losses (vf_intensity, vf_gradient) left.
hsvf_visual_only_model = dict(
    semantic=None, generator=None, final=None, discriminators=None, output='visual',
    stages=None,
    losses=dict(align=None, seg_vis=None, seg_nir=None, recon_vis=None, recon_nir=None,
                sr_adv=None, sr_adv_disc=None, sr_content=None, semantic_reconstruction=None,
                visual_fusion=None))
