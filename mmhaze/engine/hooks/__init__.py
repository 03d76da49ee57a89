from .safe_checkpoint_hook import SafeCheckpointHook
from .save_predictions_hook import SavePredictionsHook, sample_stem, write_png
from .training_stage_hook import TrainingStageHook

__all__ = ['SafeCheckpointHook', 'SavePredictionsHook', 'TrainingStageHook', 'sample_stem',
           'write_png']
