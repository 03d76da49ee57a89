"""NIQE through pyiqa on the MATLAB anchor; PI's missing-file error; the metric wrapper."""
import pytest
import torch

from mmhaze.evaluation.functional.no_reference import (
    NIQE_FILE,
    NRQM_FILE,
    find_parameter_file,
    niqe,
    perceptual_index,
    pyiqa_cache_dir,
)

MATLAB_NIQE_BABOON = 5.72957338
NIQE_FILES = ('niqe/baboon.png', 'niqe/niqe_modelparameters.mat')


@pytest.fixture(scope='module')
def baboon(shared_data):
    import cv2
    img = cv2.imread(str(shared_data / 'niqe' / 'baboon.png'), cv2.IMREAD_COLOR)[..., ::-1]
    return torch.from_numpy(img.copy()).permute(2, 0, 1)[None]


@pytest.mark.shared_data(*NIQE_FILES)
def test_niqe_matches_matlab(baboon, shared_data):
    path = str(shared_data / 'niqe' / 'niqe_modelparameters.mat')
    yiq = niqe(baboon, model_path=path).item()
    ycbcr = niqe(baboon, model_path=path, color_space='ycbcr').item()
    assert yiq == pytest.approx(MATLAB_NIQE_BABOON, abs=3e-3)
    assert ycbcr == pytest.approx(MATLAB_NIQE_BABOON, abs=3e-3)
    assert yiq == pytest.approx(5.73177, abs=1e-4) and ycbcr == pytest.approx(5.72997, abs=1e-4)


@pytest.mark.shared_data(*NIQE_FILES)
def test_niqe_bad_input(baboon, shared_data):
    with pytest.raises(ValueError, match='at least 192×192'):
        niqe(baboon[..., :100, :])
    with pytest.raises(FileNotFoundError, match='niqe_model_path'):
        niqe(baboon, model_path=str(shared_data / 'no_such.mat'))


def test_pi_missing_parameter_file_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMHAZE_SHARED_DATA', str(tmp_path / 'empty'))
    with pytest.raises(FileNotFoundError) as err:
        perceptual_index(torch.zeros(1, 3, 200, 200))
    msg = str(err.value)
    assert msg.startswith(f'parameter file {NIQE_FILE} not found')  # the first one PI needs
    assert str(tmp_path / 'torch_home' / 'hub' / 'pyiqa') in msg
    with pytest.raises(FileNotFoundError, match=NRQM_FILE):
        find_parameter_file(NRQM_FILE)
    # With the NIQE file present (a stand-in: only its existence is checked before building)
    # the error names the NRQM file that is still missing.
    shared = tmp_path / 'shared'
    (shared / 'niqe').mkdir(parents=True)
    (shared / 'niqe' / NIQE_FILE).write_bytes(b'stand-in')
    monkeypatch.setenv('MMHAZE_SHARED_DATA', str(shared))
    from mmhaze.evaluation.metrics import NoReferenceMetric
    with pytest.raises(FileNotFoundError, match=f'parameter file {NRQM_FILE} not found'):
        NoReferenceMetric(metrics=['PI'], missing_files='error')


def test_a_metric_without_its_parameter_file_is_left_out_with_a_note(tmp_path, monkeypatch):
    """By default a run goes on without the metric: one warning line, one note under the tables,
    no column (HSVF's tiny configs test on a machine without the FADE release)."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMHAZE_SHARED_DATA', str(tmp_path / 'empty'))
    from mmhaze.evaluation.metrics import NoReferenceMetric
    metric = NoReferenceMetric(metrics=['NIQE', 'FADE'])
    assert metric.specs == {} and metric.directions == {} and metric.conventions() == {}
    assert [n.split(':')[0] for n in metric.notes] == ['NIQE not computed', 'FADE not computed']
    assert 'natural_fogfree_image_features_ps8.mat' in metric.notes[1]
    sample = dict(pred_fused=torch.rand(3, 32, 32), img_id='a')
    assert metric.evaluate_sample(sample) == {'model': {}}


@pytest.mark.shared_data(*NIQE_FILES)
def test_pi_value(baboon):
    try:
        find_parameter_file(NRQM_FILE)
    except FileNotFoundError:
        pytest.skip(f'{NRQM_FILE} is not in {pyiqa_cache_dir()} (offline machine; pyiqa '
                    'downloads it when online)')
    value = perceptual_index(baboon).item()
    assert 0 < value < 10


@pytest.mark.shared_data('niqe/niqe_modelparameters.mat', 'fade')
def test_no_reference_metric_rows(shared_data):
    from mmhaze.evaluation.metrics import NoReferenceMetric
    metric = NoReferenceMetric(metrics=['NIQE', 'FADE'], include_input=True, prefix='toy')
    gen = torch.Generator().manual_seed(0)
    clear = torch.rand(3, 1, 1, generator=gen) * 0.6 + 0.2 + 0.1 * torch.randn(
        3, 200, 200, generator=gen)
    hazy = clear.clamp(0, 1) * 0.4 + 0.55
    small = dict(img_id='small', pred_fused=dict(data=clear[:, :50, :50]),
                 vis=dict(data=hazy[:, :50, :50]))
    sample = dict(img_id='a', pred_fused=dict(data=clear.clamp(0, 1)), vis=dict(data=hazy))
    from mmhaze.evaluation.metrics import MetricComputeError
    with pytest.raises(MetricComputeError, match="NoReferenceMetric: NIQE failed on image "
                                                 "'small': ValueError: NIQE needs images of at "
                                                 'least 192×192'):
        metric.process({}, [small])
    metric = NoReferenceMetric(metrics=['NIQE', 'FADE'], include_input=True, prefix='toy',
                               skip_errors=True)
    metric.process({}, [sample, small])
    out = metric.evaluate(2)
    rows = {(r['method'], r['image']): r for r in metric.per_image_rows}
    assert rows[('model', 'a')]['FADE'] < rows[('hazy input', 'a')]['FADE']
    assert set(rows) == {('model', 'a'), ('hazy input', 'a')}  # 'small' left out, and listed
    assert [s['image'] for s in metric.skipped] == ['small']
    assert out['toy/FADE'] == pytest.approx(rows[('model', 'a')]['FADE'])
    assert metric.directions['NIQE'] == '↓' and 'pyiqa' in metric.conventions()['NIQE']
