# Dark-channel-prior dehazing, then Laplacian-pyramid fusion of the dehazed Y and the IR, on RoadScene hazed per image with the
# 'iassf_dense' preset, scored like the IASSF paper. Training-free:
#   python tools/test.py configs/two_stage/dcp_laplacian_roadscene-test.py
_base_ = ['./dcp_average_roadscene-test.py']
model = dict(fuser=dict(_delete_=True, type='LaplacianPyramidFusion', levels=4))
