"""A NaN loss or NaN weights stop training before anything is saved; the last good checkpoint
survives ``max_keep_ckpts`` and still loads with finite weights (issue 11, item 1)."""
import pytest
import torch
from helpers import BASELINE_CONFIG as BASELINE
from helpers import DEHAZE_LOSS_KEY, TINY_TRAIN_OPTIONS
from mmengine.hooks import Hook

from mmhaze.registry import HOOKS
from mmhaze.utils import NonFiniteError

# One checkpoint per iteration, only the newest kept: the setting where a NaN run used to
# delete the last good checkpoint.
KEEP_ONE = [o for o in TINY_TRAIN_OPTIONS if not o.startswith('default_hooks.checkpoint')] + [
    'default_hooks.checkpoint.interval=1', 'default_hooks.checkpoint.max_keep_ckpts=1']


def _with(options, **overrides):
    kept = [o for o in options if o.split('=')[0] not in overrides]
    return kept + [f'{k}={v}' for k, v in overrides.items()]


def _assert_finite_checkpoint(path):
    ckpt = torch.load(path, weights_only=True)
    state = ckpt['state_dict']
    assert state and all(bool(torch.isfinite(t).all()) for t in state.values()
                         if t.is_floating_point())
    return ckpt


def test_nan_loss_weight_stops_before_saving_and_keeps_the_last_checkpoint(
        tmp_path, repo_root, tool, capsys):
    work = tmp_path / 'work'
    work.mkdir()
    stale = work / '.iter_9.pth.4x_7abcd.tmp'  # left by a run killed while saving (item 13)
    stale.write_bytes(b'half a checkpoint')
    good = _with(KEEP_ONE, **{'train_cfg.max_iters': 2})
    assert tool('train').main([str(repo_root / BASELINE), '--work-dir', str(work),
                               '--cfg-options', *good]) == 0
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_2.pth']
    assert not stale.exists()  # removed when the run started
    capsys.readouterr()

    # Resume with a NaN loss weight: iteration 3 is the first NaN step.
    nan = _with(KEEP_ONE, **{'train_cfg.max_iters': 4, DEHAZE_LOSS_KEY + '.loss_weight': 'nan'})
    rc = tool('train').main([str(repo_root / BASELINE), '--work-dir', str(work), '--resume',
                             '--cfg-options', *nan])
    err = capsys.readouterr().err
    assert rc == 1
    assert (f'error: training stopped at iteration 3: loss_dehaze = nan; nothing was saved for '
            f'this iteration and the last checkpoint is {work / "iter_2.pth"}.') in err
    assert 'Traceback' not in err
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_2.pth']
    assert (work / 'last_checkpoint').read_text().strip() == str(work / 'iter_2.pth')
    assert _assert_finite_checkpoint(work / 'iter_2.pth')['meta']['iter'] == 2


def _stub_runner(iteration: int, last_ckpt=None):
    from types import SimpleNamespace

    from mmengine.logging import MessageHub, MMLogger
    hub = MessageHub.get_instance(f'finite_test_{iteration}_{last_ckpt}')
    if last_ckpt:
        hub.update_info('last_ckpt', last_ckpt)
    return SimpleNamespace(iter=iteration, message_hub=hub, logger=MMLogger.get_current_instance())


def test_every_logged_loss_term_is_checked_discriminator_terms_included():
    from mmhaze.engine.hooks import CheckInvalidLossHook
    hook = CheckInvalidLossHook()
    runner = _stub_runner(6, '/w/iter_6.pth')
    # An adversarial model logs generator and discriminator terms; the total can stay finite
    # when only the discriminator's loss diverges (its optimizer steps separately).
    outputs = dict(loss=torch.tensor(1.0), loss_gen=torch.tensor(0.3),
                   loss_disc_real=torch.tensor(float('inf')), acc=torch.tensor(float('nan')))
    with pytest.raises(NonFiniteError) as err:
        hook.after_train_iter(runner, 0, outputs=outputs)
    assert str(err.value) == (
        'training stopped at iteration 7: loss_disc_real = inf; nothing was saved for this '
        'iteration and the last checkpoint is /w/iter_6.pth. Check the loss weights, the '
        'learning rate and the data of this iteration.')
    hook.after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(2.0), acc=float('nan')))
    with pytest.raises(NonFiniteError, match='iteration 1: loss = nan; .* no checkpoint was '
                                             'saved yet'):
        hook.after_train_iter(_stub_runner(0), 0, outputs=dict(loss=torch.tensor(float('nan'))))
    with pytest.raises(ValueError, match='interval must be an integer >= 1, got 0'):
        CheckInvalidLossHook(interval=0)


@HOOKS.register_module(force=True)
class _PoisonWeightsHook(Hook):
    """Turns one weight NaN after iteration ``at`` (its loss was still finite)."""

    priority = 'NORMAL'  # after CheckInvalidLossHook, before the checkpoint hook

    def __init__(self, at: int):
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at:
            with torch.no_grad():
                next(runner.model.parameters()).view(-1)[0] = float('nan')


def test_non_finite_weights_are_never_saved_nor_rotate_a_good_checkpoint_away(
        tmp_path, repo_root, tool):
    from mmhaze.apis import build_runner, prepare_config
    work = tmp_path / 'work'
    options = tool('train').parse_args(['cfg', '--cfg-options', *KEEP_ONE]).cfg_options
    cfg = prepare_config(str(repo_root / BASELINE), options, str(work))
    cfg.custom_hooks = [dict(type='_PoisonWeightsHook', at=3)]
    runner = build_runner(cfg)
    with pytest.raises(NonFiniteError) as err:
        runner.train()
    name = next(runner.model.named_parameters())[0]  # the poisoned one
    assert str(err.value) == (
        f"training stopped at iteration 3: 1 weight tensor(s) of the model hold NaN or inf "
        f"(first: {name!r}); iter_3.pth was not written, no older checkpoint was removed, and "
        f"the last checkpoint is {work / 'iter_2.pth'}.")
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_2.pth']
    _assert_finite_checkpoint(work / 'iter_2.pth')

