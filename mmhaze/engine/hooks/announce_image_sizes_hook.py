"""Tell the metric compile rule which image sizes the test loop will evaluate."""
from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable
from typing import Optional

from mmengine.hooks import Hook

from mmhaze.registry import HOOKS


def _test_dataloaders(runner) -> list:
    loop = runner.test_loop
    loaders = getattr(loop, 'dataloaders', None)  # MultiTestLoop: one per dataset
    return list(loaders) if loaders else [loop.dataloader]


def loader_image_sizes(loader) -> list[tuple[int, int]]:
    """(H, W) of every image this process's ``loader`` will yield, in sampler order, from
    the dataset's ``image_size(idx)`` (file headers, no decoding). Images whose size is
    unknown, and datasets without ``image_size`` (e.g. wrappers), are left out."""
    dataset = loader.dataset
    size_of = getattr(dataset, 'image_size', None)
    if size_of is None:
        return []
    sampler = getattr(loader, 'sampler', None)
    # the sampler holds this rank's share; an infinite one is cut at one pass
    indices: Iterable[int] = (itertools.islice(iter(sampler), len(sampler))
                              if sampler is not None else range(len(dataset)))
    return [size for size in map(size_of, indices) if size is not None]


@HOOKS.register_module()
class AnnounceImageSizesHook(Hook):
    """Announce the test images' sizes to the metric compile rule for the test loop
    (:func:`mmhaze.evaluation.functional.compiled.announce_image_sizes`), as ``eval_folder.py``
    does: a metric kernel then compiles for a size only when the images of that size still to
    come pay back the compilation, instead of the break-even rule of unannounced runs.
    ``tools/test.py`` adds it; the sizes come from the file headers of the test datasets."""

    priority = 'VERY_LOW'

    def __init__(self):
        self._announcement: Optional[contextlib.ExitStack] = None

    def before_test(self, runner) -> None:
        from mmhaze.evaluation.functional.compiled import announce_image_sizes
        self.after_test(runner)  # a previous test that raised left its announcement open
        sizes = [size for loader in _test_dataloaders(runner)
                 for size in loader_image_sizes(loader)]
        self._announcement = contextlib.ExitStack()
        self._announcement.enter_context(announce_image_sizes(sizes))

    def after_test(self, runner) -> None:
        if self._announcement is not None:
            self._announcement.close()
            self._announcement = None
