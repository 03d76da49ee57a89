"""What the metric wrappers share: 8-bit views of data-sample images, option checks, and
per-metric error isolation (one failing metric or image never aborts a run)."""
from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping
from typing import Optional

import torch
from mmengine.logging import print_log

from .base_image_metric import sample_image


def to_8bit_scale(x: torch.Tensor) -> torch.Tensor:
    """C×H×W [0, 1] → 1×C×H×W float64 holding what an 8-bit PNG of it stores (0..255).

    Rounds in float32 exactly as ``visualization.to_rgb_uint8`` (which writes the PNGs of
    ``--save-preds``), so metrics of a prediction and of its PNG agree.
    """
    return torch.round(x.detach().float().clamp(0, 1) * 255.0).double()[None]


def required_image(sample: dict, key: str, what: str) -> torch.Tensor:
    image = sample_image(sample, key)
    if image is None:
        raise KeyError(f'the data sample has no {key!r} ({what})')
    return image


def check_finite(image: torch.Tensor, key: str) -> None:
    if not bool(torch.isfinite(image).all()):
        raise ValueError(f'{key} holds NaN or inf values')


def sample_name(sample: dict) -> str:
    return str(sample.get('img_id') or sample.get('vis_path') or '?')


def check_options(options: Optional[Mapping], functions: Mapping[str, Callable],
                  reserved: tuple = ()) -> dict:
    """Validate ``options={KEY: {arg: value}}`` against the functions' signatures."""
    options = dict(options or {})
    for key, opts in options.items():
        if key not in functions:
            hint = difflib.get_close_matches(key, list(functions), n=1)
            raise ValueError(f'options.{key}: not one of the metrics {sorted(functions)}'
                             + (f" (did you mean '{hint[0]}'?)" if hint else ''))
        params = set(inspect.signature(functions[key]).parameters) - set(reserved)
        for name in opts:
            if name not in params:
                hint = difflib.get_close_matches(name, list(params), n=1)
                raise ValueError(f'options.{key}.{name}: {functions[key].__name__} has no '
                                 f'argument {name!r}'
                                 + (f" (did you mean '{hint[0]}'?)" if hint else ''))
    return options


def effective_options(function: Callable, options: Mapping) -> dict:
    """The function's keyword defaults updated by ``options`` (what the footnotes print)."""
    out = {n: p.default for n, p in inspect.signature(function).parameters.items()
           if p.default is not p.empty}
    out.update(options)
    return out


def safe_value(metric: str, image: str, owner: str, compute: Callable[[], torch.Tensor]
               ) -> float:
    """``float(compute()[0])``, or NaN with a logged warning naming the image and the metric."""
    try:
        return float(compute()[0])
    except Exception as err:  # a bad image must not abort the whole evaluation
        print_log(f'{owner}: {metric} of image {image!r} is NaN: {type(err).__name__}: {err}',
                  logger='current', level=30)
        return float('nan')
