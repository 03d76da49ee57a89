from .data_preprocessors import *  # noqa: F401,F403
from .fusers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
