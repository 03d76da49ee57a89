from .multi_optim_constructor import MultiOptimWrapperConstructor
from .tf_rmsprop import TFRMSprop

__all__ = ['MultiOptimWrapperConstructor', 'TFRMSprop']
