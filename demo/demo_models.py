"""What the browser demo runs, without the browser: the models it offers, the examples, and one
plain function from a VIS + IR pair to the dehazed and fused images, their metrics, or one
message (``run_pair``). ``demo/gradio_demo.py`` puts a page around it; tests call it directly.

Models offered (:func:`available_models`):

- the training-free pipelines (dark channel prior, then a classical fuser) — always;
- the released fusion networks of the model zoo, alone and behind the dark channel prior, when
  their release files are found (``$MMHAZE_SHARED_DATA/zoo/<method>/``, U2Fusion's in
  ``$MMHAZE_SHARED_DATA/u2fusion/``, or a path given with ``--release NAME=PATH``). Each is
  converted on first use by its converter in ``tools/model_converters/`` into
  ``<cache>/zoo/<name>.pth`` (the user's cache folder, never the repository) and loaded from
  there afterwards;
- trained models: every work dir under ``--work-dirs`` holding a ``last_checkpoint`` and the
  config mmengine dumped there (e.g. ``make demo``'s ``work_dirs/demo/<timestamp>/``), and any
  ``--checkpoint CONFIG CKPT`` pair.

Every model runs through :class:`mmhaze.apis.FusionInferencer` on the CPU, so the demo shows
exactly what ``tools/infer.py`` writes.
"""
from __future__ import annotations

import importlib.util
import os
import os.path as osp
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class ZooRelease:
    """A released network: where its files are found and which converter reads them."""

    name: str
    converter: str  # module of tools/model_converters/
    files: tuple[str, ...]  # candidates, relative to the zoo folder or the shared data folder


@dataclass(frozen=True)
class DemoModel:
    """One entry of the model menu."""

    name: str
    config: str
    kind: str  # 'training-free', 'zoo release', 'trained'
    checkpoint: Optional[str] = None
    release: Optional[ZooRelease] = None
    options: tuple[tuple[str, object], ...] = ()  # config overrides (--cfg-options style)


def _release(method: str, *files: str) -> ZooRelease:
    return ZooRelease(method, f'{method}_official_to_mmhaze', files)


# The releases of one weight file (DIDFuse, CSF and CUFD come in two, which their converters in
# tools/model_converters/ take on the command line; the menu has no entry for them yet).
ZOO_RELEASES = {
    'u2fusion': ZooRelease('u2fusion', 'u2fusion_tf_to_mmhaze',
                           ('u2fusion/u2fusion_tf_weights.npz', )),
    'seafusion': _release('seafusion', 'seafusion/SeAFusion.pth'),
    'ifcnn': _release('ifcnn', 'ifcnn/IFCNN-MAX.pth'),
    'sdnet': _release('sdnet', 'sdnet/sdnet_tf_weights.npz'),
    'densefuse': _release('densefuse', 'densefuse/densefuse_tf_weights.npz'),
    'tardal': _release('tardal', 'tardal/tardal++.pt'),
    'lrrnet': _release('lrrnet', 'lrrnet/final_lrr_net_lam2_1.5_wir_3.0_lam3_gram_2000_'
                                 'epoch_4_block_4.model'),
    'sage': _release('sage', 'sage/checkpoints.pt'),
    'stdfusionnet': _release('stdfusionnet',
                             'stdfusionnet/jiayi-ma/stdfusionnet_jiayima_tf_weights.npz'),
    'pmgi': _release('pmgi', 'pmgi/pmgi_tf_weights.npz'),
    'gifnet': _release('gifnet', 'gifnet/Final.model'),
    'caf': _release('caf', 'caf/Det_final.pth'),
    'ydtr': _release('ydtr', 'ydtr/model_10.pth'),
}
# (menu name, release, config of the fuser alone, config behind the dark channel prior or None)
ZOO_MODELS = [
    ('U2Fusion', 'u2fusion', 'configs/u2fusion/u2fusion_release_tno.py',
     'configs/two_stage/dcp_u2fusion_roadscene-test.py'),
    ('SeAFusion', 'seafusion', 'configs/seafusion/seafusion_release_tno.py',
     'configs/two_stage/dcp_seafusion_roadscene-test.py'),
    ('IFCNN', 'ifcnn', 'configs/ifcnn/ifcnn_release_tno.py',
     'configs/two_stage/dcp_ifcnn_roadscene-test.py'),
    ('SDNet', 'sdnet', 'configs/sdnet/sdnet_release_tno.py',
     'configs/two_stage/dcp_sdnet_roadscene-test.py'),
    ('DenseFuse', 'densefuse', 'configs/densefuse/densefuse_release_tno.py',
     'configs/two_stage/dcp_densefuse_roadscene-test.py'),
] + [(title, key, f'configs/{key}/{key}_release_tno.py', None) for title, key in (
    ('TarDAL', 'tardal'), ('LRRNet', 'lrrnet'), ('SAGE', 'sage'),
    ('STDFusionNet', 'stdfusionnet'), ('PMGI', 'pmgi'), ('GIFNet', 'gifnet'), ('CAF', 'caf'),
    ('YDTR', 'ydtr'))]
_DCP_AVERAGE = 'configs/two_stage/dcp_average_synthetic.py'
TRAINING_FREE = [
    DemoModel('DCP → average (training-free)', _DCP_AVERAGE, 'training-free'),
    DemoModel('DCP → Laplacian pyramid (training-free)',
              'configs/two_stage/dcp_laplacian_synthetic.py', 'training-free'),
    DemoModel('DCP → max-abs (training-free)', _DCP_AVERAGE, 'training-free',
              options=(('model.fuser.type', 'MaxAbsFusion'), )),
    DemoModel('DCP → local energy (training-free)', _DCP_AVERAGE, 'training-free',
              options=(('model.fuser.type', 'LocalEnergyFusion'), )),
]
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')


def default_cache_dir() -> str:
    """``$XDG_CACHE_HOME/mmhaze/demo`` (``~/.cache/mmhaze/demo``): the user's, outside any
    checkout."""
    base = os.environ.get('XDG_CACHE_HOME') or osp.join(osp.expanduser('~'), '.cache')
    return osp.join(base, 'mmhaze', 'demo')


def check_cache_dir(path: str) -> str:
    """The cache folder, refused inside the repository (converted weights are the user's)."""
    resolved = Path(path).expanduser().resolve()
    if resolved == REPO_ROOT or REPO_ROOT in resolved.parents:
        raise ValueError(f'--cache-dir {path} is inside the repository {REPO_ROOT}; choose a '
                         'folder of your own (default: ~/.cache/mmhaze/demo)')
    return str(resolved)


def find_release(release: ZooRelease, zoo_dir: Optional[str],
                 given: Optional[dict[str, str]] = None) -> Optional[str]:
    """The release file: a user-given path first, then the zoo folder, then the shared data
    folder (U2Fusion's release lives at its top level)."""
    from mmhaze.utils import shared_data_dir
    if given and release.name in given:
        return given[release.name] if osp.isfile(given[release.name]) else None
    roots = [r for r in (zoo_dir, str(shared_data_dir() / 'zoo'), str(shared_data_dir())) if r]
    for root in roots:
        for rel in release.files:
            path = osp.join(root, rel)
            if osp.isfile(path):
                return path
    return None


def discover_trained(work_dirs: Sequence[str]) -> list[DemoModel]:
    """Trained models under ``work_dirs``: folders with a ``last_checkpoint`` file naming an
    existing checkpoint and one config (``*.py``) mmengine dumped beside it."""
    found = []
    for root in work_dirs:
        if not osp.isdir(root):
            continue
        for folder, _, files in sorted(os.walk(root)):
            if 'last_checkpoint' not in files:
                continue
            configs = sorted(f for f in files if f.endswith('.py'))
            with open(osp.join(folder, 'last_checkpoint')) as f:
                ckpt = f.read().strip()
            if len(configs) == 1 and osp.isfile(ckpt):
                name = f'{osp.splitext(configs[0])[0]} (trained: {osp.relpath(ckpt, root)})'
                found.append(DemoModel(name, osp.join(folder, configs[0]), 'trained', ckpt))
    return found


def available_models(zoo_dir: Optional[str] = None, releases: Optional[dict[str, str]] = None,
                     work_dirs: Sequence[str] = (), checkpoints: Sequence[tuple[str, str]] = ()
                     ) -> list[DemoModel]:
    """The menu: training-free pipelines, the zoo releases whose files are found, trained
    models found in ``work_dirs``, and the given ``(config, checkpoint)`` pairs."""
    models = list(TRAINING_FREE)
    for title, key, alone, behind_dcp in ZOO_MODELS:
        release = ZOO_RELEASES[key]
        if find_release(release, zoo_dir, releases) is None:
            continue
        models.append(DemoModel(f'{title} (release, fusion only)', alone, 'zoo release',
                                release=release))
        if behind_dcp is not None:
            models.append(DemoModel(f'DCP → {title} (release)', behind_dcp, 'zoo release',
                                    release=release))
    models += discover_trained(work_dirs)
    for config, ckpt in checkpoints:
        models.append(DemoModel(f'{osp.splitext(osp.basename(config))[0]} '
                                f'({osp.basename(ckpt)})', config, 'trained', ckpt))
    return models


def _load_converter(module: str):
    """``tools/model_converters/<module>.py`` (the demo runs from a checkout, beside tools/)."""
    path = REPO_ROOT / 'tools' / 'model_converters' / f'{module}.py'
    spec = importlib.util.spec_from_file_location(f'mmhaze_converter_{module}', path)
    converter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converter)
    return converter


@dataclass
class PairResult:
    """What the demo shows for one run: the images (H×W×3 uint8, as FusionInferencer returns
    them), the metrics of the fused image (key → value, or a reason it is absent), or one
    ``error`` message instead."""

    dehazed: Optional[np.ndarray] = None
    fused: Optional[np.ndarray] = None
    vis: Optional[np.ndarray] = None
    metrics: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    error: Optional[str] = None


class DemoRunner:
    """Builds (and keeps the last few) inferencers, converts zoo releases on first use, and
    runs pairs. Thread-safe: Gradio calls it from worker threads."""

    def __init__(self, cache_dir: Optional[str] = None, zoo_dir: Optional[str] = None,
                 releases: Optional[dict[str, str]] = None, keep: int = 2):
        self.cache_dir = check_cache_dir(cache_dir or default_cache_dir())
        self.zoo_dir, self.releases = zoo_dir, dict(releases or {})
        self.keep = keep
        self._inferencers: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ weights
    def release_checkpoint(self, release: ZooRelease, progress: Optional[Progress] = None
                           ) -> str:
        """The converted checkpoint of a release: ``<cache>/zoo/<name>.pth``, converted from
        its release file the first time."""
        dst = osp.join(self.cache_dir, 'zoo', f'{release.name}.pth')
        if osp.isfile(dst):
            return dst
        src = find_release(release, self.zoo_dir, self.releases)
        if src is None:
            raise FileNotFoundError(f'the {release.name} release file was not found (looked '
                                    f'for {", ".join(release.files)} in the zoo folder; give '
                                    f'it with --release {release.name}=PATH)')
        if progress:
            progress(0.05, f'converting {osp.basename(src)} (first use)')
        from mmhaze.utils.weight_conversion import write_converted
        converter = _load_converter(release.converter)
        write_converted(converter.convert(src), dst,
                        dict(converted_from=osp.basename(src), network=release.name,
                             converter=f'tools/model_converters/{release.converter}.py'))
        return dst

    def checkpoint(self, model: DemoModel, progress: Optional[Progress] = None
                   ) -> Optional[str]:
        if model.release is not None:
            return self.release_checkpoint(model.release, progress)
        return model.checkpoint

    def config(self, model: DemoModel):
        from mmhaze.apis.config_check import load_config
        config = model.config if osp.isabs(model.config) else str(REPO_ROOT / model.config)
        cfg = load_config(config)
        if model.options:
            cfg.merge_from_dict(dict(model.options))
        return cfg

    def inferencer(self, model: DemoModel, progress: Optional[Progress] = None):
        """The :class:`FusionInferencer` of ``model`` (built once, then kept)."""
        from mmhaze.apis import FusionInferencer
        if model.name in self._inferencers:
            self._inferencers.move_to_end(model.name)
            return self._inferencers[model.name]
        ckpt = self.checkpoint(model, progress)
        if progress:
            progress(0.15, f'building {model.name}')
        inferencer = FusionInferencer(self.config(model), ckpt, device='cpu', pad_small=True)
        self._inferencers[model.name] = inferencer
        while len(self._inferencers) > self.keep:
            self._inferencers.popitem(last=False)
        return inferencer

    # ------------------------------------------------------------------ one pair
    def run_pair(self, model: DemoModel, vis: Optional[str], ir: Optional[str],
                 progress: Optional[Progress] = None, metrics: bool = True) -> PairResult:
        """Dehaze and fuse one pair of image files. Bad input (a missing or non-image file,
        images of different sizes, an IR image with three different colour channels) and any
        failure of the model give a :class:`PairResult` whose ``error`` is one message."""
        problem = check_pair(vis, ir)
        if problem:
            return PairResult(error=problem)
        try:
            with self._lock:
                inferencer = self.inferencer(model, progress)
                if progress:
                    progress(0.4, 'dehazing and fusing on the CPU')
                out = inferencer(vis, ir)
        except Exception as err:  # one message in the page, never a traceback
            from mmhaze.utils.errors import user_message
            return PairResult(error=f'{model.name} could not run: {user_message(err)}')
        from mmhaze.apis.testing import FolderImageReader
        from mmhaze.visualization import to_rgb_uint8
        reader = FolderImageReader()  # the sources as the datasets (and eval_folder) read them
        sources = dict(vis=reader(vis, 'vis'), ir=reader(ir, 'ir'))
        result = PairResult(dehazed=out.get('dehazed'), fused=out.get('fused'),
                            vis=to_rgb_uint8(sources['vis']))
        if result.fused is None:
            result.notes.append(f'{model.name} gives no fused image.')
        elif metrics:
            if progress:
                progress(0.8, 'scoring the fused image')
            result.metrics = score_fused(sources, result.fused)
        return result


def check_pair(vis: Optional[str], ir: Optional[str]) -> Optional[str]:
    """One message for a pair the models cannot take, naming the file; None when it is fine."""
    from mmhaze.datasets.transforms.loading import decode_image, read_bytes
    from mmhaze.utils.errors import UserError
    if not vis or not ir:
        return 'Give both images: the hazy visible image (VIS) and its infrared partner (IR).'
    images = {}
    for what, path in (('VIS', vis), ('IR', ir)):
        name = osp.basename(path)
        try:
            images[what] = decode_image(read_bytes(path), path)
        except UserError:
            return (f'{what} file {name} is not an image that can be read '
                    f'({", ".join(e.lstrip(".") for e in IMAGE_EXTENSIONS)}).')
    ir_image = images['IR']
    if ir_image.ndim == 3 and ir_image.shape[2] >= 3:
        channels = ir_image[..., :3]
        if not (np.array_equal(channels[..., 0], channels[..., 1])
                and np.array_equal(channels[..., 0], channels[..., 2])):
            return (f'IR file {osp.basename(ir)} has three different colour channels: an '
                    'infrared image is grey (one channel, or three equal ones). Did you swap '
                    'VIS and IR?')
    (h0, w0), (h1, w1) = images['VIS'].shape[:2], images['IR'].shape[:2]
    if (h0, w0) != (h1, w1):
        return (f'The images differ in size: VIS {osp.basename(vis)} is {w0}×{h0}, IR '
                f'{osp.basename(ir)} is {w1}×{h1} (W×H); the two must be pixel-registered.')
    return None


def score_fused(sources: dict, fused: np.ndarray) -> dict:
    """The fusion metrics of ``fused`` (H×W×3 uint8) against the two ``sources`` (C×H×W [0, 1]
    tensors ``vis``, ``ir``) and its no-reference metrics (NIQE, FADE; absent with the reason
    when their parameter files are missing or the image is too small), as
    ``tools/analysis_tools/eval_folder.py`` computes them on the saved PNG."""
    import torch

    from mmhaze.evaluation.metrics import (
        DEFAULT_FUSION_METRICS,
        FusionMetric,
        NoReferenceMetric,
    )
    from mmhaze.evaluation.metrics.base_image_metric import MODEL_ROW
    from mmhaze.utils.errors import user_message
    sample = dict(img_id='demo', vis=sources['vis'], ir=sources['ir'],
                  pred_fused=torch.from_numpy(fused).permute(2, 0, 1).float() / 255.0)
    scores: dict = OrderedDict()
    try:
        scores.update(FusionMetric(metrics=DEFAULT_FUSION_METRICS).evaluate_sample(
            sample)[MODEL_ROW])
    except Exception as err:
        scores['fusion metrics'] = f'not computed: {_reason(user_message(err))}'
    for key in ('NIQE', 'FADE'):
        try:
            # missing_files='error': a missing parameter file is the reason shown for the key
            metric = NoReferenceMetric(metrics=[key], missing_files='error')
            scores.update(metric.evaluate_sample(sample)[MODEL_ROW])
        except Exception as err:  # missing parameter files, images smaller than NIQE's blocks
            scores[key] = f'not computed: {_reason(user_message(err))}'
    return scores


def _reason(message: str) -> str:
    """A metric's error, short: without the metric wrapper's prefix (``X: KEY failed on image
    ...:``) and the details in parentheses."""
    return re.sub(r"^.*? failed on image '[^']*': (\w+: )?", '', message).split(' (')[0]


def write_examples(cache_dir: str, size: int = 128) -> list[tuple[str, str, str]]:
    """``(title, vis, ir)`` example pairs: two embedded synthetic test scenes (thermal and NIR),
    rendered once into ``<cache>/examples/``, and the shared VIS-NIR and TNO anchors when the
    shared data folder has them."""
    from mmhaze.datasets.synthetic import to_uint8
    from mmhaze.datasets.synthetic_scene import render_scene
    from mmhaze.engine.hooks import write_png
    from mmhaze.utils import shared_data_dir
    folder = osp.join(cache_dir, 'examples')
    examples = []
    for title, index, modality in (('synthetic scene, thermal IR', 0, 'thermal'),
                                   ('synthetic scene, NIR', 1, 'nir')):
        vis = osp.join(folder, f'synthetic_{modality}_{index}_vis.png')
        ir = osp.join(folder, f'synthetic_{modality}_{index}_ir.png')
        if not (osp.isfile(vis) and osp.isfile(ir)):
            scene = render_scene(index, seed=1000, size=(size, size))
            write_png(vis, to_uint8(scene.hazy_vis), overwrite=True)
            write_png(ir, to_uint8(getattr(scene, modality)), overwrite=True)
        examples.append((title, vis, ir))
    shared = shared_data_dir()
    for title, vis, ir in (('VIS-NIR anchor (EPFL country 0003)',
                            'visnir_anchor/country/0003_rgb.jpg',
                            'visnir_anchor/country/0003_nir.jpg'),
                           ('TNO anchor 01', 'tno_anchor/vi/01.png', 'tno_anchor/ir/01.png')):
        if (shared / vis).is_file() and (shared / ir).is_file():
            examples.append((title, str(shared / vis), str(shared / ir)))
    return examples
