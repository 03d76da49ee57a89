"""tools/analysis_tools/benchmark.py: before/after forms of one model in one run, by network."""
import re

from tests.helpers import load_tool

benchmark = load_tool('analysis_tools/benchmark')


def test_the_form_before_fused_forms_is_timed_next_to_eager_with_each_networks_time(capsys):
    code = benchmark.main(['configs/hsvf/hsvf_tiny_synthetic.py', '--shape', '32', '32',
                           '--repeat', '1', '--warmup', '1', '--channels-last-only',
                           '--by-network'])
    assert code == 0
    out = capsys.readouterr().out
    assert re.search(r'32×32 channels-last-only: mean \d+ ms, median \d+ ms, [\d.]+× eager', out)
    for form in ('channels-last-only', 'eager'):
        line = re.search(rf'32×32 {form} parts: (.*)', out)[1]
        networks = dict(re.findall(r'(\w+) ([\d.]+) s \(', line))
        assert set(networks) == {'semantic', 'generator', 'visual', 'final'}, line
