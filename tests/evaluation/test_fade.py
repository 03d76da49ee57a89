"""FADE: the release's example images, hazy vs clear synthetic renders, hand-checkable parts."""
import csv
import math

import pytest
import torch

from mmhaze.evaluation.functional.fade import fade, fade_features, load_fade_models, nanvar

FADE_MODELS = ('fade/natural_fogfree_image_features_ps8.mat',
               'fade/natural_foggy_image_features_ps8.mat')


@pytest.fixture(scope='module')
def models(shared_data):
    return load_fade_models(shared_data / 'fade')


@pytest.mark.shared_data(*FADE_MODELS, 'fade/reference_values.csv')
def test_release_example_images(shared_data, models):
    import cv2
    rows = list(csv.DictReader(open(shared_data / 'fade' / 'reference_values.csv')))
    assert len(rows) == 3
    for row in rows:
        img = cv2.imread(str(shared_data / 'fade' / row['image']), cv2.IMREAD_COLOR)[..., ::-1]
        x = torch.from_numpy(img.copy()).permute(2, 0, 1)[None]
        # 2e-7 here; 1e-4 still catches a change of FADE's arithmetic on flat windows (making
        # constant windows exact moved test_image1 by 5.6e-4: the release's values carry
        # MATLAB's rounding there)
        assert fade(x, models=models).item() == pytest.approx(float(row['FADE']), rel=1e-4)


@pytest.mark.shared_data(*FADE_MODELS)
def test_hazy_renders_score_higher_than_clear(models):
    from mmhaze.datasets.synthetic_scene import render_scene
    hazy, clear = [], []
    for i in range(3):
        scene = render_scene(i, 11, (96, 128))
        hazy.append(torch.from_numpy(scene.hazy_vis).permute(2, 0, 1))
        clear.append(torch.from_numpy(scene.clear_vis).permute(2, 0, 1))
    to8 = lambda t: torch.round(torch.stack(t).clamp(0, 1) * 255)  # noqa: E731
    d_hazy, d_clear = fade(to8(hazy), models=models), fade(to8(clear), models=models)
    assert (d_hazy > d_clear).all(), (d_hazy, d_clear)
    # batched = per image
    single = torch.cat([fade(to8(hazy[i:i + 1]), models=models) for i in range(3)])
    assert torch.allclose(d_hazy, single, rtol=1e-12)


def test_features_of_a_flat_gray_image():
    """A uniform gray 16×16 image, feature by feature (before log(1 + f)). The pair-product
    variances (features 1, 2) are left out: rounding noise of σ ≈ 1e-6 decides their sign."""
    x = torch.full((1, 3, 16, 16), 100.0, dtype=torch.float64)
    raw = torch.exp(fade_features(x)[0]) - 1  # 4 patches × 12
    keep = [0, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    expected = [0, 0, 0,                # MSCN var, mean σ, mean σ/μ
                0, 0, 0,                # no contrast energy
                0,                      # one gray level: entropy 0
                100 / 255, 0, 0]        # dark channel, saturation, colourfulness
    assert torch.allclose(raw[:, keep], torch.tensor(expected, dtype=torch.float64).expand(4, 10),
                          atol=1e-5)


def test_features_hand_checkable_colour_and_entropy():
    x = torch.zeros(1, 3, 16, 16, dtype=torch.float64)
    x[:, 0] = 200.0                         # pure red
    x[:, :, :, ::2] = 0.0                   # black every other column
    raw = torch.exp(fade_features(x)[0]) - 1
    assert torch.allclose(raw[:, 10], torch.full((4,), 0.5, dtype=torch.float64))  # saturation
    assert torch.allclose(raw[:, 8], torch.ones(4, dtype=torch.float64))  # two levels: 1 bit
    assert torch.allclose(raw[:, 9], torch.zeros(4, dtype=torch.float64))  # dark channel 0
    # colourfulness: rg ∈ {0, 200}, by ∈ {0, 100}: sqrt(var(rg)+var(by)) + 0.3·|mean|
    var = lambda v: v * v / 4 * 64 / 63  # noqa: E731  two equal halves, N−1
    expected = math.sqrt(var(200) + var(100)) + 0.3 * math.sqrt(100 ** 2 + 50 ** 2)
    assert torch.allclose(raw[:, 11], torch.full((4,), expected, dtype=torch.float64))


def test_nanvar_follows_matlab():
    nan = float('nan')
    x = torch.tensor([[1.0, 3.0, nan], [5.0, nan, nan], [nan, nan, nan]], dtype=torch.float64)
    v = nanvar(x)
    assert v[0].item() == pytest.approx(2.0) and v[1].item() == 0.0 and math.isnan(v[2].item())


@pytest.mark.shared_data(*FADE_MODELS)
def test_bad_input(tmp_path, models):
    with pytest.raises(ValueError, match='at least 16×16'):
        fade(torch.zeros(1, 3, 12, 40), models=models)
    with pytest.raises(FileNotFoundError, match='natural_fogfree_image_features_ps8.mat'):
        load_fade_models(tmp_path)
    gen = torch.Generator().manual_seed(0)
    gray = torch.randint(0, 256, (1, 1, 24, 24), generator=gen).float()
    rgb = gray.expand(1, 3, 24, 24)
    assert fade(gray, models=models).item() == fade(rgb, models=models).item()  # replicated
    bad = torch.randint(0, 256, (2, 3, 24, 24), generator=gen).float()
    bad[1, 0, 0, 0] = float('inf')
    out = fade(bad, models=models)
    assert math.isfinite(out[0].item()) and math.isnan(out[1].item())


def test_missing_model_files_are_one_line_in_the_tools(tmp_path, capsys):
    """Without the LIVE FADE files a tool prints one `error:` line naming the file and where to
    put it, and exits 2 (no traceback): the config's FADE metric is built before training."""
    from mmhaze.utils import MissingFileError, report_user_errors
    with pytest.raises(MissingFileError, match='natural_fogfree_image_features_ps8.mat'):
        load_fade_models(tmp_path)

    def run() -> int:
        load_fade_models(tmp_path)
        return 0
    assert report_user_errors(run) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('error: FADE model file ')
    assert 'LIVE FADE release' in err[0]
