from .checkpoint import (
    UNSAFE_LOAD_ENV,
    UnsafeCheckpointError,
    from_weights_only_safe,
    safe_torch_load,
    to_weights_only_safe,
)
from .compat import apply_compat
from .errors import NonFiniteError, UserError, report_user_errors
from .setup_env import register_all_modules
from .shared_data import SHARED_DATA_ENV, find_shared_file, shared_data_dir

__all__ = [
    'apply_compat', 'register_all_modules', 'safe_torch_load', 'to_weights_only_safe',
    'from_weights_only_safe', 'UnsafeCheckpointError', 'UNSAFE_LOAD_ENV', 'SHARED_DATA_ENV',
    'shared_data_dir', 'find_shared_file', 'UserError', 'NonFiniteError', 'report_user_errors'
]
