# Table VII "w/o P_f": no prompt in the fusion module (no PGM, no prompt adapters); each fusion
# block's PEB then refines its feature alone (window attention + convs over C channels).
_base_ = './iassf_official_msrs.py'
model = dict(fuser=dict(prompt_generator=None))
