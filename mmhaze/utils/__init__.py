"""Utilities; each name is imported on first use (PEP 562), so ``import mmhaze`` stays light."""
import importlib

_EXPORTS = {
    'UNSAFE_LOAD_ENV': 'checkpoint', 'UnsafeCheckpointError': 'checkpoint',
    'from_weights_only_safe': 'checkpoint', 'safe_torch_load': 'checkpoint',
    'to_weights_only_safe': 'checkpoint', 'apply_compat': 'compat',
    'register_all_modules': 'setup_env', 'SHARED_DATA_ENV': 'shared_data',
    'shared_data_dir': 'shared_data', 'find_shared_file': 'shared_data',
    'NonFiniteError': 'errors', 'UserError': 'errors', 'MissingFileError': 'errors',
    'WriteError': 'errors', 'report_user_errors': 'errors', 'did_you_mean': 'errors',
}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(f'.{_EXPORTS[name]}', __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))


__all__ = [
    'apply_compat', 'register_all_modules', 'safe_torch_load', 'to_weights_only_safe',
    'from_weights_only_safe', 'UnsafeCheckpointError', 'UNSAFE_LOAD_ENV', 'SHARED_DATA_ENV',
    'shared_data_dir', 'find_shared_file', 'UserError', 'NonFiniteError', 'MissingFileError',
    'WriteError', 'report_user_errors', 'did_you_mean'
]
