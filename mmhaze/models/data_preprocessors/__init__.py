from .fusion_data_preprocessor import FusionDataPreprocessor, InputSizeError, pad_to

__all__ = ['FusionDataPreprocessor', 'InputSizeError', 'pad_to']
