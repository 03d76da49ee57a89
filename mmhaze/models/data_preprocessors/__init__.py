from .fusion_data_preprocessor import FusionDataPreprocessor, pad_to

__all__ = ['FusionDataPreprocessor', 'pad_to']
