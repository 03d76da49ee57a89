"""mmhaze: seeing through haze with a second sensor (VIS + IR/NIR), on OpenMMLab.

Importing the package applies the compatibility layer (``mmhaze.utils.compat``) before anything
imports mmsegmentation, so mmseg works on the pure-Python ``mmcv-lite``.
"""
from .utils.compat import apply_compat as _apply_compat

_apply_compat()

from .version import __version__, version_info  # noqa: E402

__all__ = ['__version__', 'version_info']
