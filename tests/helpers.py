"""Helpers shared by tests (importable as `helpers`: tests/conftest.py puts tests/ on sys.path)."""
from pathlib import Path
from typing import Optional

from mmengine.hooks import Hook

REPO_ROOT = Path(__file__).resolve().parents[1]

# The fast conv baseline, and overrides that shrink it to a seconds-long CPU run.
BASELINE_CONFIG = 'configs/conv_dehaze_fuser/conv_dehaze_fuser_synthetic-thermal.py'
TINY_TRAIN_OPTIONS = [
    'train_dataloader.dataset.img_size=32', 'train_dataloader.dataset.num_samples=16',
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.dataset.img_size=32', 'val_dataloader.dataset.num_samples=2',
    'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
    'test_dataloader.dataset.img_size=32', 'test_dataloader.dataset.num_samples=3',
    'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
    'model.network.channels=8', 'model.network.dilations=[1,2]',
    'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
    'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
    'param_scheduler.0.T_max=4', 'param_scheduler.0.end=4',
]

# The small adversarial config (two optimizers, D/G alternation) and its tiny-run overrides.
GAN_CONFIG = 'configs/conv_dehaze_fuser/conv_dehaze_fuser_gan_synthetic-thermal.py'


def gan_tiny_options(iters: int, checkpoint_interval: int) -> dict:
    return {
        'train_dataloader.dataset.img_size': 32, 'train_dataloader.dataset.num_samples': 8,
        'train_dataloader.batch_size': 2, 'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.dataset.pipeline.0.crop_size': 32,
        'val_dataloader.dataset.img_size': 32, 'val_dataloader.dataset.num_samples': 2,
        'val_dataloader.num_workers': 0, 'val_dataloader.persistent_workers': False,
        'model.network.channels': 8, 'model.network.dilations': [1, 2],
        'model.discriminators.dehazed.base_channels': 8,
        'train_cfg.max_iters': iters, 'train_cfg.val_interval': 1000,
        'default_hooks.checkpoint.interval': checkpoint_interval,
        'default_hooks.checkpoint.max_keep_ckpts': 5,
        'default_hooks.logger.interval': 1,
        'param_scheduler.0.T_max': iters, 'param_scheduler.0.end': iters,
        'randomness.deterministic': True,
    }


# The dotted key of the baseline's dehazing loss (losses are keyed by name).
DEHAZE_LOSS_KEY = 'model.losses.dehaze'


def write_random_vgg(path, seed=0, fmt='pth'):
    """Random VGG-16 conv weights in torchvision's (.pth) or the Caffe/TF (.npz) layout (the
    real weights cannot be downloaded here: U2Fusion's training is tested with these)."""
    import math

    import numpy as np
    import torch

    from mmhaze.models.backbones.vgg16_features import TORCHVISION_INDEX, VGG16_CONVS
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for name, cin, cout in VGG16_CONVS:
        w = torch.randn(cout, cin, 3, 3, generator=gen) * math.sqrt(2.0 / (9 * cin))
        b = torch.randn(cout, generator=gen) * 0.01
        state[name] = (w, b)
    if fmt == 'pth':
        torch.save({f'features.{TORCHVISION_INDEX[n]}.{p}': t for n, (w, b) in state.items()
                    for p, t in (('weight', w), ('bias', b))}, path)
    else:
        np.savez(path, **{f'{n}/{p}': t for n, (w, b) in state.items()
                          for p, t in (('filter', w.permute(2, 3, 1, 0).numpy()),
                                       ('bias', b.numpy()))})
    return state


def load_tool(name: str):
    """Import ``tools/<name>.py`` as a module (the tools expose ``main(argv)``)."""
    import importlib.util
    path = REPO_ROOT / 'tools' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(f'mmhaze_tool_{name.replace("/", "_")}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seeded_model(config: str, **model_overrides):
    """The config's model (eval mode, no losses: some need weight files) with key-seeded weights
    (tests/fixtures/model_fixtures.py): the same numbers whatever the initialisation order;
    ``model_overrides`` are ``model.*`` keys."""
    from fixtures.model_fixtures import seeded_state_dict
    from mmengine.config import Config

    from mmhaze.registry import MODELS
    cfg = Config.fromfile(str(REPO_ROOT / config))
    cfg.merge_from_dict({f'model.{k}': v for k, v in model_overrides.items()})
    cfg.model.pop('losses', None)
    cfg.model.pop('stages', None)  # they name losses
    model = MODELS.build(cfg.model)
    shapes = {k: p.shape for k, p in model.named_parameters()}
    model.load_state_dict(seeded_state_dict(shapes), strict=False)
    return model.eval()


class RecordLosses(Hook):
    """Every iteration's raw loss values and the model's stage (no smoothing)."""

    priority = 'LOWEST'

    def __init__(self):
        self.rows = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        self.rows[runner.iter + 1] = dict(  # 1-based, as the log counts
            {k: v.item() for k, v in outputs.items()},
            stage=model.stage.name if model.stage else None)


def load_demo(name: str):
    """Import ``demo/<name>.py`` (``demo/`` is a folder of scripts beside ``tools/``; it goes
    first on sys.path, as when the demo runs)."""
    import importlib
    import sys
    folder = str(REPO_ROOT / 'demo')
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)


def run_in_child(tmp_path, body) -> tuple[int, str]:
    """Run ``body()`` (returning an exit code) in a forked child; (status, its stderr).

    The status is the exit code, or minus the signal that killed the child. The child runs
    torch on one thread: OpenMP's thread pool does not survive a fork (a parallel region in the
    child waits for threads that do not exist there)."""
    import os
    import sys

    import torch
    err_file = tmp_path / f'child_{len(list(tmp_path.glob("child_*")))}.err'
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        code = 99
        try:
            fd = os.open(err_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 2)
            sys.stderr = os.fdopen(2, 'w', buffering=1)  # pytest captures sys.stderr too
            torch.set_num_threads(1)
            code = body()
        except BaseException:  # noqa: B036 - reported to the parent through the file
            import traceback
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return code, err_file.read_text()


def limit_file_size(nbytes: int) -> None:
    """A full disk, in this (child) process: writes past ``nbytes`` fail with EFBIG (Python
    ignores SIGXFSZ)."""
    import resource
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, resource.RLIM_INFINITY))


def run_tool_with_fault(tool: str, args: list, kill_at_rename: Optional[tuple] = None,
                        file_limit: Optional[int] = None,
                        kill_at_iter: Optional[int] = None) -> tuple[int, str]:
    """``tools/<tool>.py args`` in a fresh interpreter with a fault (tests/tool_with_fault.py):
    ``kill_at_rename=(name, occurrence)``, ``file_limit`` bytes or ``kill_at_iter`` (1-based),
    or none. Returns (status, stderr): the exit code, or minus the signal that killed it."""
    import os
    import subprocess
    import sys
    fault = []
    if kill_at_rename:
        fault += ['--kill-at-rename', kill_at_rename[0], '--occurrence', str(kill_at_rename[1])]
    if file_limit:
        fault += ['--file-limit', str(file_limit)]
    if kill_at_iter:
        fault += ['--kill-at-iter', str(kill_at_iter)]
    # One fixed thread, never re-decided from the load (mmhaze's thread defaults): runs that are
    # compared bit for bit must sum in the same order.
    env = dict(os.environ, OMP_NUM_THREADS='1', MMHAZE_THREADS='1')
    env.pop('MMHAZE_THREADS_AUTO', None)
    out = subprocess.run([sys.executable, str(REPO_ROOT / 'tests' / 'tool_with_fault.py'),
                          *fault, tool, '--', *map(str, args)], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    return out.returncode, out.stderr
