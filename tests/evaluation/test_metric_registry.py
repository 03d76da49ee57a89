"""The metric registry's directions: ↑, ↓ and →0 (closer to 0 is better), and what reads them."""
import pytest

from mmhaze.evaluation.functional.metric_registry import (
    DIRECTIONS,
    distance_from_best,
    metric_direction,
    metric_keys,
    register_metric,
)
from mmhaze.evaluation.metrics import FusionMetric


def test_registered_directions():
    assert {metric_direction(k) for k in metric_keys()} == set(DIRECTIONS)
    assert metric_direction('Q_SF') == '→0'  # a signed relative error, ideal 0
    assert metric_direction('Qcv') == '↓' and metric_direction('MI') == '↑'
    assert metric_direction('not a metric') == ''
    assert FusionMetric(suite='liu2012').directions['Q_SF'] == '→0'


def test_distance_from_best_orders_each_direction():
    values = [-0.5, 0.1, 0.3]
    assert min(values, key=lambda v: distance_from_best(v, '↑')) == 0.3
    assert min(values, key=lambda v: distance_from_best(v, '↓')) == -0.5
    assert min(values, key=lambda v: distance_from_best(v, '→0')) == 0.1
    assert min(values, key=lambda v: distance_from_best(v, '')) == 0.3  # unknown: as ↑


def test_register_metric_refuses_conflicting_or_unknown_directions():
    with pytest.raises(ValueError, match='not both'):
        register_metric('X_both', higher_is_better=False, direction='↓', convention='x')
    with pytest.raises(ValueError, match="direction must be one of .*'→1'"):
        register_metric('X_unknown', direction='→1', convention='x')
