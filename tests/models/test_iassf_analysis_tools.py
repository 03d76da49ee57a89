"""get_flops.py and benchmark.py on the tiny IASSF config (the figures of the README)."""
from helpers import REPO_ROOT, load_tool

get_flops = load_tool('analysis_tools/get_flops')
benchmark = load_tool('analysis_tools/benchmark')
TINY = str(REPO_ROOT / 'configs/iassf/iassf_tiny_synthetic.py')


def test_get_flops_counts_parameters_pools_and_macs_per_part():
    model = get_flops.build_model(TINY)
    rows = get_flops.report(TINY, [(32, 32), (64, 64)], model=model)
    total = sum(p.numel() for p in model.parameters())
    pools = model.dehazer.restoration_prompt.pool.prompts.numel() + \
        model.fuser.prompt_generator.pool.prompts.numel()
    names = dict(get_flops.model_parts(model))
    assert {'dehazer.encoder', 'dehazer.restoration_head', 'fuser.blocks'} <= set(names)
    for row in rows:
        assert row['params'] == total and row['params_without_pools'] == total - pools
        parts = sum(v for k, v in row.items() if k in names)
        assert abs(parts - row['total']) < 1e-6 * max(row['total'], 1)
    # Convolutions and attention scale with the number of pixels (4× here).
    assert 3.5 < rows[1]['total'] / rows[0]['total'] < 4.5


def test_get_flops_matches_the_official_figure_of_the_release(capsys):
    assert get_flops.main([str(REPO_ROOT / 'configs/iassf/iassf_official_msrs.py'),
                           '--shape', '256', '256']) == 0
    out = capsys.readouterr().out
    # The release's model counts 17.3 GMACs at 256² with the same counter (reference notes);
    # the haze density adds none (its box means are integral images, not convolutions).
    assert '| 256×256 | 11,197,422 | 1,367,022 | 17.32 |' in out


def test_benchmark_reports_latency_and_the_haze_density_share():
    model = get_flops.build_model(TINY)
    result = benchmark.benchmark(model, 32, 40, repeat=2, warmup=1)
    assert result['mean_ms'] > 0 and result['shape'] == (32, 40)
    shares = result['shares']
    assert {'dehazer.haze_density', 'dehazer.restoration_head', 'fuser.blocks',
            'dehazer.encoder'} <= set(shares)
    assert 0 < shares['dehazer.haze_density'] < 1 and sum(shares.values()) <= 1.0 + 1e-6
