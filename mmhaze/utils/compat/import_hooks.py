"""Run code when a module is first imported, without importing it ourselves.

``import mmhaze`` must stay cheap (no torch, no mmengine: docs/speed.md), yet its compatibility
layer has to patch modules mmengine and mmcv load later. :func:`when_imported` runs a function
on a module right after it is executed — at once if it is already imported — by wrapping the
loader that the normal finders return for it (the usual post-import-hook technique): the
module's own ``__loader__`` and ``__spec__.loader`` are restored before its code runs.
:func:`provide_module` supplies a whole module (``mmcv.ops`` without compiled mmcv).
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Optional

Hook = Callable[[ModuleType], None]
#: Returns the module to use for a name, or None to import it normally.
Provider = Callable[[], Optional[ModuleType]]


class _PostImportLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader, hooks: list[Hook]):
        self.loader = loader
        self.hooks = hooks

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        for hook in self.hooks:
            hook(module)


class _ProvidedLoader(importlib.abc.Loader):
    def __init__(self, module: ModuleType):
        self.module = module

    def create_module(self, spec):
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        pass


class _Finder(importlib.abc.MetaPathFinder):
    """First on ``sys.meta_path``; answers only for the names it watches."""

    def __init__(self):
        self.hooks: dict[str, list[Hook]] = {}
        self.providers: dict[str, Provider] = {}
        self._local = threading.local()

    def find_spec(self, fullname, path, target=None):
        if fullname not in self.hooks and fullname not in self.providers:
            return None
        if getattr(self._local, 'busy', False):  # a provider or finder asking about the name
            return None
        self._local.busy = True
        try:
            provider = self.providers.get(fullname)
            module = provider() if provider is not None else None
            if module is not None:
                return importlib.machinery.ModuleSpec(fullname, _ProvidedLoader(module))
            spec = None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, 'find_spec'):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
        finally:
            self._local.busy = False
        if spec is None or spec.loader is None or fullname not in self.hooks:
            return spec
        spec.loader = _PostImportLoader(spec.loader, self.hooks.pop(fullname))
        return spec


_FINDER = _Finder()


def _install() -> None:
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def when_imported(name: str, hook: Hook) -> None:
    """Call ``hook(module)`` once module ``name`` is imported (now, if it already is)."""
    module = sys.modules.get(name)
    if module is not None:
        hook(module)
        return
    _FINDER.hooks.setdefault(name, []).append(hook)
    _install()


def provide_module(name: str, provider: Provider) -> None:
    """On the first import of ``name``, use ``provider()``'s module if it returns one.

    The provider runs when ``name`` is imported (so its parent package is already loaded) and
    may return None to let the normal import happen. Nothing happens for a module that is
    already imported.
    """
    if name in sys.modules:
        return
    _FINDER.providers[name] = provider
    _install()
