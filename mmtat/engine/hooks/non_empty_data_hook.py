from typing import Any

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ...utils.errors import InputError


def _empty_message(role: str, loader_key: str, dataset: Any) -> str:
    root = getattr(dataset, 'data_root', None)
    return (f'The {role} dataset ({type(dataset).__name__}, {loader_key}, '
            f'data_root={root!r}) has 0 samples, so the run would wait '
            'forever for its first batch. Check data_root, data_prefix and '
            'ann_file of that dataset (and the image suffix its class '
            'expects). Nothing was trained.')


@HOOKS.register_module()
class NonEmptyDataHook(Hook):
    """Stop a run whose training, validation or test dataset is empty.

    mmengine's ``InfiniteSampler`` over 0 samples never returns a batch, so
    such a run waits forever without a word.  This hook raises
    :class:`~mmtat.utils.errors.InputError` naming the dataset and its
    ``data_root`` instead: in ``before_train`` for the training and
    validation datasets, in ``before_test`` for the test dataset.

    It needs no arguments, so a config's ``custom_hooks`` can list it.  An
    ``IterBasedTrainLoop`` whose loader has worker processes asks its
    sampler for the first indices when the runner builds it, before any
    hook is called, and waits there; mmtat's ``tools/train.py`` refuses an
    empty dataset before the runner is built (:func:`mmtat.checks.
    check_datasets`), for any loader.
    """
    priority = 'VERY_HIGH'

    def before_train(self, runner: Any) -> None:
        dataset = runner.train_dataloader.dataset
        if len(dataset) == 0:
            raise InputError(
                _empty_message('training', 'train_dataloader', dataset))
        val_loop = runner._val_loop
        if val_loop is not None and hasattr(val_loop, 'dataloader'):
            dataset = val_loop.dataloader.dataset
            if len(dataset) == 0:
                raise InputError(
                    _empty_message('validation', 'val_dataloader', dataset))

    def before_test(self, runner: Any) -> None:
        dataset = runner.test_dataloader.dataset
        if len(dataset) == 0:
            raise InputError(
                _empty_message('test', 'test_dataloader', dataset))
