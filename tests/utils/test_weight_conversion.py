"""Key-mapping conversion of released checkpoints (mmhaze/utils/weight_conversion.py)."""
import os.path as osp

import numpy as np
import pytest
import torch

from mmhaze.utils.weight_conversion import (
    ConversionError,
    convert_tensors,
    is_optimizer_slot,
    is_step_counter,
    read_tf_checkpoint,
    read_torch_state_dict,
    refuse_paths,
    run_converter,
    source_files,
    tf_to_torch,
)

RULES = [(r'^enc/conv([0-9])/(kernel|bias)$',
          lambda m: f'fuser.convs.{m[1]}.{"weight" if m[2] == "kernel" else "bias"}')]
TARGET = {'fuser.convs.0.weight': torch.Size([4, 2, 3, 3]), 'fuser.convs.0.bias': (4,)}


def _tf():
    rng = np.random.default_rng(0)
    return {'enc/conv0/kernel': rng.random((3, 3, 2, 4), dtype=np.float32),
            'enc/conv0/bias': rng.random(4, dtype=np.float32)}


def test_tf_tensors_map_and_kernels_are_transposed():
    tensors = _tf()
    out = convert_tensors(tensors, RULES, TARGET, tf_layout=True)
    assert torch.equal(out['fuser.convs.0.weight'][1, 0],
                       torch.from_numpy(tensors['enc/conv0/kernel'][:, :, 0, 1]))
    assert tf_to_torch(np.zeros((3, 3, 2, 4))).shape == (4, 2, 3, 3)


def test_unmapped_missing_and_misshaped_tensors_are_all_reported():
    tensors = dict(_tf(), **{'enc/extra': np.zeros(2, np.float32)})
    tensors['enc/conv0/bias'] = np.zeros(5, np.float32)
    with pytest.raises(ConversionError) as err:
        convert_tensors(tensors, RULES, dict(TARGET, **{'fuser.convs.1.bias': (4,)}),
                        tf_layout=True)
    text = str(err.value)
    assert "'enc/extra'" in text and 'shape (5,)' in text and "'fuser.convs.1.bias'" in text


def test_optimizer_slots_and_known_unused_tensors_are_dropped_with_a_notice():
    tensors = dict(_tf(), **{'enc/conv0/kernel/Adam': np.zeros((3, 3, 2, 4), np.float32),
                             'beta1_power': np.zeros((), np.float32),
                             'dec/bn/gamma': np.zeros(4, np.float32)})
    notices = []
    out = convert_tensors(tensors, RULES, TARGET, ignore=[r'^dec/bn/'], tf_layout=True,
                          notice=notices.append)
    assert len(out) == 2
    assert 'optimizer slot' in notices[0] and 'does not use' in notices[1]
    assert is_optimizer_slot('x/kernel/Adam_1') and not is_optimizer_slot('global_step')


def test_readers(tmp_path):
    np.savez(tmp_path / 'w.npz', **_tf())
    assert set(read_tf_checkpoint(str(tmp_path / 'w.npz'))) == set(_tf())
    with pytest.raises(FileNotFoundError):
        read_tf_checkpoint(str(tmp_path / 'absent.npz'))
    torch.save({'state_dict': {'module.a': torch.zeros(2)}}, tmp_path / 'w.pth')
    assert list(read_torch_state_dict(str(tmp_path / 'w.pth'))) == ['a']


def test_step_counters_are_dropped_and_counted_only_when_integer_scalars():
    tensors = dict(_tf(), **{'Variable': np.array(1200, np.int32),
                             'enc/conv0/bias/RMSProp': np.zeros(4, np.float32)})
    notices = []
    out = convert_tensors(tensors, RULES, TARGET, tf_layout=True, notice=notices.append)
    assert len(out) == 2
    assert notices == ["dropped 1 optimizer slot tensors and 1 step counter (training state, "
                       "not weights), e.g. 'enc/conv0/bias/RMSProp'"]
    assert is_step_counter('global_step', np.int64(3))
    # a float tensor named like a counter is a weight: it must map
    assert not is_step_counter('Variable', np.zeros(4, np.float32))
    with pytest.raises(ConversionError, match="'Variable'"):
        convert_tensors(dict(_tf(), Variable=np.zeros(4, np.float32)), RULES, TARGET,
                        tf_layout=True)


def test_output_that_is_an_input_is_refused_even_with_force(tmp_path):
    src = tmp_path / 'w.npz'
    np.savez(src, **_tf())
    prefix = tmp_path / 'model.ckpt'
    for ext in ('.index', '.data-00000-of-00001'):
        (tmp_path / f'model.ckpt{ext}').write_bytes(b'')
    assert 'is an input' in refuse_paths(str(src), True, inputs=source_files(str(src)))
    assert 'is an input' in refuse_paths(str(prefix) + '.index', True,
                                         inputs=source_files(str(prefix)))
    assert refuse_paths(str(tmp_path / 'out.pth'), False, inputs=[str(src)]) is None
    assert 'exists' in refuse_paths(str(src), False)


def test_run_converter_takes_several_sources_and_says_where_the_release_comes_from(tmp_path,
                                                                                  capsys):
    first, second = tmp_path / 'a.npz', tmp_path / 'b.npz'
    np.savez(first, **_tf())
    np.savez(second, **{'dec/conv0/kernel': np.zeros((3, 3, 2, 4), np.float32)})

    def convert(a, b):
        return convert_tensors(read_tf_checkpoint(a), RULES, TARGET, tf_layout=True)

    dst = tmp_path / 'out.pth'
    code = run_converter([str(first), str(second), str(dst)], 'test', convert, network='Net',
                         source=lambda a, b: f'release {osp.basename(a)}',
                         sources=(('a', 'first'), ('b', 'second')))
    assert code == 0 and 'converting release a.npz' in capsys.readouterr().out
    meta = torch.load(dst, weights_only=True)['meta']
    assert meta['converted_from'] == 'a.npz + b.npz' and meta['source'] == 'release a.npz'
    assert run_converter([str(first), str(second), str(second), '--force'], 'test', convert,
                         network='Net', source='x', sources=(('a', ''), ('b', ''))) == 2
