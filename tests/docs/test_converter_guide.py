"""docs/model_zoo.md's converter example, executed: the page's file is written out as shown and
converts a fake release made from a random AOD-Net (keys renamed the release's way, saved from
``nn.DataParallel``); a release missing a tensor is refused in one line, nothing written."""
import importlib.util
import re

import torch
from helpers import REPO_ROOT

from mmhaze.models.dehazers import AODNet
from mmhaze.registry import MODELS

EXAMPLE = 'tools/model_converters/aodnet_layers_official_to_mmhaze.py'


def example_converter(tmp_path):
    blocks = re.findall(r'```python\n(.*?)```', (REPO_ROOT / 'docs/model_zoo.md').read_text(),
                        flags=re.S)
    code = next(b for b in blocks if b.startswith(f'# {EXAMPLE}\n'))
    path = tmp_path / 'example_converter.py'
    path.write_text(code)
    spec = importlib.util.spec_from_file_location('example_converter', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_guide_converter_converts_a_release_and_refuses_an_incomplete_one(tmp_path, capsys):
    converter = example_converter(tmp_path)
    torch.manual_seed(0)
    net = AODNet()
    release = {f'module.layers.{int(k[4]) - 1}.{k.split(".")[1]}': v.clone()
               for k, v in net.state_dict().items()}
    assert len(release) == 10
    src, dst = tmp_path / 'aod.pth', tmp_path / 'aod_mmhaze.pth'
    torch.save(release, src)
    assert converter.main([str(src), str(dst)]) == 0
    assert 'wrote' in capsys.readouterr().out
    ckpt = torch.load(dst, weights_only=True)
    assert ckpt['meta'] == dict(converted_from='aod.pth', network='AODNet',
                                source='someone/aodnet-layers @ 0123abc')
    model = MODELS.build(dict(type='TwoStageDehazeFuse', dehazer=dict(type='AODNet')))
    model.load_state_dict(ckpt['state_dict'], strict=True)
    for key, value in net.state_dict().items():
        assert torch.equal(model.dehazer.state_dict()[key], value)
    assert sum(v.numel() for v in ckpt['state_dict'].values()) == 1_761

    del release['module.layers.4.bias']
    torch.save(release, src)
    assert converter.main([str(src), str(tmp_path / 'out.pth')]) == 1
    err = capsys.readouterr().err
    assert "mmhaze key 'dehazer.conv5.bias' has no checkpoint tensor" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / 'out.pth').exists()
