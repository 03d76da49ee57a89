"""Small tensor helpers shared by blocks of several roles and by the data preprocessor."""
from .fused_forms import (
    bake_folded_batch_norms,
    fold_batch_norms,
    has_fused_form,
    set_fused_forms,
)
from .padding import crop_to, pad_amount, pad_to_multiple, reflect_indices, reflect_pad
from .sources import match_sources

__all__ = ['reflect_pad', 'reflect_indices', 'pad_amount', 'pad_to_multiple', 'crop_to',
           'match_sources', 'has_fused_form', 'set_fused_forms',
           'fold_batch_norms', 'bake_folded_batch_norms']
