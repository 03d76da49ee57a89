"""The fusion metrics against the MATLAB toolbox values, identities, hand-checkable cases,
batching and precision, and bad input."""
import csv
import math

import pytest
import torch

from mmhaze.evaluation.functional import (
    average_gradient,
    correlation_coefficient,
    entropy,
    fusion_ssim,
    metric_spec,
    mutual_information,
    qabf,
    qcv,
    rgb_to_gray,
    scd,
    spatial_frequency,
    standard_deviation,
    vif,
    viff,
    vifp,
)
from mmhaze.evaluation.functional.image_ops import conv2, fspecial_gaussian
from mmhaze.evaluation.metrics import DEFAULT_FUSION_METRICS


def _read(path):
    import cv2
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1].copy()
    return torch.from_numpy(img).permute(2, 0, 1)[None].double()


@pytest.fixture(scope='module')
def tno(shared_data):
    root = shared_data / 'tno_anchor'
    rows = list(csv.DictReader(open(root / 'reference_metrics.csv')))
    pairs = {r['image']: tuple(_read(root / d / r['image']) for d in ('ir', 'vi', 'fused'))
             for r in rows}
    return rows, pairs


@pytest.mark.shared_data('tno_anchor')
def test_tno_anchor_matlab_values(tno):
    rows, pairs = tno
    for row in rows:
        a, b, f = pairs[row['image']]
        assert entropy(f).item() == pytest.approx(float(row['EN']), abs=1e-6)
        assert scd(f, a, b).item() == pytest.approx(float(row['SCD']), abs=1e-6)
        assert mutual_information(f, a, b, saturate_255=True).item() == pytest.approx(
            float(row['MI']), abs=1e-6)
        assert qabf(f, a, b).item() == pytest.approx(float(row['Qabf']), abs=1e-3)
        assert average_gradient(f).item() == pytest.approx(float(row['AG']), abs=1e-4)
        # without the saturation quirk MI is 0.020–0.034 lower on these images
        drop = float(row['MI']) - mutual_information(f, a, b).item()
        assert 0.015 < drop < 0.035


@pytest.mark.shared_data('tno_anchor')
def test_tno01_other_metrics_regression(tno):
    """TNO 01 values of the independent re-implementation in the reference notes (§5 A1)."""
    a, b, f = tno[1]['01.png']
    assert standard_deviation(f).item() == pytest.approx(48.149, abs=1e-3)
    assert spatial_frequency(f).item() == pytest.approx(12.803, abs=1e-3)
    assert vif(f, a, b).item() == pytest.approx(0.6314, abs=1e-4)
    assert viff(f, a, b).item() == pytest.approx(0.4559, abs=1e-4)
    assert qcv(f, a, b).item() == pytest.approx(620.45, abs=0.01)
    assert fusion_ssim(f, a, b, data_range=2).item() == pytest.approx(0.9968, abs=1e-4)
    assert fusion_ssim(f, a, b).item() == pytest.approx(1.3814, abs=1e-4)


@pytest.mark.shared_data('tno_anchor')
def test_trivial_fusion_and_identities(tno):
    a3, b3, _ = tno[1]['01.png']
    a, b = rgb_to_gray(a3), rgb_to_gray(b3)
    f = torch.round((a + b) / 2)  # numpy-style round half to even, as the notes' re-implementation
    expected = dict(EN=6.2484, SD=23.316, SF=6.6722, MI=2.0991, SCD=1.7660, Qabf=0.3311,
                    VIF=0.5083, VIFF=0.3001, Qcv=1387.2)
    for key, value in expected.items():
        spec = metric_spec(key)
        got = (spec.function(f, a, b) if spec.needs_sources else spec.function(f)).item()
        assert got == pytest.approx(value, abs=1.5e-4 * max(1.0, abs(value))), key
    assert mutual_information(f, a, b, base=math.e).item() == pytest.approx(1.4550, abs=1e-4)
    # identities
    assert mutual_information(a, a, a).item() == pytest.approx(2 * entropy(a).item(), abs=1e-9)
    assert mutual_information(a, a, a).item() == pytest.approx(14.1136, abs=1e-4)
    assert vifp(a, a).item() == pytest.approx(1.0, abs=1e-9)
    assert qcv(a, a, a).item() == 0.0
    assert qabf(a, a, a).item() == pytest.approx(0.9753, abs=1e-4)


def test_hand_checkable_values():
    # two levels, half each: 1 bit; constant: 0 bits
    half = torch.zeros(1, 1, 4, 4, dtype=torch.float64)
    half[..., :2] = 200
    assert entropy(half).item() == pytest.approx(1.0)
    assert entropy(torch.full((1, 1, 4, 4), 7.0)).item() == 0.0
    # SD of {0, 200}: 100 (population)
    assert standard_deviation(half).item() == pytest.approx(100.0)
    # one step of 200 between columns 1 and 2: RF² = 200²·4/12, CF² = 0
    assert spatial_frequency(half).item() == pytest.approx(200 / math.sqrt(3))
    assert spatial_frequency(half, 'pixels').item() == pytest.approx(200 * math.sqrt(4 / 16))
    # horizontal ramp of slope 1: Gx = 1, Gy = 0 everywhere → AG = 16·sqrt(1/2)/9
    ramp = torch.arange(4, dtype=torch.float64).repeat(4, 1)[None, None]
    assert average_gradient(ramp).item() == pytest.approx(16 * math.sqrt(0.5) / 9)
    # MI in nats = bits · ln 2
    rng = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (2, 1, 40, 50), generator=rng).double()
    y = torch.randint(0, 256, (2, 1, 40, 50), generator=rng).double()
    z = torch.floor((x + y) / 2)
    assert torch.allclose(mutual_information(z, x, y, base=math.e),
                          mutual_information(z, x, y) * math.log(2))
    # SCD, CC of F = A + B with independent A, B: corr(B, B) + corr(A, A) = 2
    assert scd(x + y, x, y).allclose(torch.full((2,), 2.0, dtype=torch.float64))
    assert correlation_coefficient(x, x, x).allclose(torch.ones(2, dtype=torch.float64))


def test_matlab_filters():
    # fspecial sums to 1 and is symmetric; conv2 'same' with an even kernel keeps MATLAB's
    # centre: conv2([1 2 3 4], [1 1], 'same') = [3 5 7 4]
    g = fspecial_gaussian(7, 7 / 6)
    assert g.sum().item() == pytest.approx(1.0) and torch.equal(g, g.t())
    x = torch.tensor([[[[1.0, 2.0, 3.0, 4.0]]]], dtype=torch.float64)
    out = conv2(x, torch.tensor([1.0, 1.0], dtype=torch.float64))
    assert out.flatten().tolist() == [3.0, 5.0, 7.0, 4.0]


def _random_triplets(n=3, h=48, w=56, seed=1):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randint(0, 256, (n, 1, h, w), generator=gen).double()
    b = torch.randint(0, 256, (n, 3, h, w), generator=gen).double()
    b = torch.nn.functional.avg_pool2d(b, 3, 1, 1).round()  # some spatial structure
    f = torch.floor((a + rgb_to_gray(b)) / 2 + 0.5)
    return f, a, b


@pytest.mark.parametrize('key', DEFAULT_FUSION_METRICS)
def test_batched_equals_per_image_and_float32_tolerance(key):
    f, a, b = _random_triplets()
    spec = metric_spec(key)
    call = spec.function if spec.needs_sources else (lambda *t: spec.function(t[0]))
    batched = call(f, a, b)
    single = torch.cat([call(f[i:i + 1], a[i:i + 1], b[i:i + 1]) for i in range(len(f))])
    assert batched.shape == (3,)
    assert torch.allclose(batched, single, rtol=1e-12, atol=0)
    # documented float32 tolerance: 1e-4 relative (VIF/VIFF/SSIM filter sums lose digits);
    # the values themselves are float64 (final sums in float64)
    f32 = call(f.float(), a.float(), b.float())
    assert f32.dtype == torch.float64
    assert torch.allclose(f32, batched, rtol=1e-4, atol=1e-6)


def test_color_modes():
    f, a, b = _random_triplets(n=2)
    fc = torch.cat([f, f, f], 1)
    # per channel of three equal channels = gray of them
    assert torch.allclose(mutual_information(fc, a, b, color='channels'),
                          mutual_information(f, a, b, color='channels'))
    assert torch.allclose(entropy(fc, color='channels'), entropy(f))
    # gray mode converts the colour VIS with rgb2gray first
    assert torch.allclose(scd(f, a, b), scd(f, a, rgb_to_gray(b)))


def test_bad_input():
    f, a, b = _random_triplets(n=2)
    with pytest.raises(ValueError, match='differ in batch or image size'):
        qabf(f, a[..., :40], b)
    with pytest.raises(TypeError, match='not on the 8-bit scale'):
        entropy(torch.zeros(1, 1, 8, 8, dtype=torch.int32))
    with pytest.raises(ValueError, match='B×C×H×W'):
        entropy(torch.zeros(8, 8))
    # uint8 is fine and equals its float version
    assert torch.equal(entropy(f.to(torch.uint8)).double(), entropy(f.float()).double())
    # 1-pixel-wide: SF/AG/VIF refuse with the size, EN/SD still defined
    thin = f[..., :1]
    with pytest.raises(ValueError, match='at least 2×2'):
        spatial_frequency(thin)
    with pytest.raises(ValueError, match='at least 41×41'):
        vif(thin, a[..., :1], b[..., :1])
    assert torch.isfinite(entropy(thin)).all()
    # NaN in one image: NaN for that image only
    bad = f.clone()
    bad[1, 0, 3, 3] = float('nan')
    values = mutual_information(bad, a, b)
    assert torch.isfinite(values[0]) and torch.isnan(values[1])
    # constant images: SCD/CC terms are 0, vifp of a flat source is 1 (CDDFuse); Qcv with
    # flat sources (min-max → 0) and Qabf with all-zero sources are 0/0 = NaN (documented);
    # a flat non-zero source still has edges at the zero-padded border, as in the reference
    flat = torch.full_like(a, 90.0)
    assert scd(f, flat, flat).abs().max().item() == 0.0
    assert vifp(flat, f).tolist() == [1.0, 1.0]
    assert torch.isnan(qcv(f, flat, flat)).all()
    assert torch.isnan(qabf(f, flat * 0, flat * 0)).all()
    assert torch.isfinite(qabf(f, flat, flat)).all()
    assert torch.isfinite(qcv(flat, a, b)).all()
