from .fusion_data_sample import (
    IMAGE_FIELDS,
    LABEL_FIELDS,
    FusionDataSample,
    field_list,
    stack_field,
)

__all__ = ['FusionDataSample', 'IMAGE_FIELDS', 'LABEL_FIELDS', 'stack_field', 'field_list']
