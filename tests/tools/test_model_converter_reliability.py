"""The model converters never overwrite their input, and a truncated, unsafe, object-array or
wrong file, or a full disk, is one line each (issue 19, item 5 and the converter cases)."""
import argparse
import hashlib
import os

import cv2
import numpy as np
import pytest
import torch
from helpers import limit_file_size, run_in_child


def _one_error_line(err: str) -> str:
    assert 'Traceback' not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith('error: '), err
    return lines[0]


def _converter(tool, name):
    return tool(f'model_converters/{name}')


@pytest.fixture
def ifcnn_release(tmp_path):
    """A state dict in the layout of IFCNN's release (random weights)."""
    from mmhaze.models.fusion import IFCNN
    torch.manual_seed(0)
    state = {k: v for k, v in IFCNN().state_dict().items()
             if not k.endswith('num_batches_tracked')}
    path = tmp_path / 'IFCNN-MAX.pth'
    torch.save(state, path)
    return path, state


# ------------------------------------------------------------------------------ item 5
def test_a_converter_never_replaces_its_input(ifcnn_release, tool, tmp_path, capsys):
    """`ifcnn_official_to_mmhaze.py X.pth X.pth --force` replaced the official release."""
    release, _ = ifcnn_release
    digest = hashlib.sha256(release.read_bytes()).hexdigest()
    link = tmp_path / 'link.pth'
    link.symlink_to(release)
    for dst in (release, link):
        rc = _converter(tool, 'ifcnn_official_to_mmhaze').main([str(release), str(dst),
                                                                '--force'])
        assert rc == 2
        assert _one_error_line(capsys.readouterr().err) == (
            f'error: {dst} is an input of the conversion ({release}); choose another output')
    assert hashlib.sha256(release.read_bytes()).hexdigest() == digest


# ------------------------------------------------------------------------------ bad files
def test_a_truncated_release_is_one_line(ifcnn_release, tool, tmp_path, capsys):
    release, _ = ifcnn_release
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(release.read_bytes()[:2000])
    for name in ('ifcnn_official_to_mmhaze', 'upgrade_model_layer_checkpoint'):
        assert _converter(tool, name).main([str(cut), str(tmp_path / 'out.pth')]) == 2
        assert _one_error_line(capsys.readouterr().err) == (
            f'error: cannot read {cut} as a PyTorch checkpoint (PytorchStreamReader failed '
            'reading zip archive: failed finding central directory): the file is truncated, '
            'corrupt or not a checkpoint; copy or export it again')
    assert not (tmp_path / 'out.pth').exists()


class _RunsACommand:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


@pytest.mark.parametrize('converter', ['ifcnn_official_to_mmhaze',
                                       'seafusion_official_to_mmhaze'])
def test_an_unsafe_release_names_the_global_and_loads_only_when_trusted(
        converter, ifcnn_release, tool, tmp_path, capsys):
    """Both converters lacked --unsafe-load and printed a 24-line UnpicklingError."""
    release, state = ifcnn_release
    trusted = tmp_path / 'trusted.pth'
    torch.save(dict(state_dict=state, args=argparse.Namespace(lr=0.1)), trusted)
    out = tmp_path / 'out.pth'
    assert _converter(tool, converter).main([str(trusted), str(out)]) == 2
    assert _one_error_line(capsys.readouterr().err) == (
        f'error: {trusted} is not a weights_only-safe checkpoint: it pickles the Python global '
        'argparse.Namespace, which torch.load(weights_only=True) refuses. Checkpoints written '
        'by mmhaze are always safe; this one comes from elsewhere or an older version. If you '
        'trust it, load it with --unsafe-load (or MMHAZE_UNSAFE_LOAD=1); re-saving it with '
        'mmhaze makes it safe.')
    marker = tmp_path / 'ran'
    evil = tmp_path / 'evil.pth'
    torch.save(dict(state_dict=state, x=_RunsACommand(marker)), evil)
    assert _converter(tool, converter).main([str(evil), str(out)]) == 2
    assert _one_error_line(capsys.readouterr().err) == (
        f'error: {evil} is not a weights_only-safe checkpoint: it pickles the Python global '
        f'{os.system.__module__}.system, which runs commands or code on your machine when the '
        'file is loaded; do not load it (mmhaze refused it without running anything)')
    assert not marker.exists()
    if converter == 'ifcnn_official_to_mmhaze':
        os.environ.pop('MMHAZE_UNSAFE_LOAD', None)
        try:
            with pytest.warns(UserWarning, match='weights_only=False'):
                rc = _converter(tool, converter).main([str(trusted), str(out), '--unsafe-load'])
        finally:
            os.environ.pop('MMHAZE_UNSAFE_LOAD', None)
        assert rc == 0
        assert torch.equal(torch.load(out, weights_only=True)['state_dict']['fuser.conv4.bias'],
                           state['conv4.bias'])


def test_bad_npz_exports_and_a_png_are_one_line(tool, tmp_path, capsys):
    u2fusion = _converter(tool, 'u2fusion_tf_to_mmhaze')
    np.savez(tmp_path / 'good.npz', x=np.zeros((64, 64), np.float32))
    cut = tmp_path / 'cut.npz'
    cut.write_bytes((tmp_path / 'good.npz').read_bytes()[:1000])
    objects = tmp_path / 'objects.npz'
    np.savez(objects, x=np.array([{'a': 1}], dtype=object))
    png = tmp_path / 'image.png'
    cv2.imwrite(str(png), np.zeros((8, 8), np.uint8))
    expected = {
        cut: f'error: {cut}: cannot read it as an .npz (File is not a zip file): the file is '
             'truncated, corrupt or not an .npz; export it again',
        objects: f'error: {objects}: Object arrays cannot be loaded when allow_pickle=False (an '
                 '.npz of a checkpoint holds numeric arrays only; export it again with plain '
                 'arrays)',
        # It said "TensorFlow is not installed".
        png: f'error: {png} is neither an .npz export nor a TF checkpoint (a prefix with '
             f'{png}.index beside it); pass one of those',
    }
    for src, line in expected.items():
        assert u2fusion.main([str(src), str(tmp_path / 'out.pth')]) == 1
        assert _one_error_line(capsys.readouterr().err) == line
    assert not (tmp_path / 'out.pth').exists()


def test_a_wrong_release_lists_counts_and_examples_not_every_key(tool, tmp_path, capsys):
    """A wrong file printed 82 and 498 lines of keys."""
    wrong = tmp_path / 'other.pth'
    torch.save({f'encoder.block{i}.weight': torch.zeros(1) for i in range(40)}, wrong)
    rc = _converter(tool, 'ifcnn_official_to_mmhaze').main([str(wrong),
                                                            str(tmp_path / 'out.pth')])
    assert rc == 1
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {wrong}: cannot convert the checkpoint: no counterpart for "
                           "checkpoint tensor 'encoder.block0.weight'; ")
    assert '(and 37 more of this kind, 40 in all)' in line
    assert "mmhaze key 'fuser.conv1.weight' has no checkpoint tensor" in line
    assert '(and 10 more of this kind, 13 in all)' in line


# ------------------------------------------------------------------------------ full disk
def test_a_full_disk_is_one_line_and_leaves_nothing(ifcnn_release, tool, tmp_path):
    release, _ = ifcnn_release
    out = tmp_path / 'out.pth'

    def convert_on_a_full_disk():
        limit_file_size(4096)
        return _converter(tool, 'ifcnn_official_to_mmhaze').main([str(release), str(out)])

    status, err = run_in_child(tmp_path, convert_on_a_full_disk)
    assert status == 1
    assert _one_error_line(err) == (
        f'error: cannot write {out}: File too large; nothing was written under that name (free '
        'some disk space or raise the file size limit (ulimit -f))')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['IFCNN-MAX.pth', 'child_0.err']
