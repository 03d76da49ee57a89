"""weights_only-safe checkpoints: conversion, refusing pickled code, opt-in, atomic writes."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from mmhaze.utils import (
    UNSAFE_LOAD_ENV,
    UnsafeCheckpointError,
    from_weights_only_safe,
    safe_torch_load,
    to_weights_only_safe,
)
from mmhaze.utils.fileio import atomic_write_bytes


class _Payload:
    """Unpickling this runs code: it touches a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_history_buffer_round_trip_through_weights_only(tmp_path):
    buf = HistoryBuffer([1.0, 2.0, 4.0], [1, 1, 2], max_length=10)
    ckpt = {'message_hub': {'log_scalars': {'train/loss': buf},
                            'runtime_info': {'iter': np.int64(7), 'arr': np.arange(3)}},
            'meta': {'seed': np.int32(3), 'scale': np.float64(0.5)}}
    safe = to_weights_only_safe(ckpt)
    path = tmp_path / 'c.pth'
    torch.save(safe, path)
    loaded = torch.load(path, weights_only=True)  # the strict loader accepts it
    assert loaded['meta'] == {'seed': 3, 'scale': 0.5}
    assert loaded['message_hub']['runtime_info']['iter'] == 7
    assert torch.equal(loaded['message_hub']['runtime_info']['arr'], torch.arange(3))
    back = from_weights_only_safe(loaded)
    rebuilt = back['message_hub']['log_scalars']['train/loss']
    assert isinstance(rebuilt, HistoryBuffer)
    assert rebuilt.max_length == 10
    np.testing.assert_allclose(rebuilt.data[0], [1.0, 2.0, 4.0])
    np.testing.assert_allclose(rebuilt.data[1], [1, 1, 2])
    assert rebuilt.mean() == pytest.approx(buf.mean())


def test_mmengine_history_buffer_pickle_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv(UNSAFE_LOAD_ENV, raising=False)
    path = tmp_path / 'old.pth'
    torch.save({'message_hub': {'x': HistoryBuffer([1.0], [1])}}, path)
    with pytest.raises(UnsafeCheckpointError, match='--unsafe-load'):
        safe_torch_load(str(path))


def test_pickled_callable_is_refused_without_running(tmp_path, monkeypatch):
    monkeypatch.delenv(UNSAFE_LOAD_ENV, raising=False)
    marker = tmp_path / 'ran'
    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as f:
        pickle.dump({'state_dict': {}, 'x': _Payload(marker)}, f, protocol=2)
    with pytest.raises(UnsafeCheckpointError) as err:
        safe_torch_load(str(path))
    assert str(path) in str(err.value)
    assert not marker.exists(), 'the pickled payload must not run'


def test_unsafe_opt_in_loads_and_warns(tmp_path, monkeypatch):
    path = tmp_path / 'old.pth'
    torch.save({'message_hub': {'x': HistoryBuffer([1.0, 3.0], [1, 1])}}, path)
    monkeypatch.setenv(UNSAFE_LOAD_ENV, '1')
    with pytest.warns(UserWarning, match='weights_only=False'):
        ckpt = safe_torch_load(str(path))
    assert ckpt['message_hub']['x'].mean() == 2.0


def test_mmengine_loader_is_the_safe_one(tmp_path, monkeypatch):
    from mmengine.runner import CheckpointLoader
    monkeypatch.delenv(UNSAFE_LOAD_ENV, raising=False)
    path = tmp_path / 'old.pth'
    torch.save({'meta': {'x': HistoryBuffer([1.0], [1])}}, path)
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(str(path))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        CheckpointLoader.load_checkpoint(str(tmp_path / 'missing.pth'))


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / 'ckpt.pth'
    atomic_write_bytes(b'good', target)
    assert target.read_bytes() == b'good'

    def broken_replace(src, dst):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'replace', broken_replace)
    with pytest.raises(OSError, match='disk full'):
        atomic_write_bytes(b'partial', target)
    assert target.read_bytes() == b'good'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ckpt.pth']  # no temp file left


def test_unknown_objects_become_repr_with_warning():
    class Odd:
        def __repr__(self):
            return 'Odd()'

    with pytest.warns(UserWarning, match=r"checkpoint\['meta'\]"):
        out = to_weights_only_safe({'meta': Odd()})
    assert out == {'meta': 'Odd()'}
