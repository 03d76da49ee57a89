"""mmhaze.apis loads its parts on first use: eval_folder.py's start-up skips the runner stack."""
import subprocess
import sys

import pytest


def test_the_testing_api_does_not_import_the_runner_stack():
    code = ('import sys, mmhaze.apis.testing; '
            "print(sorted(m for m in ('mmengine.model', 'mmengine.optim', "
            "'mmhaze.apis.runner_setup', 'mmhaze.apis.inferencer') if m in sys.modules))")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == '[]'


def test_every_exported_name_resolves_and_unknown_names_raise():
    import mmhaze.apis as apis
    for name in apis.__all__:
        assert getattr(apis, name).__name__ == name
    assert set(dir(apis)) >= set(apis.__all__)
    with pytest.raises(AttributeError, match='no attribute'):
        assert apis.build_runnr is None  # raises first
