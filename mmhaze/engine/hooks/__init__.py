from .safe_checkpoint_hook import SafeCheckpointHook
from .save_predictions_hook import SavePredictionsHook, sample_stem, write_png

__all__ = ['SafeCheckpointHook', 'SavePredictionsHook', 'sample_stem', 'write_png']
