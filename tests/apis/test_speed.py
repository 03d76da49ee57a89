"""Inference speed paths give the model's outputs: fast eager form, compiled networks, caches.

Speed itself is a benchmark figure (tools/analysis_tools/benchmark.py, docs/speed.md), never
a timed test.
"""
import os
import subprocess
import sys
from collections import Counter

import pytest
import torch
import torch.nn as nn
from fixtures import model_fixtures as mf

from mmhaze.apis.speed import (
    AutoCompile,
    CompileEstimate,
    CompileRecords,
    channels_last_weights,
    compile_mode,
    compile_networks,
    compile_pays_back,
    dataset_image_sizes,
    default_compile_estimate,
    loader_size_counts,
    networks,
    padded_size_counts,
    prepare_for_inference,
    retain_freed_memory,
)
from mmhaze.models.backbones import WindowAttentionEncoderBlock, WindowSelfAttention
from mmhaze.models.utils import set_fused_forms


def _fixture_model(name):
    fixture, model = mf.load_fixture_model(name)
    return fixture, model.eval()


@pytest.mark.parametrize('name', ['iassf_official', 'iassf_tiny'])
@pytest.mark.parametrize('every_size', [False, True])
def test_fast_inference_form_matches_the_fixture_within_1e_5(name, every_size, monkeypatch):
    if every_size:  # the blocks' fast form even on these small maps (by default: large ones)
        from mmhaze.models.backbones import inference_kernels
        monkeypatch.setattr(inference_kernels, 'FAST_FORM_MIN_ELEMENTS', 0)
    fixture, model = _fixture_model(name)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    prepare_for_inference(model)
    # Same weights and keys; convolution weights now channels-last; every attention fused.
    after = model.state_dict()
    assert sorted(after) == sorted(before)
    assert all(torch.equal(after[k], before[k]) for k in before)
    conv = model.dehazer.restoration_head.patch_embed.proj.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    attention = [m for m in model.modules() if isinstance(m, WindowSelfAttention)]
    assert attention and all(m.fused for m in attention)
    assert model.dehazer.restoration_head.fast_inference  # and every block
    data = mf.fixture_batch(*mf.CASES[name][1:])
    with torch.no_grad():
        batch = model.data_preprocessor(data, training=False)
        inputs = batch['inputs']
        outputs = model.forward_networks(inputs, model.batch_fields(inputs, None))
    for key, ref in fixture['outputs'].items():
        diff = (outputs[key] - ref).abs().max().item()
        assert diff <= 1e-5, (key, diff)
    # Not bit for bit: the fused kernel sums in another order (that is why it is opt-in).
    assert max((outputs[k] - fixture['outputs'][k]).abs().max().item()
               for k in ('dehazed', 'fused')) > 0


def test_fused_attention_matches_and_trains():
    torch.manual_seed(0)
    attn = WindowSelfAttention(dim=12, window_size=4, num_heads=3)
    qkv = torch.randn(5, 16, 36, requires_grad=True)
    ref = attn(qkv)
    assert set_fused_forms(attn) == 1 and attn.fused
    out = attn(qkv)
    assert (out - ref).abs().max().item() < 1e-6
    out.square().sum().backward()  # gradients reach the inputs and the bias MLP
    assert qkv.grad.abs().sum() > 0
    assert all(p.grad is not None for p in attn.position_bias_mlp.parameters())


def test_position_bias_is_cached_without_grad_and_follows_weight_changes():
    torch.manual_seed(0)
    attn = WindowSelfAttention(dim=8, window_size=4, num_heads=2)
    with torch.no_grad():
        first = attn.position_bias()
        assert attn.position_bias() is first  # reused
        attn.position_bias_mlp[2].bias.add_(1.0)  # an in-place update (optimiser, loading)
        changed = attn.position_bias()
    assert changed is not first
    assert torch.allclose(changed, first + 1.0, atol=1e-6)
    trained = attn.position_bias()  # with gradients: recomputed, part of the graph
    assert trained.requires_grad and trained is not changed
    assert torch.equal(trained.detach(), changed)


def test_channels_last_weights_and_networks():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU()))
    assert channels_last_weights(model) == 2
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    # Networks to compile: children with parameters and submodules (not a lone layer).
    assert [name for name, _ in networks(model)] == ['1']


class _TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = WindowAttentionEncoderBlock(3, 8, num_heads=2, window_size=4)
        self.head = nn.Conv2d(8, 3, 1)

    def forward(self, x):
        return self.head(self.block(x))


def test_compiled_networks_match_eager():
    # One small graph: inductor needs tens of seconds per graph on 2 CPU cores.
    torch.manual_seed(0)
    model = prepare_for_inference(_TinyNet().eval())
    x = torch.randn(1, 3, 12, 16)
    keys = sorted(model.state_dict())
    with torch.no_grad():
        eager = model(x)
        assert compile_networks(model) == ['block']
        compiled = model(x)
        again = model(x)
    assert sorted(model.state_dict()) == keys  # compiled in place: same keys
    assert (compiled - eager).abs().max().item() < 1e-5
    assert torch.equal(compiled, again)
    if torch.backends.mkldnn.is_available():  # frozen weights: oneDNN pre-packed convolutions
        with torch.no_grad(), torch.profiler.profile() as prof:
            model(x)
        assert any(e.key.startswith('mkldnn::_convolution_pointwise')
                   for e in prof.key_averages())


def test_spade_fused_form_matches_and_trains():
    from mmhaze.models.generators.spade_generator import SPADE
    torch.manual_seed(0)
    spade = SPADE(16, label_channels=5, hidden_channels=8, padding_mode='reflect')
    x = (torch.randn(2, 16, 24, 20) * 3 + 1).requires_grad_()
    label = torch.randn(2, 5, 6, 5).softmax(1)
    ref = spade(x, label)
    assert set_fused_forms(spade) == 1
    out = spade(x, label)
    assert (out - ref).abs().max().item() < 2e-6
    out.square().sum().backward()  # the stacked γ/β weights are built from the parameters
    assert spade.gamma.weight.grad.abs().sum() > 0 and spade.beta.bias.grad.abs().sum() > 0
    channels_last_weights(spade)
    x_cl = x.detach().contiguous(memory_format=torch.channels_last)
    with torch.no_grad():  # channels-last instance norm: column means of the (H·W)×C rows
        cl = spade(x_cl, label)
    assert (cl - ref).abs().max().item() < 2e-6
    x_cl.requires_grad_()
    spade(x_cl, label).square().sum().backward()  # the same path with gradients
    assert torch.allclose(x_cl.grad, x.grad, atol=1e-4)


@pytest.mark.parametrize('attention, joint_form', [('joint', 'sum'), ('joint', 'single_softmax'),
                                                   ('self', 'sum'), ('cross', 'sum')])
def test_joint_window_attention_fused_form_matches(attention, joint_form):
    from mmhaze.models.fusion.joint_attention_fusion import JointWindowAttention
    torch.manual_seed(0)
    attn = JointWindowAttention(12, num_heads=3, window_size=4, attention=attention,
                                joint_form=joint_form)
    x_vis, x_nir = torch.randn(6, 16, 12), torch.randn(6, 16, 12)
    ref = attn(x_vis, x_nir)
    assert set_fused_forms(attn) == 1
    out = attn(x_vis, x_nir)
    assert max((o - r).abs().max().item() for o, r in zip(out, ref)) < 1e-6


def test_joint_window_attention_runs_the_flash_kernel_on_cpu():
    """A 3-d bias mask sent CPU dispatch to the unfused math kernel (2.6× slower)."""
    from mmhaze.models.fusion.joint_attention_fusion import JointWindowAttention
    if not hasattr(torch.ops.aten, '_scaled_dot_product_flash_attention_for_cpu'):
        pytest.skip('this torch has no CPU flash attention kernel')
    attn = JointWindowAttention(12, num_heads=3, window_size=4)
    set_fused_forms(attn)
    with torch.no_grad(), torch.profiler.profile() as prof:
        attn(torch.randn(6, 16, 12), torch.randn(6, 16, 12))
    keys = {e.key for e in prof.key_averages()}
    assert 'aten::_scaled_dot_product_flash_attention_for_cpu' in keys, sorted(keys)


def test_hsvf_fast_form_is_as_close_to_float64_as_the_training_form():
    """HSVF's generator (instance norms of randomly initialised features) amplifies float32
    rounding: both forms differ from the float64 forward by ~1e-3 at random weights, so the fast
    form is judged against float64 next to the training form."""
    import copy
    import os.path as osp

    from mmhaze.apis import load_config
    from mmhaze.registry import MODELS
    from mmhaze.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = load_config(osp.join(root, 'configs/hsvf/hsvf_tiny_synthetic.py'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    gen = torch.Generator().manual_seed(0)
    inputs = {'vis': torch.rand(1, 3, 64, 64, generator=gen) * 2 - 1,
              'ir': torch.rand(1, 1, 64, 64, generator=gen) * 2 - 1}

    def forward(net, batch):
        with torch.no_grad():
            return net.forward_networks(batch, net.batch_fields(batch, None))

    ref = forward(model, inputs)
    fast = forward(prepare_for_inference(copy.deepcopy(model)), inputs)
    exact = forward(copy.deepcopy(model).double(), {k: v.double() for k, v in inputs.items()})
    for key in ('seg_logits', 'visual_fused', 'dehazed', 'final_fused'):
        ref_err = (ref[key].double() - exact[key]).abs().max().item()
        fast_err = (fast[key].double() - exact[key]).abs().max().item()
        assert fast_err <= 2 * ref_err + 1e-5, (key, fast_err, ref_err)


def test_batch_norms_fold_into_their_convolutions_and_checkpoints_still_load():
    from mmhaze.models.utils import fold_batch_norms
    torch.manual_seed(0)

    def net():
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                             nn.Conv2d(8, 4, 1, bias=False), nn.BatchNorm2d(4),
                             nn.Conv2d(4, 4, 3, padding=1, padding_mode='reflect'),
                             nn.BatchNorm2d(4))

    model = net()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-1, 1)
    x = torch.randn(2, 3, 10, 12)
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    with torch.no_grad():
        ref = model(x)
    keys = sorted(model.state_dict())
    # The reflect-padded conv is left alone; the other two pairs fold.
    assert fold_batch_norms(model) == 2 and fold_batch_norms(model) == 0
    assert sorted(model.state_dict()) == keys
    with torch.no_grad():
        assert (model(x) - ref).abs().max().item() < 1e-5
    # With gradients it is the plain network, bit for bit.
    with_grad = model(x)
    assert with_grad.requires_grad and torch.equal(with_grad.detach(), ref)
    # A checkpoint loaded after folding (as the Runner loads it, after prepare_for_inference)
    # replaces the cached folded weights.
    other = net().eval()
    fold_batch_norms(other)
    with torch.no_grad():
        before = other(x)  # caches the folded weights of its random parameters
        other.load_state_dict(trained)
        assert (before - ref).abs().max().item() > 1e-2
        assert (other(x) - ref).abs().max().item() < 1e-5
    model.train()
    out = model(x)
    out.sum().backward()
    assert model[1].weight.grad is not None and model[1].running_mean is not None
    # Baked for a model that only predicts: the same numbers as the cached folds, the
    # folded weights in the convolutions, identities for the norms.
    from mmhaze.models.utils import bake_folded_batch_norms
    model.eval()
    with torch.no_grad():
        folded = model(x)
        assert bake_folded_batch_norms(model) == 2 and bake_folded_batch_norms(model) == 0
        assert torch.equal(model(x), folded)
    assert [type(m).__name__ for m in model] == ['Conv2d', 'Identity', 'ReLU', 'Conv2d',
                                                 'Identity', 'Conv2d', 'BatchNorm2d']
    assert model[3].bias is not None and len(model.state_dict()) == len(keys) - 10 + 1


def test_an_inferencer_bakes_the_folds_of_the_model_it_builds_only():
    """A config-built inferencer owns its model; a model handed to it stays the caller's."""
    import os.path as osp

    from helpers import REPO_ROOT

    from mmhaze.apis import FusionInferencer
    from mmhaze.models.utils.fused_forms import ConvWithFoldedBatchNorm
    from mmhaze.registry import MODELS

    def folded(infer):
        return sum(isinstance(m, ConvWithFoldedBatchNorm) for m in infer.model.modules())
    config = osp.join(REPO_ROOT, 'configs/hsvf/hsvf_tiny_synthetic.py')
    built = FusionInferencer(config, None, device='cpu')
    given = FusionInferencer.from_model(MODELS.build(built.cfg.model), device='cpu')
    assert folded(built) == 0 and folded(given) > 50  # HRNet's conv + norm pairs


# --------------------------------------------------------------------------- auto compile
# The rule and its bookkeeping with fake counts, latencies and costs: no timing, no compiling.


def test_compile_pays_back_rule():
    # 100 more images × (4 s − 3 s) = 100 s saved: pays for 90 s, not for 100 s or 150 s.
    assert compile_pays_back(100, 4.0, 3.0, 90.0)
    assert not compile_pays_back(100, 4.0, 3.0, 100.0)
    assert not compile_pays_back(100, 4.0, 3.0, 150.0)
    assert not compile_pays_back(10_000, 4.0, 4.0, 1.0)  # no gain, never


def test_compile_mode_flags_and_environment(monkeypatch):
    monkeypatch.delenv('MMHAZE_COMPILE', raising=False)
    assert compile_mode() == 'auto'
    assert compile_mode(force=True) == 'on' and compile_mode(disable=True) == 'off'
    for value, mode in (('0', 'off'), ('off', 'off'), ('1', 'on'), ('auto', 'auto')):
        monkeypatch.setenv('MMHAZE_COMPILE', value)
        assert compile_mode() == mode
    monkeypatch.setenv('MMHAZE_COMPILE', 'sometimes')
    with pytest.raises(ValueError, match='MMHAZE_COMPILE'):
        compile_mode()
    with pytest.raises(ValueError, match='exclude'):
        compile_mode(force=True, disable=True)


def test_padded_size_counts():
    counts = padded_size_counts([(480, 640)] * 3 + [(479, 637), (450, 600)], divisor=4)
    assert counts == Counter({(480, 640): 4, (452, 600): 1})


class _FakeModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(3, 3)


class _FakeClock:
    """A clock the fake forwards advance."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _auto(tmp_path, counts, estimate, lines):
    return AutoCompile(_FakeModel(), Counter(counts), estimate,
                       CompileRecords(str(tmp_path / 'records.json')), lines.append, _FakeClock())


def test_auto_compile_decides_per_size_and_records_the_cost(tmp_path):
    lines = []
    auto = _auto(tmp_path, {(480, 640): 102, (64, 64): 3},
                 CompileEstimate(compiled_ratio=0.75, compile_seconds=50.0, source='test'), lines)
    clock, seen = auto.clock, []

    def forward(inputs):  # eager 4 s; compiled 3 s; the first compiled call compiles (60 s)
        seen.append(auto._active)
        clock.now += (3.0 + (60.0 if seen.count(True) == 1 else 0.0)) if auto._active else 4.0
        return inputs

    big, small = {'vis': torch.zeros(1, 3, 480, 640)}, {'vis': torch.zeros(1, 3, 64, 64)}
    for _ in range(4):
        auto.run(forward, big)
    # Two calls eager, the second timed; 100 more × (4 − 3) = 100 s > 50 s: the next compiled.
    assert seen == [False, False, True, True] and auto.decisions == {(480, 640): True}
    assert '100 more forward(s) × (4.00 s eager − 3.00 s compiled) > 50 s' in lines[0]
    assert 'compiling took ~60 s' in lines[1]  # 63 s first compiled call − 3 s expected
    record = auto.records.get(CompileRecords.key(auto.model, (480, 640)))
    assert record == dict(compile_seconds=60.0, compiled_seconds=3.0, eager_seconds=4.0)
    # 1 more small image can never pay 50 s: eager, said once.
    for _ in range(3):
        auto.run(forward, small)
    assert seen[4:] == [False, False, False] and not auto.decisions[(64, 64)]
    assert '→ eager' in lines[2] and len(lines) == 3
    # A size the run was not told about runs eagerly and undecided.
    auto.run(forward, {'vis': torch.zeros(1, 3, 32, 32)})
    assert seen[-1] is False and (32, 32) not in auto.decisions


def test_auto_compile_uses_an_earlier_runs_record(tmp_path):
    lines = []
    # The default estimate (cold cache: 500 s) says no; the recorded warm-cache cost says yes.
    auto = _auto(tmp_path, {(480, 640): 31}, CompileEstimate(0.75, 500.0, 'default'), lines)
    key = CompileRecords.key(auto.model, (480, 640))
    auto.records.put(key, compile_seconds=20.0, compiled_seconds=3.0, eager_seconds=4.0)
    assert auto.decide((480, 640), eager_seconds=4.0)  # 31 × (4 − 3) > 20
    assert 'measured earlier' in lines[-1]
    auto.remaining[(480, 640)] = 19
    assert not auto.decide((480, 640), eager_seconds=4.0)  # 19 × 1 ≤ 20


def test_default_estimate_expects_no_gain_for_the_fast_form():
    # Compiled graphs trace the reference form: no faster than the blocks' fast eager form.
    model = _TinyNet().eval()
    assert default_compile_estimate(model).compiled_ratio < 1.0
    prepare_for_inference(model)
    assert default_compile_estimate(model).compiled_ratio == 1.0
    assert not compile_pays_back(10_000, 4.0, 4.0 * default_compile_estimate(model).compiled_ratio,
                                 default_compile_estimate(model).compile_seconds)


def test_compile_records_survive_a_broken_file(tmp_path):
    path = tmp_path / 'records.json'
    path.write_text('{not json')
    records = CompileRecords(str(path))
    default = CompileEstimate(0.5, 100.0, 'test')
    assert records.estimate('k', default) is default
    records.put('k', compile_seconds=1.0, compiled_seconds=2.0, eager_seconds=4.0)
    assert records.estimate('k', default).compiled_ratio == 0.5


class _Dataset:
    """A test dataset's surface as the size count reads it."""

    def __init__(self, paths, transforms=('LoadFusionImages', 'PackFusionInputs')):
        self.paths = paths
        steps = [type(name, (), {})() for name in transforms]  # named like the transforms
        self.pipeline = type('Compose', (), {'transforms': steps})()

    def __len__(self):
        return len(self.paths)

    def get_data_info(self, index):
        return dict(vis_path=self.paths[index])


def test_image_sizes_from_file_headers(tmp_path):
    from PIL import Image
    paths = []
    for i, (w, h) in enumerate([(64, 48), (64, 48), (30, 20)]):
        paths.append(str(tmp_path / f'{i}.png'))
        Image.new('RGB', (w, h)).save(paths[-1])
    assert dataset_image_sizes(_Dataset(paths)) == [(48, 64), (48, 64), (20, 30)]
    # A resizing transform makes the sizes unknown: the run stays eager.
    assert dataset_image_sizes(_Dataset(paths, ('LoadFusionImages', 'ResizeToMultiple'))) is None
    loader = type('Loader', (), {'dataset': _Dataset(paths), 'batch_size': 1})()
    assert loader_size_counts(loader, divisor=8) == Counter({(48, 64): 2, (24, 32): 1})
    loader.batch_size = 2  # batches of mixed sizes would be padded to their largest
    assert loader_size_counts(loader) is None
    loader.dataset = _Dataset(paths[:2])
    assert loader_size_counts(loader) == Counter({(48, 64): 1})  # one batch of two


def test_retain_freed_memory_switch(monkeypatch):
    monkeypatch.setenv('MMHAZE_RETAIN_MEMORY', '0')
    assert retain_freed_memory() is False


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc malloc_trim: Linux only')
def test_release_freed_memory_hands_the_heap_back():
    """200 MB of 100 KB blocks (under glibc's mmap threshold: served from the heap) freed below
    a live block stay resident until released."""
    code = '''if True:
        import gc
        from mmhaze.apis.speed import release_freed_memory
        def rss():
            return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20
        blocks = [bytearray(100_000) for _ in range(2000)]
        pin = bytearray(100_000)  # above the freed blocks: the heap's top cannot shrink
        before = rss()
        del blocks; gc.collect()
        freed = rss()
        print(release_freed_memory(), before - freed, before - rss())
    '''
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True, env={**os.environ, 'MALLOC_MMAP_THRESHOLD_': '131072'})
    released, kept_back, after = out.stdout.split()
    assert released == 'True'
    assert float(kept_back) < 20 and float(after) > 150, out.stdout
