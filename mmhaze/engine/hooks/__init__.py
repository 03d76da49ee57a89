from .announce_image_sizes_hook import AnnounceImageSizesHook, loader_image_sizes
from .field_check_hook import DataMismatchError, FieldCheckHook
from .finite_training_hooks import CheckInvalidLossHook, FiniteCheckpointHook, non_finite_tensors
from .progress_hook import ProgressHook
from .random_state_hook import RandomStateHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .save_predictions_hook import SavePredictionsHook, sample_stem, write_png
from .thread_adjust_hook import ThreadAdjustHook
from .training_stage_hook import TrainingStageHook

__all__ = ['AnnounceImageSizesHook', 'CheckInvalidLossHook', 'DataMismatchError',
           'FieldCheckHook', 'FiniteCheckpointHook', 'ProgressHook', 'RandomStateHook',
           'SafeCheckpointHook', 'SavePredictionsHook', 'ThreadAdjustHook', 'TrainingStageHook',
           'loader_image_sizes', 'non_finite_tensors', 'sample_stem', 'write_png']
