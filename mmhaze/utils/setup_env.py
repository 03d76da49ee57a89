"""Registration entry point, as every OpenMMLab package has one."""
from __future__ import annotations

import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmhaze module that registers something, and optionally set the scope.

    Configs with ``default_scope='mmhaze'`` do not need this (the registries import their
    ``locations`` lazily); scripts that build modules by hand do.
    """
    import mmhaze.apis  # noqa: F401
    import mmhaze.datasets  # noqa: F401
    import mmhaze.engine  # noqa: F401
    import mmhaze.evaluation  # noqa: F401
    import mmhaze.models  # noqa: F401
    import mmhaze.visualization  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or not DefaultScope.check_instance_created('mmhaze'):
        DefaultScope.get_instance('mmhaze', scope_name='mmhaze')
    elif current.scope_name != 'mmhaze':
        warnings.warn(f'The current default scope "{current.scope_name}" is not "mmhaze"; '
                      '`register_all_modules` creates a new default scope.')
        name = f'mmhaze-{datetime.datetime.now()}'
        DefaultScope.get_instance(name, scope_name='mmhaze')
