# Dark-channel-prior dehazing, then Laplacian-pyramid fusion (4 levels, max-abs detail bands,
# averaged residual) of the dehazed Y and the IR, on the embedded synthetic test scenes.
# Training-free: python tools/test.py configs/two_stage/dcp_laplacian_synthetic.py
_base_ = ['./dcp_average_synthetic.py']
model = dict(fuser=dict(_delete_=True, type='LaplacianPyramidFusion', levels=4))
