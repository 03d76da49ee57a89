"""Where the shared data files (NIQE/FADE parameters, TNO anchors) live.

They are never copied into the repository: ``MMHAZE_SHARED_DATA`` points at them, by default
``../shared/data`` relative to the repository root.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

SHARED_DATA_ENV = 'MMHAZE_SHARED_DATA'
REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path:
    """The shared data folder (it may not exist: check with :func:`find_shared_file`)."""
    value = os.environ.get(SHARED_DATA_ENV)
    if value:
        return Path(value).expanduser().resolve()
    return (REPO_ROOT.parent / 'shared' / 'data').resolve()


def find_shared_file(relative: str) -> Optional[Path]:
    """Path of ``relative`` inside the shared data folder, or None if it is absent."""
    path = shared_data_dir() / relative
    return path if path.exists() else None
