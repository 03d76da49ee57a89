"""Helpers shared by tests (importable as `helpers`: tests/conftest.py puts tests/ on sys.path)."""
from pathlib import Path

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
    'model.channels=8', 'model.dilations=[1,2]',
    'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
    'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
    'param_scheduler.0.T_max=4', 'param_scheduler.0.end=4',
]


def dehaze_loss_key(model_cfg) -> str:
    """Dotted key of the baseline's dehazing loss: ``model.losses.dehaze`` once the model layer
    keys losses by name, ``model.dehaze_loss`` before."""
    return 'model.losses.dehaze' if 'losses' in model_cfg else 'model.dehaze_loss'


def load_tool(name: str):
    """Import ``tools/<name>.py`` as a module (the tools expose ``main(argv)``)."""
    import importlib.util
    path = REPO_ROOT / 'tools' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(f'mmhaze_tool_{name.replace("/", "_")}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
