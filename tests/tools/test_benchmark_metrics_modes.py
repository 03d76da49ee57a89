"""benchmark_metrics.py's end-to-end mode (layouts of real-pair folders, the runners, the value
check) and its IVIF_ZOO import shim, on tiny images; no timing is asserted."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

SIZES = [(64, 80), (72, 96), (80, 88)]


@pytest.fixture
def bench(tool):
    return tool('analysis_tools/benchmark_metrics')


@pytest.fixture
def pair_root(tmp_path) -> Path:
    """Three registered pairs of different sizes in a dataset's ir/ + vi/ layout."""
    root = tmp_path / 'dataset'
    gen = np.random.default_rng(0)
    for i, (h, w) in enumerate(SIZES):
        ir = gen.integers(0, 256, (h, w)).astype(np.uint8)
        vis = gen.integers(0, 256, (h, w, 3)).astype(np.uint8)
        for folder, image in (('ir', ir), ('vi', vis)):
            (root / folder).mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(root / folder / f'pair{i}.png')
    (root / 'vi' / 'Thumbs.db').write_bytes(b'not an image')
    return root


def _gray(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_dry_run_builds_the_layouts(bench, pair_root, tmp_path, capsys, monkeypatch):
    import subprocess
    monkeypatch.setattr(subprocess, 'run', lambda *a, **k: pytest.fail('dry run ran ' + str(a)))
    scratch = tmp_path / 'scratch'
    assert bench.main(['--end-to-end', str(pair_root), '--dry-run', '--num-sizes', '2',
                       '--scratch', str(scratch)]) == 0
    out = capsys.readouterr().out
    assert 'same-size: 3 pairs in 1 size (' in out
    assert '2-sizes: 3 pairs in 2 sizes (' in out and 'as-is: 3 pairs in 3 sizes (' in out
    assert 'eval_folder eager: MMHAZE_COMPILE_METRICS=0 ' in out
    assert 'eval_folder default: (unset MMHAZE_COMPILE_METRICS) ' in out
    layouts = scratch / 'layouts'
    shapes = {name: sorted(_gray(p).shape for p in (layouts / name / 'fused').iterdir())
              for name in ('same-size', '2-sizes', 'as-is')}
    assert shapes['same-size'] == [(64, 80)] * 3
    assert shapes['2-sizes'] == [(56, 72), (64, 80), (64, 80)]  # pair i: 8·(i mod 2) px less
    assert shapes['as-is'] == sorted(SIZES)
    # gray PNGs; the fused image is the rounded mean of IR and the gray visible image
    ir, vis = (_gray(layouts / 'as-is' / k / 'pair1.png').astype(float) for k in ('ir', 'vis'))
    fused = _gray(layouts / 'as-is' / 'fused' / 'pair1.png')
    assert vis.ndim == 2 and np.array_equal(fused, np.floor((ir + vis) / 2 + 0.5))
    expected_vis = np.asarray(Image.open(pair_root / 'vi' / 'pair1.png').convert('L'))
    assert np.array_equal(vis, expected_vis)
    # the same-size crop is centred
    crop = _gray(layouts / 'same-size' / 'ir' / 'pair2.png')
    assert np.array_equal(crop, _gray(pair_root / 'ir' / 'pair2.png')[8:72, 4:84])
    assert not (scratch / 'runs').exists()
    # the scratch folder is never reused, nor placed inside the inputs
    assert bench.main(['--end-to-end', str(pair_root), '--dry-run', '--scratch',
                       str(scratch)]) == 2
    assert f'--scratch {scratch} exists' in capsys.readouterr().err
    assert bench.main(['--end-to-end', str(pair_root), '--dry-run', '--scratch',
                       str(pair_root / 'bench')]) == 2
    assert '--scratch' in capsys.readouterr().err and not (pair_root / 'bench').exists()
    assert bench.main(['--end-to-end', str(tmp_path), '--dry-run']) == 2
    assert 'no IR/visible folders' in capsys.readouterr().err


def test_end_to_end_runs_every_runner_and_compares_values(bench, tool, pair_root, tmp_path,
                                                          monkeypatch):
    """The whole mode with the processes replaced by in-process calls of the same tools."""
    eval_folder = tool('analysis_tools/eval_folder')
    calls = []

    def in_process(command, env_changes):
        script, argv = Path(command[1]).name, command[2:]
        for key, value in env_changes.items():
            monkeypatch.delenv(key, raising=False) if value is None else monkeypatch.setenv(
                key, value)
        calls.append((script, dict(env_changes)))
        main = bench.main if script == 'benchmark_metrics.py' else eval_folder.main
        assert main(argv) == 0

    pairs = bench.find_pairs(str(pair_root), limit=3)
    assert [p[0] for p in pairs] == ['pair0', 'pair1', 'pair2']
    report = bench.end_to_end(pairs, tmp_path / 'scratch', layouts=('same-size', 'as-is'),
                              rounds=2, runner=in_process)
    # 2 rounds × 2 layouts × 3 runners, the order rotating each round
    assert len(calls) == 12
    assert [c[0] for c in calls[:3]] == ['benchmark_metrics.py', 'eval_folder.py',
                                         'eval_folder.py']
    assert calls[1][1] == {'MMHAZE_COMPILE_METRICS': None}
    assert calls[6][1] == {'MMHAZE_COMPILE_METRICS': None}  # round 2 starts with default
    assert [info['sizes'] for info in report['layouts'].values()] == [1, 3]
    for info in report['layouts'].values():
        assert set(info['seconds']) == set(bench.E2E_RUNNERS)
        assert all(len(v) == 2 for v in info['samples'].values())
        diffs = info['max_rel_diff']
        assert set(diffs['default vs eager']) == set(bench.EVALUATOR_SUITE)
        # tiny images: the default path compiles nothing, so it equals eager exactly
        assert max(diffs['default vs eager'].values()) == 0
        # the NumPy Evaluator loop against eval_folder's float32 path (VIF's 1e-3 tolerance)
        assert max(diffs['eager vs Evaluator loop'].values()) < 1e-3
        assert diffs['eager vs Evaluator loop']['EN'] < 1e-12
    text = bench.format_report(dict(end_to_end=report))
    assert '| as-is | 3 | 3 |' in text and 'Evaluator / default' in text


FAKE_METRIC_TORCH = '''
import torch
import Qabf  # a sibling module, as the real Metric_torch.py imports its helpers
DEVICE = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
SEEN = {}


def _record(name, *args):
    SEEN[name] = tuple(type(a).__name__ + str(getattr(a, 'dtype', '')) for a in args)
    return torch.as_tensor(float(args[-1].sum()) / args[-1].size().numel()
                           if hasattr(args[-1], 'size') and callable(args[-1].size)
                           else float(args[-1].mean()))
'''


def _fake_checkout(root: Path, bench) -> Path:
    folder = root / 'Metric'
    folder.mkdir(parents=True)
    lines = [FAKE_METRIC_TORCH]
    for name, _, sources in bench.IVIF_ZOO_CALLS.values():
        params = 'a, b, f' if sources else 'f'
        lines.append(f'def {name}({params}):\n    return _record({name!r}, {params})\n')
    (folder / 'Metric_torch.py').write_text('\n'.join(lines))
    (folder / 'Qabf.py').write_text('')
    return root


def test_ivif_zoo_shim_imports_on_the_cpu_and_passes_each_form(bench, tmp_path, monkeypatch):
    for name in bench.IVIF_ZOO_MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)  # a GPU machine
    path_before = list(sys.path)
    module = bench.import_ivif_zoo(str(_fake_checkout(tmp_path / 'zoo', bench)),
                                   deps=str(tmp_path / 'deps'))
    assert module.DEVICE.type == 'cpu' and torch.cuda.is_available()  # restored after import
    assert sys.path == path_before + [str(tmp_path / 'deps')]
    monkeypatch.setattr(sys, 'path', path_before)
    data = bench.make_scenes(1, (48, 64))
    seconds, values = bench.time_ivif_zoo(module, data)
    assert set(seconds) == set(values) == set(bench.IVIF_ZOO_CALLS)
    # the forms evaluation_one passes: float32 tensors, int32 arrays (MI, NMI), float32 arrays
    assert module.SEEN['VIF_function'] == ('Tensortorch.float32',) * 3
    assert module.SEEN['MI_function'] == ('ndarrayint32',) * 3
    assert module.SEEN['SSIM_function'] == ('ndarrayfloat32',) * 3
    assert module.SEEN['EN_function'] == ('Tensortorch.float32',)
    assert values['EN'] == [pytest.approx(data['fused'][0].mean(), rel=1e-6)]
    with pytest.raises(RuntimeError, match='already imported'):
        bench.import_ivif_zoo(str(tmp_path / 'zoo'))
    with pytest.raises(FileNotFoundError, match='Metric_torch.py'):
        bench.import_ivif_zoo(str(tmp_path))
    for name in bench.IVIF_ZOO_MODULES:
        sys.modules.pop(name, None)
    broken = tmp_path / 'broken'
    (broken / 'Metric').mkdir(parents=True)
    (broken / 'Metric' / 'Metric_torch.py').write_text('import a_missing_dependency\n')
    with pytest.raises(ImportError, match='--ivif-zoo-deps'):
        bench.import_ivif_zoo(str(broken))
    assert sys.path == path_before


def test_ivif_zoo_columns_match_the_preset(bench):
    _, columns = bench.suite_columns('ivif_zoo')
    assert list(columns) == list(bench.IVIF_ZOO_CALLS)
