from .backbones import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .fusers import *  # noqa: F401,F403
from .fusion import *  # noqa: F401,F403
from .haze import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .prompts import *  # noqa: F401,F403
