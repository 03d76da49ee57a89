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
# Model networks likewise: tools/test.py and tools/infer.py stay eager (no auto-compile).
os.environ['MMHAZE_COMPILE'] = '0'


def _share_the_cores_between_workers() -> None:
    """Under pytest-xdist (``-n N``) each worker takes its share of the cores: N workers of all
    cores each would oversubscribe them (OpenMP threads waiting on descheduled peers)."""
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
    if workers > 1:
        import torch
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


_share_the_cores_between_workers()


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO_ROOT


SHARED_DATA_MARKER = 'shared_data'
# Tests marked slow (e.g. ONNX exports of full-size models, tens of seconds each on 2 cores)
# run only with MMHAZE_SLOW_TESTS=1, so the default suite stays within its time budget.
SLOW_MARKER, SLOW_ENV = 'slow', 'MMHAZE_SLOW_TESTS'


def pytest_configure(config):
    config.addinivalue_line(
        'markers', f"{SHARED_DATA_MARKER}(*paths): the test reads these files or folders of the "
                   "shared data folder (MMHAZE_SHARED_DATA) and is skipped when one is absent")
    config.addinivalue_line(
        'markers', f'{SLOW_MARKER}: takes tens of seconds or more; runs only with {SLOW_ENV}=1')


def pytest_collection_modifyitems(config, items):
    """Skip the tests whose shared data files are absent, each with its reason.

    A test that reads shared data must say which files, so that it skips (rather than fails) on
    a machine without them, and ``-m shared_data`` selects every such test.
    """
    from mmhaze.utils import SHARED_DATA_ENV, shared_data_dir
    root = shared_data_dir()
    run_slow = os.environ.get(SLOW_ENV) == '1'
    for item in items:
        if not run_slow and item.get_closest_marker(SLOW_MARKER) is not None:
            item.add_marker(pytest.mark.skip(reason=f'slow: set {SLOW_ENV}=1 to run it'))
        marker = item.get_closest_marker(SHARED_DATA_MARKER)
        if 'shared_data' in getattr(item, 'fixturenames', ()) and (marker is None
                                                                  or not marker.args):
            raise pytest.UsageError(
                f"{item.nodeid} uses the shared_data fixture: mark it "
                f"@pytest.mark.{SHARED_DATA_MARKER}('<file or folder>', ...)")
        missing = [p for p in (marker.args if marker else ()) if not (root / p).exists()]
        if missing:
            # A skip marker acts before any fixture (module-scoped ones too) reads the files.
            item.add_marker(pytest.mark.skip(
                reason=f'needs {", ".join(missing)} in the shared data folder {root} '
                       f'(set {SHARED_DATA_ENV})'))


@pytest.fixture(scope='session')
def shared_data() -> Path:
    """The shared data folder (``MMHAZE_SHARED_DATA``). Tests using it carry
    ``@pytest.mark.shared_data(<paths>)``, which skips them when a path is absent."""
    from mmhaze.utils import shared_data_dir
    return shared_data_dir()


@pytest.fixture(autouse=True)
def _torch_global_state():
    """A test that trains with ``randomness.deterministic=True`` (mmengine sets torch's global
    flag) or changes the thread count leaves them as they were: deterministic mode makes torch
    fill every new tensor in parallel, which hangs in a forked child."""
    import torch
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    threads = torch.get_num_threads()
    yield
    torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


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
