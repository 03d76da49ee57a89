"""Metadata lives in setup.cfg; this shim only reads the requirement lists from requirements/."""
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent


def read_requirements(*names: str) -> list:
    reqs = []
    for name in names:
        for line in (HERE / 'requirements' / name).read_text().splitlines():
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-'):
                reqs.append(line)
    return reqs


setup(
    install_requires=read_requirements('runtime.txt', 'mminstall.txt'),
    extras_require={
        'tests': read_requirements('tests.txt'),
        'docs': read_requirements('docs.txt'),
        'demo': read_requirements('demo.txt'),
    },
)
