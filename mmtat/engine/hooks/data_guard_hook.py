from typing import Any, Optional

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ..data_guard import check_data_command, guard_dataloader
from ..loader_workers import restart_train_workers
from ..runner_facts import config_path


@HOOKS.register_module()
class DataGuardHook(Hook):
    """Guard the loading of every sample of the run's datasets.

    A sample that cannot be loaded, or whose label holds a value that is
    neither a class nor the ignore index, stops the run with
    :class:`~mmtat.utils.errors.DataSampleError`: one paragraph naming the
    file, the problem and the command that checks the whole dataset,
    instead of a decoder's traceback or a loss's ``IndexError`` (a
    device-side assert on a GPU).  The hook wraps the loading transforms of
    each dataset's pipeline in :class:`~mmtat.engine.data_guard.
    GuardedLoading` (:func:`~mmtat.engine.data_guard.guard_dataloader`)
    before the loaders' workers copy it.

    The validation and test loaders start their workers when they are
    first iterated, after ``before_train`` / ``before_val`` /
    ``before_test``, where the hook guards them.  An ``IterBasedTrainLoop``
    starts the training loader's workers when it is built, before any hook
    runs: mmtat's ``tools/train.py`` calls :meth:`build_train_dataloader`
    before ``train()``, which builds and guards that loader first; built
    from a config's ``custom_hooks`` alone (e.g. under MMSegmentation's
    ``tools/train.py``) the hook guards it in ``before_train`` and starts
    its workers again in ``before_train_epoch``
    (:func:`~mmtat.engine.loader_workers.restart_train_workers`; the run
    reads the same batches).

    Args:
        command: the command that checks the config's whole data
            (:func:`~mmtat.engine.data_guard.check_data_command`); that of
            the runner's config file when None.
    """
    priority = 'VERY_HIGH'

    def __init__(self, command: Optional[str] = None) -> None:
        self.command = command
        self._restart_workers = False

    def _command(self, runner: Any) -> str:
        if self.command is None:
            self.command = check_data_command(
                config_path(runner) or 'CONFIG')
        return self.command

    def build_train_dataloader(self, runner: Any) -> None:
        """Build the runner's training loader (as its training loop would,
        with the runner's seed) and guard it; call before ``train()``."""
        loader = runner._train_dataloader
        if isinstance(loader, dict) and loader:
            loader = runner.build_dataloader(
                loader,
                seed=runner.seed,
                diff_rank_seed=runner._randomness_cfg.get(
                    'diff_rank_seed', False))
            runner._train_dataloader = loader
        guard_dataloader(loader, 'training data', self._command(runner))

    def before_train(self, runner: Any) -> None:
        if guard_dataloader(runner.train_dataloader, 'training data',
                            self._command(runner)):
            self._restart_workers = True
        val_loop = runner._val_loop
        if val_loop is not None and hasattr(val_loop, 'dataloader'):
            guard_dataloader(val_loop.dataloader, 'validation data',
                             self._command(runner))

    def before_train_epoch(self, runner: Any) -> None:
        if self._restart_workers:
            self._restart_workers = False
            restart_train_workers(runner)

    def before_val(self, runner: Any) -> None:
        guard_dataloader(getattr(runner.val_loop, 'dataloader', None),
                         'validation data', self._command(runner))

    def before_test(self, runner: Any) -> None:
        guard_dataloader(getattr(runner.test_loop, 'dataloader', None),
                         'test data', self._command(runner))
