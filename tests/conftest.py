"""Shared pytest fixtures. Tests run on the CPU, on tiny images, with no download."""
import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # tools/ and configs/ are addressed from the repo root
    sys.path.insert(0, str(REPO_ROOT))

os.environ.setdefault('MPLBACKEND', 'Agg')


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope='session')
def shared_data() -> Path:
    """The shared data folder (``MMHAZE_SHARED_DATA``); skips the test when it is absent."""
    from mmhaze.utils import SHARED_DATA_ENV, shared_data_dir
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f'shared data folder {path} not found (set {SHARED_DATA_ENV})')
    return path


@pytest.fixture(autouse=True)
def _mmhaze_scope():
    """Every test starts with the mmhaze default scope, as configs set it."""
    from mmhaze.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    yield
