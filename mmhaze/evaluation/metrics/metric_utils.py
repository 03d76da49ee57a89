"""What the metric wrappers share: 8-bit views of data-sample images, option checks, and the
errors that stop a run on a bad image (naming the image and the metric key); the metrics'
``skip_errors=True`` turns them into logged, counted skips instead."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Optional

import torch

from mmhaze.utils.errors import UserError, did_you_mean

from ..functional.metric_registry import MetricSpec, metric_keys, metric_spec
from .base_image_metric import sample_image


class MetricInputError(UserError, KeyError):
    """An input a metric needs is absent, of another size, or holds NaN/inf."""

    def __str__(self) -> str:  # a message, not KeyError's quoted key
        return str(self.args[0]) if self.args else ''


class MetricComputeError(UserError, ValueError):
    """A metric function raised on an image."""


def to_8bit_scale(x: torch.Tensor, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """C×H×W [0, 1] → 1×C×H×W ``dtype`` holding what an 8-bit PNG of it stores (0..255).

    Rounds in float32 exactly as ``visualization.to_rgb_uint8`` (which writes the PNGs of
    ``--save-preds``), so metrics of a prediction and of its PNG agree; the levels are
    integers, so float32 and float64 hold them alike.
    """
    return torch.round(x.detach().float().clamp(0, 1) * 255.0).to(dtype)[None]


def sample_name(sample: dict) -> str:
    return str(sample.get('img_id') or sample.get('vis_path') or '?')


def sample_label(sample: dict) -> str:
    """How errors name an image: its id and, when known, the visible file's path."""
    path = sample.get('vis_path')
    name = sample_name(sample)
    return f'{name!r} ({path})' if path and str(path) != name else repr(name)


def required_image(sample: dict, key: str, what: str, owner: str) -> torch.Tensor:
    """The image ``key`` of the sample, or one error saying it is absent."""
    image = sample_image(sample, key)
    if image is None:
        raise MetricInputError(f'{owner}: image {sample_label(sample)} has no {key!r} ({what})')
    return image


def check_finite(image: torch.Tensor, key: str, sample: dict, owner: str) -> None:
    if not bool(torch.isfinite(image).all()):
        raise MetricInputError(f'{owner}: {key} of image {sample_label(sample)} holds NaN or '
                               'inf values')


def check_same_size(images: Mapping[str, torch.Tensor], sample: dict, owner: str) -> None:
    """All images of a sample must be H×W alike (the metrics compare them pixel by pixel)."""
    sizes = {key: tuple(image.shape[-2:]) for key, image in images.items()}
    if len(set(sizes.values())) > 1:
        listed = ', '.join(f'{k} {h}×{w}' for k, (h, w) in sizes.items())
        raise MetricInputError(f'{owner}: image {sample_label(sample)} has inputs of different '
                               f'sizes (H×W): {listed}')


def resolve_metrics(keys: Sequence[str], kind: str, owner: str) -> dict[str, MetricSpec]:
    """``key → MetricSpec`` of the registered metrics ``keys``, all of ``kind``; one error naming
    every unknown key (with the closest registered one) or a key of another kind."""
    known = metric_keys(kind)
    problems = []
    for key in keys:
        if key not in known:
            other = key in metric_keys()
            problems.append(f'{key!r} is a {metric_spec(key).kind} metric' if other else
                            f'{key!r} is unknown{did_you_mean(key, known)}')
    if problems:
        raise ValueError(f'{owner}: {"; ".join(problems)}; {owner} computes {known}')
    return {key: metric_spec(key) for key in keys}


def check_options(options: Optional[Mapping], kind: str, reserved: tuple = (),
                  columns: Optional[Mapping[str, MetricSpec]] = None) -> dict:
    """Validate ``options={KEY: {arg: value}}`` against the registered metrics of ``kind``, or
    against ``columns`` (column key → the spec computing it: a suite preset's columns)."""
    options = dict(options or {})
    known = list(columns) if columns is not None else metric_keys(kind)
    for key, opts in options.items():
        if key not in known:
            raise ValueError(f'options.{key}: not one of the metrics {sorted(known)}'
                             f'{did_you_mean(key, known)}')
        spec = columns[key] if columns is not None else metric_spec(key)
        params = spec.option_names() - set(reserved)
        for name in opts:
            if name not in params:
                raise ValueError(f'options.{key}.{name}: {spec.function.__name__} has no '
                                 f'option {name!r}{did_you_mean(name, params)}')
    return options


def resolve_columns(metrics: Optional[Sequence[str]], suite: Optional[str],
                    default: Sequence[str], owner: str) -> list:
    """The :class:`~mmhaze.evaluation.suites.SuiteColumn` s to compute: ``metrics`` (default:
    ``default``, or all of the suite's columns) as registered fusion metrics, or as columns of
    the suite preset ``suite``; one error names every unknown key."""
    from ..suites import SuiteColumn, metric_suite
    if suite is None:
        keys = list(metrics) if metrics is not None else list(default)
        resolve_metrics(keys, 'fusion', owner)
        return [SuiteColumn(key, key) for key in keys]
    preset = metric_suite(suite)
    keys = list(metrics) if metrics is not None else list(preset.keys)
    unknown = [f'{k!r}{did_you_mean(k, preset.keys)}' for k in keys if k not in preset.keys]
    if unknown:
        raise ValueError(f'{owner}: {", ".join(unknown)} not in the suite {suite!r}; its '
                         f'columns: {list(preset.keys)}')
    return [preset.column(key) for key in keys]


def metric_value(metric: str, sample: dict, owner: str,
                 compute: Callable[[], torch.Tensor]) -> float:
    """``float(compute()[0])``; an exception becomes one error naming the image and the key."""
    try:
        return float(compute()[0])
    except UserError:
        raise
    except Exception as err:
        raise MetricComputeError(f'{owner}: {metric} failed on image {sample_label(sample)}: '
                                 f'{type(err).__name__}: {err}') from err
