"""The browser demo's core without a browser (and without gradio): its inference function gives
FusionInferencer's arrays for the same config and pair, zoo releases are converted once into the
user's cache, the model menu, and one message per bad input."""
import cv2
import numpy as np
import pytest
from helpers import REPO_ROOT, load_demo

demo_models = load_demo('demo_models')
AVERAGE = demo_models.TRAINING_FREE[0]
MAX_ABS = next(m for m in demo_models.TRAINING_FREE if m.options)


@pytest.fixture(scope='module')
def runner(tmp_path_factory):
    return demo_models.DemoRunner(str(tmp_path_factory.mktemp('cache')))


@pytest.fixture(scope='module')
def pair(runner):
    """The thermal example, rendered at 64 px into the cache."""
    examples = demo_models.write_examples(runner.cache_dir, size=64)
    title, vis, ir = examples[0]
    assert title == 'synthetic scene, thermal IR'
    return vis, ir


def _write(path, image):
    assert cv2.imwrite(str(path), image)
    return str(path)


@pytest.mark.parametrize('model', [AVERAGE, MAX_ABS], ids=['average', 'max-abs'])
def test_run_pair_returns_the_arrays_of_fusion_inferencer(runner, pair, model):
    from mmhaze.apis import FusionInferencer
    result = runner.run_pair(model, *pair)
    assert result.error is None
    cfg = runner.config(model)
    if model.options:
        assert cfg.model.fuser.type == 'MaxAbsFusion'
    expected = FusionInferencer(cfg, device='cpu')(*pair)
    for key in ('dehazed', 'fused'):
        assert getattr(result, key).shape == (64, 64, 3)
        np.testing.assert_array_equal(getattr(result, key), expected[key])
    # the input shown is the VIS file's pixels; the metrics are those of the fused image
    np.testing.assert_array_equal(result.vis, cv2.imread(pair[0])[..., ::-1])
    assert set(result.metrics) >= {'EN', 'MI', 'Qabf', 'VIF', 'NIQE', 'FADE'}
    assert isinstance(result.metrics['MI'], float) and result.metrics['MI'] > 0
    # 64 px is too small for NIQE; without its parameter file (no ../shared, an offline pyiqa
    # cache) that is the reason given first
    assert result.metrics['NIQE'] in (
        'not computed: NIQE needs images of at least 192×192 pixels',
        'not computed: parameter file niqe_modelparameters.mat not found')


def test_bad_input_is_one_message(runner, pair, tmp_path):
    vis, ir = pair
    text = tmp_path / 'notes.txt'
    text.write_text('not an image')
    grey = cv2.imread(ir, cv2.IMREAD_UNCHANGED)
    small = _write(tmp_path / 'small_ir.png', grey[:32])
    colour = _write(tmp_path / 'colour_ir.png', cv2.imread(vis))
    equal = _write(tmp_path / 'grey3_ir.png', np.repeat(grey[..., None], 3, 2))
    cases = {
        (vis, None): 'Give both images: the hazy visible image (VIS) and its infrared partner '
                     '(IR).',
        (vis, str(text)): 'IR file notes.txt is not an image that can be read (png, jpg, jpeg, '
                          'bmp, tif, tiff).',
        (vis, small): 'The images differ in size: VIS synthetic_thermal_0_vis.png is 64×64, IR '
                      'small_ir.png is 64×32 (W×H); the two must be pixel-registered.',
        (vis, colour): 'IR file colour_ir.png has three different colour channels: an infrared '
                       'image is grey (one channel, or three equal ones). Did you swap VIS and '
                       'IR?',
    }
    for (v, i), message in cases.items():
        result = runner.run_pair(AVERAGE, v, i)
        assert result.error == message and result.fused is None
    # a grey IR stored as three equal channels (TNO) is an IR image
    result = runner.run_pair(AVERAGE, vis, equal, metrics=False)
    assert result.error is None
    np.testing.assert_array_equal(result.fused, runner.run_pair(AVERAGE, vis, ir,
                                                                metrics=False).fused)


def test_a_model_that_fails_is_one_message(runner, pair, tmp_path):
    broken = demo_models.DemoModel('broken', str(AVERAGE.config), 'trained',
                                   checkpoint=str(tmp_path / 'missing.pth'))
    result = runner.run_pair(broken, *pair)
    assert result.error.startswith('broken could not run: ') and 'missing.pth' in result.error
    assert '\n' not in result.error


def test_model_menu_and_trained_work_dirs(tmp_path, monkeypatch):
    empty = tmp_path / 'no_shared'
    empty.mkdir()
    monkeypatch.setenv('MMHAZE_SHARED_DATA', str(empty))
    work = tmp_path / 'work_dirs' / 'demo' / '20260101_000000'
    work.mkdir(parents=True)
    (work / 'demo_synthetic.py').write_text('')
    (work / 'iter_4.pth').write_bytes(b'')
    (work / 'last_checkpoint').write_text(str(work / 'iter_4.pth'))
    models = demo_models.available_models(work_dirs=[str(tmp_path / 'work_dirs')])
    assert [m.kind for m in models] == ['training-free'] * 4 + ['trained']
    assert models[-1].checkpoint == str(work / 'iter_4.pth')
    assert models[-1].name == 'demo_synthetic (trained: demo/20260101_000000/iter_4.pth)'
    # a release given by hand makes its zoo entries appear (alone and behind the DCP)
    sea = tmp_path / 'SeAFusion.pth'
    sea.write_bytes(b'')
    names = [m.name for m in demo_models.available_models(releases={'seafusion': str(sea)})]
    assert names[4:] == ['SeAFusion (release, fusion only)', 'DCP → SeAFusion (release)']


def test_the_cache_is_never_inside_the_repository():
    with pytest.raises(ValueError, match='inside the repository'):
        demo_models.DemoRunner(str(REPO_ROOT / 'work_dirs' / 'cache'))


@pytest.mark.shared_data('zoo/seafusion/SeAFusion.pth')
def test_zoo_release_is_converted_once_into_the_cache(tmp_path, pair):
    from mmhaze.apis import FusionInferencer
    runner = demo_models.DemoRunner(str(tmp_path / 'cache'))
    model = next(m for m in demo_models.available_models() if m.name == 'DCP → SeAFusion '
                                                                         '(release)')
    result = runner.run_pair(model, *pair, metrics=False)
    converted = tmp_path / 'cache' / 'zoo' / 'seafusion.pth'
    assert result.error is None and converted.is_file()
    expected = FusionInferencer(runner.config(model), str(converted), device='cpu')(*pair)
    np.testing.assert_array_equal(result.fused, expected['fused'])
    np.testing.assert_array_equal(result.dehazed, expected['dehazed'])
    # the fuser alone, from the same converted file: no dehazed image, never converted again
    stamp = converted.stat().st_mtime_ns
    alone = next(m for m in demo_models.available_models() if m.name == 'SeAFusion (release, '
                                                                         'fusion only)')
    result = demo_models.DemoRunner(str(tmp_path / 'cache')).run_pair(alone, *pair,
                                                                        metrics=False)
    assert result.error is None and result.dehazed is None and result.fused.shape == (64, 64, 3)
    assert converted.stat().st_mtime_ns == stamp


def test_every_zoo_entry_names_a_config_a_converter_and_a_release_file():
    """The menu's zoo lists the single-file releases of the model zoo: each names configs and a
    converter that exist, and (with ../shared) its release file is found."""
    from mmhaze.utils import shared_data_dir
    assert len(demo_models.ZOO_MODELS) == 13
    for title, key, alone, behind_dcp in demo_models.ZOO_MODELS:
        release = demo_models.ZOO_RELEASES[key]
        assert (REPO_ROOT / alone).is_file() and (behind_dcp is None
                                                  or (REPO_ROOT / behind_dcp).is_file()), title
        assert (REPO_ROOT / 'tools' / 'model_converters' / f'{release.converter}.py').is_file()
        if (shared_data_dir() / 'zoo').is_dir():
            assert demo_models.find_release(release, None) is not None, title
