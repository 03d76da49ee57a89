"""Shared pytest fixtures. Tests run on the CPU, on tiny images, with no download."""
import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
for _p in (REPO_ROOT, REPO_ROOT / 'tests'):  # tools/ from the root; helpers.py from tests/
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from helpers import TINY_TRAIN_OPTIONS, load_tool  # noqa: E402

os.environ.setdefault('MPLBACKEND', 'Agg')
# Metric kernels run eagerly in tests: inductor takes tens of seconds per graph on a small CPU.
# tests/evaluation/test_compiled_metrics.py switches compilation on for its one check.
os.environ['MMHAZE_COMPILE_METRICS'] = '0'


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


@pytest.fixture
def tiny_train_options():
    """``--cfg-options`` values that make the demo config train 4 iterations on 32 px scenes."""
    return list(TINY_TRAIN_OPTIONS)


@pytest.fixture
def tool():
    """``tool('train').main([...])`` runs a CLI tool in-process."""
    return load_tool
