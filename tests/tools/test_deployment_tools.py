"""tools/deployment/pytorch2onnx.py and tools/infer.py --backend onnxruntime: a checkpoint exports,
the exported graph writes the same PNGs as PyTorch, and options it cannot honour are one line."""
import contextlib
import io
import re

import cv2
import numpy as np
import pytest
import torch
from helpers import BASELINE_CONFIG, limit_file_size, load_tool, run_in_child, seeded_model

from mmhaze.datasets import SyntheticFusionDataset


@pytest.fixture(scope='module')
def exported(tmp_path_factory, repo_root):
    """A small baseline config, its seeded checkpoint and its dynamic export."""
    root = tmp_path_factory.mktemp('deploy')
    config = root / 'conv_small.py'
    config.write_text(f"_base_ = ['{repo_root / BASELINE_CONFIG}']\n"
                      'model = dict(network=dict(channels=8, dilations=[1, 2]))\n')
    model = seeded_model(str(config))
    ckpt = root / 'conv_small.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=0)), ckpt)
    out = root / 'conv_small.onnx'
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = load_tool('deployment/pytorch2onnx').main(
            [str(config), str(ckpt), '--out', str(out), '--shape', '24', '32', '--dynamic'])
    assert code == 0 and out.is_file()
    # The check of the export: two sizes (the second of other parity), both outputs.
    assert 'onnxruntime vs PyTorch max |Δ| (24×32, 19×35): pred_dehazed' in printed.getvalue()
    return config, ckpt, out


def _write_pairs(root, sizes):
    """Synthetic scenes (hazy VIS, 1-channel thermal) as 8-bit PNGs, one pair per size."""
    for folder in ('vis', 'ir'):
        (root / folder).mkdir(parents=True)
    for i, size in enumerate(sizes):
        sample = SyntheticFusionDataset(num_samples=1, img_size=size, seed=i,
                                        pipeline=[dict(type='PackFusionInputs')])[0]['inputs']
        vis = (sample['vis'].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        ir = (sample['ir'][0].numpy() * 255).round().astype(np.uint8)
        cv2.imwrite(str(root / 'vis' / f'{i}.png'), vis[..., ::-1])
        cv2.imwrite(str(root / 'ir' / f'{i}.png'), ir)


def test_onnxruntime_backend_writes_the_pytorch_outputs(exported, tmp_path, tool):
    config, ckpt, onnx_file = exported
    _write_pairs(tmp_path / 'data', [(40, 56), (17, 23)])  # sizes other than the export's
    infer = tool('infer')
    common = ['--vis', str(tmp_path / 'data/vis'), '--ir', str(tmp_path / 'data/ir')]
    assert infer.main([str(config), str(ckpt), *common, '--out-dir', str(tmp_path / 'pt')]) == 0
    assert infer.main([str(config), str(onnx_file), *common, '--out-dir',
                       str(tmp_path / 'ort'), '--backend', 'onnxruntime']) == 0
    for key in ('dehazed', 'fused'):
        for stem, shape in (('0', (40, 56, 3)), ('1', (17, 23, 3))):
            a = cv2.imread(str(tmp_path / 'pt' / key / f'{stem}.png')).astype(int)
            b = cv2.imread(str(tmp_path / 'ort' / key / f'{stem}.png')).astype(int)
            assert a.shape == b.shape == shape
            assert 10 < a.std()  # a real image, not a constant
            assert np.abs(a - b).max() <= 1  # 1e-4 in [0, 1] may flip one rounding


@pytest.mark.parametrize('tile, retains', [(None, True), ('32', False)])
def test_infer_keeps_freed_memory_only_without_tiles(exported, tmp_path, tool, monkeypatch,
                                                      tile, retains):
    """Tiling is for bounded memory: glibc's default allocator then returns the image-size
    buffers, where a retained heap would keep them fragmented (docs/speed.md)."""
    import mmhaze.apis.speed as speed
    calls = []
    monkeypatch.setattr(speed, 'retain_freed_memory', lambda: calls.append(1) or True)
    config, ckpt, _ = exported
    _write_pairs(tmp_path / 'data', [(40, 56)])
    args = [str(config), str(ckpt), '--vis', str(tmp_path / 'data/vis'), '--ir',
            str(tmp_path / 'data/ir'), '--out-dir', str(tmp_path / 'out')]
    if tile is not None:
        args += ['--tile', tile, '--tile-approx', '--no-progress']
    assert tool('infer').main(args) == 0
    assert (tmp_path / 'out/fused/0.png').is_file()
    assert bool(calls) is retains


@pytest.mark.parametrize('extra, message', [
    (['--tile', '16'], '--tile is not available with --backend onnxruntime'),
    (['--compile'], '--compile is a PyTorch option'),
    (['--device', 'cuda'], 'runs on the CPU, not --device cuda'),
])
def test_onnxruntime_backend_refuses_pytorch_options(exported, tmp_path, tool, capsys, extra,
                                                     message):
    config, _, onnx_file = exported
    _write_pairs(tmp_path / 'data', [(20, 20)])
    code = tool('infer').main([str(config), str(onnx_file), '--vis', str(tmp_path / 'data/vis'),
                               '--ir', str(tmp_path / 'data/ir'), '--out-dir',
                               str(tmp_path / 'out'), '--backend', 'onnxruntime', *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_onnxruntime_backend_refuses_a_graph_of_another_config(exported, tmp_path, tool, capsys,
                                                               repo_root):
    _, _, onnx_file = exported
    _write_pairs(tmp_path / 'data', [(20, 20)])
    code = tool('infer').main([str(repo_root / 'configs/demo/demo_synthetic.py'), str(onnx_file),
                               '--vis', str(tmp_path / 'data/vis'), '--ir',
                               str(tmp_path / 'data/ir'), '--out-dir', str(tmp_path / 'out'),
                               '--backend', 'onnxruntime'])
    assert code == 2 and 'was exported from' in capsys.readouterr().err


def test_pytorch2onnx_refuses_an_existing_file_before_building(exported, tool, capsys):
    config, ckpt, onnx_file = exported
    code = tool('deployment/pytorch2onnx').main([str(config), str(ckpt), '--out', str(onnx_file)])
    assert code == 2 and 'exists; choose a new name or pass --overwrite' in \
        capsys.readouterr().err


def test_benchmark_times_onnxruntime_next_to_eager(exported, tool, capsys):
    config, _, _ = exported
    assert tool('analysis_tools/benchmark').main(
        [str(config), '--shape', '16', '20', '--repeat', '1', '--warmup', '1', '--onnx']) == 0
    out = capsys.readouterr().out
    assert re.search(r'onnx export 16×20: \d+ s, opset \d+, onnxruntime vs PyTorch max \|Δ\| '
                     r'pred_dehazed \S+, pred_fused \S+ \(tolerance 0.0001\)', out)
    drift = float(re.search(r'onnx outputs: max \|Δ\| (\S+) against float32 eager', out)[1])
    assert drift <= 1e-4
    assert re.search(r'16×20 eager: mean \d+ ms', out)
    assert re.search(r'16×20 onnx: mean \d+ ms, median \d+ ms, [\d.]+× eager', out)


# ------------------------------------------------------------------------------ issue 19
def test_pytorch2onnx_checks_the_output_path_before_exporting(exported, tool, capsys, tmp_path,
                                                              monkeypatch):
    """`--out` under a file, or in /proc, failed after the export ran (22 and 28 lines)."""
    import mmhaze.apis.export as export
    config, ckpt, _ = exported
    monkeypatch.setattr(export, 'build_export_model', lambda *a, **k: pytest.fail('built'))
    (tmp_path / 'file').write_text('')
    expected = {
        str(tmp_path / 'file' / 'm.onnx'):
            f'error: --out {tmp_path / "file" / "m.onnx"}: {tmp_path / "file"} is a file, not '
            'a folder',
        '/proc/x.onnx': 'error: --out /proc/x.onnx: no file can be created in /proc (No such '
                        'file or directory)',
    }
    for out, line in expected.items():
        assert tool('deployment/pytorch2onnx').main([str(config), str(ckpt), '--out', out]) == 2
        err = capsys.readouterr().err
        assert 'Traceback' not in err and err.strip() == line


def test_an_export_respects_the_umask_and_a_full_disk_is_one_line(exported, tool, tmp_path):
    """ONNX files were -rw------- under umask 0022 (checkpoints respected it)."""
    import os
    config, ckpt, onnx_file = exported
    umask = os.umask(0)
    os.umask(umask)
    assert onnx_file.stat().st_mode & 0o777 == 0o666 & ~umask
    out = tmp_path / 'm.onnx'

    def export_on_a_full_disk():
        limit_file_size(4096)
        return tool('deployment/pytorch2onnx').main(
            [str(config), str(ckpt), '--out', str(out), '--shape', '24', '32'])

    status, err = run_in_child(tmp_path, export_on_a_full_disk)
    assert status == 1
    lines = [line for line in err.splitlines() if line.startswith('error')]
    assert 'Traceback' not in err and lines == [
        f'error: cannot write {out}: File too large; nothing was written under that name (free '
        'some disk space or raise the file size limit (ulimit -f))']
    assert sorted(p.name for p in tmp_path.iterdir()) == ['child_0.err']


def test_pytorch2onnx_exports_at_the_configs_test_size_with_a_line_per_step(exported, tmp_path,
                                                                             tool, capsys):
    """The README's export-then-run pair: the demo exported 256×256 while its images are 64×64,
    and the export was silent for minutes."""
    config, ckpt, _ = exported
    small = tmp_path / 'conv_24.py'
    small.write_text(f"_base_ = ['{config}']\n"
                     'test_dataloader = dict(dataset=dict(img_size=24))\n')
    out = tmp_path / 'conv_24.onnx'
    assert tool('deployment/pytorch2onnx').main([str(small), str(ckpt), '--out', str(out)]) == 0
    steps = [re.sub(r' \(\d+ s\)$', '', line) for line in capsys.readouterr().out.splitlines()
             if line.startswith('export: ')]
    assert steps == [
        "export: --shape 24 24 (the config's test image size; --shape H W to change it)",
        f'export: building the model of {small}',
        'export: tracing ConvDehazeFuser at 24×24 with torch.export',
        'export: converting the traced program to ONNX',
        'export: checking onnxruntime against PyTorch at 24×24']
    import onnx
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta['mmhaze.shape'] == '24,24'
