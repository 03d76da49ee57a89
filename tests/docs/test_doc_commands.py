"""The shell commands of README.md and docs/*.md cannot go stale.

Every command line in their ``bash``/``shell`` blocks that calls a script of the repository is
checked: the script and every repository file it names exist, its arguments parse (when the line
has no placeholders such as ``CONFIG`` or ``[--opt]``), and a checkpoint ``iter_N.pth`` next to
a config is one that config's training writes. The get-started section on running the demo on
example pairs is replayed as written, in a scratch folder.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import torch
from helpers import REPO_ROOT, load_tool, seeded_model

DOCS = [REPO_ROOT / 'README.md', *sorted((REPO_ROOT / 'docs').glob('*.md'))]
# Upper-case words, ``<...>``, ``[...]``, ``$VAR``, ``...`` and ``|`` mark a usage line with
# placeholders (or a shell pipeline): its arguments are not parsed.
PLACEHOLDER = re.compile(r'\b[A-Z][A-Z0-9_]{2,}\b|<[^>]*>|\[|\$|\.\.\.|…|\|')
SCRIPT = re.compile(r'^(?:python\S*|\S*/python\S*)\s+((?:tools|demo)/\S+\.py)\b')


def commands_in(text: str) -> list[str]:
    """Every command of the ``bash``/``shell`` blocks of ``text``, continuation lines joined,
    comments and leading ``VAR=value`` pairs dropped."""
    found = []
    for block in re.findall(r'```(?:bash|shell|sh)\n(.*?)```', text, re.S):
        for command in re.sub(r'\\\n\s*', ' ', block).splitlines():
            command = re.sub(r'\s+#.*$', '', command).strip()
            command = re.sub(r'^([A-Z_]+=\S+\s+)+', '', command)
            if command and not command.startswith('#'):
                found.append(command)
    return found


def doc_commands() -> list[tuple[str, str]]:
    """``(doc, command)`` for every command of the docs' shell blocks."""
    return [(path.relative_to(REPO_ROOT).as_posix(), command) for path in DOCS
            for command in commands_in(path.read_text(encoding='utf-8'))]


def script_commands() -> list[tuple[str, str, str, list[str]]]:
    out = []
    for where, command in doc_commands():
        match = SCRIPT.match(command)
        if match:
            args = shlex.split(command[match.end():])
            out.append((where, command, match.group(1), args))
    return out


COMMANDS = script_commands()


def _shortened_trainings() -> dict[str, int]:
    """``--work-dir → max_iters`` of the doc trainings that set ``train_cfg.max_iters``: their
    last iteration is saved whatever the checkpoint interval."""
    out = {}
    for _, _, script, args in COMMANDS:
        options = ' '.join(args)
        work_dir = re.search(r'--work-dir (\S+)', options)
        iters = re.search(r'train_cfg\.max_iters=(\d+)', options)
        if script == 'tools/train.py' and work_dir and iters:
            out[work_dir.group(1).rstrip('/')] = int(iters.group(1))
    return out


TRAINED_ITERS = _shortened_trainings()


def test_the_docs_have_commands_to_check():
    scripts = {script for _, _, script, _ in COMMANDS}
    assert {'tools/train.py', 'tools/test.py', 'tools/infer.py',
            'tools/deployment/pytorch2onnx.py'} <= scripts
    assert len(COMMANDS) >= 30


@pytest.mark.parametrize('where, command, script, args', COMMANDS,
                         ids=[f'{where}:{command[:60]}' for where, command, _, _ in COMMANDS])
def test_every_doc_command_names_existing_files_and_parses(where, command, script, args,
                                                           monkeypatch, tmp_path):
    assert (REPO_ROOT / script).is_file(), f'{where}: {script} does not exist'
    for arg in args:
        if re.fullmatch(r'(configs|tools|demo)/[\w./-]+\.py', arg):
            assert (REPO_ROOT / arg).is_file(), f'{where}: {arg} does not exist ({command})'
    configs = [a for a in args if a.startswith('configs/') and a.endswith('.py')]
    for arg in args:
        checkpoint = re.search(r'iter_(\d+)\.pth$', arg)
        if checkpoint and configs and TRAINED_ITERS.get(str(Path(arg).parent)) != int(
                checkpoint.group(1)):  # not the last checkpoint of a shortened doc training
            _check_checkpoint_name(int(checkpoint.group(1)), configs[0], where, command)
    if PLACEHOLDER.search(command):
        return
    module = load_tool(script[len('tools/'):-3]) if script.startswith('tools/') else None
    if module is None or not hasattr(module, 'parse_args'):
        return
    monkeypatch.chdir(REPO_ROOT)
    try:
        module.parse_args(args)
    except SystemExit as err:
        pytest.fail(f'{where}: the arguments of `{command}` do not parse (exit {err.code})')


def _check_checkpoint_name(n: int, config: str, where: str, command: str) -> None:
    from mmhaze.apis import load_config
    cfg = load_config(str(REPO_ROOT / config))
    max_iters = (cfg.get('train_cfg') or {}).get('max_iters')
    interval = ((cfg.get('default_hooks') or {}).get('checkpoint') or {}).get('interval')
    if max_iters is None:
        return
    saved = n == max_iters or (interval and n % interval == 0 and n <= max_iters)
    assert saved, (f'{where}: `{command}` names iter_{n}.pth, but {config} trains '
                   f'{max_iters} iterations with a checkpoint every {interval}')


def _section_commands(doc: str, heading: str) -> list[str]:
    text = (REPO_ROOT / doc).read_text(encoding='utf-8')
    return commands_in(text.split(f'## {heading}\n', 1)[1].split('\n## ', 1)[0])


def test_the_example_pairs_section_runs_as_written(tmp_path, monkeypatch):
    """docs/get_started.md "Your own pair, or example pairs": make_synthetic.py writes the
    examples and the demo's checkpoint (here seeded, not trained) runs on them."""
    commands = [c for c in _section_commands('docs/get_started.md',
                                             'Your own pair, or example pairs')
                if 'my_hazy.png' not in c]
    assert [shlex.split(c)[1] for c in commands] == [
        'tools/dataset_converters/make_synthetic.py', 'tools/infer.py']
    checkpoint = tmp_path / 'work_dirs' / 'demo' / 'iter_250.pth'
    checkpoint.parent.mkdir(parents=True)
    model = seeded_model('configs/demo/demo_synthetic.py')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=250)), checkpoint)
    (tmp_path / 'configs').symlink_to(REPO_ROOT / 'configs')
    monkeypatch.chdir(tmp_path)  # the commands' relative paths, as a user's shell has them
    for command in commands:
        script, *args = shlex.split(command)[1:]
        assert load_tool(script[len('tools/'):-3]).main(args) == 0, command
    written = sorted(p.name for p in (tmp_path / 'out/examples/fused').iterdir())
    assert len(written) == 4 and all(name.endswith('.png') for name in written)
    assert sorted(p.name for p in (tmp_path / 'out/examples/dehazed').iterdir()) == written
