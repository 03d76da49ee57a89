# The fusion metrics of the IR-VIS literature on pred_fused against the IR and the visible input
# (the sources U2Fusion fused), with the plain average of the two as a row (a _base_ fragment;
# the list itself is configs/_base_/fusion_evaluation.py's, shared with the model zoo).
_base_ = ['../_base_/fusion_evaluation.py']
u2fusion_evaluator = {{_base_.fusion_evaluator}}
