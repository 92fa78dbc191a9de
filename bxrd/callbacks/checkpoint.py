"""The checkpoint that ``--ckpt_path last`` resumes from, found across the run's versions.

Lightning's ``ckpt_path="last"`` looks for ``last.ckpt`` only in the folder of the *new* run
(``<save_dir>/<name>/version_<N+1>/checkpoints``), where none exists yet, so a stopped fit
could not be resumed by name. This callback writes ``last.ckpt`` (besides the usual epoch
checkpoint) and, when asked for the last checkpoint, returns the newest ``last.ckpt`` of any
version of the same experiment (same logger ``save_dir`` and ``name``).
"""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint


class LastCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` with ``save_last=True`` whose "last" spans the experiment's versions.

    Args:
        **kwargs: see ``ModelCheckpoint`` (``save_last`` is always on).
    """

    def __init__(self, **kwargs: object) -> None:
        kwargs["save_last"] = True
        super().__init__(**kwargs)

    def _find_last_checkpoints(self, trainer: pl.Trainer) -> set[str]:
        found = super()._find_last_checkpoints(trainer)
        logger = trainer.loggers[0] if trainer.loggers else None
        if self.dirpath is None and logger is not None and logger.save_dir is not None:
            experiment = Path(logger.save_dir) / str(logger.name)
            found |= {
                str(p) for p in experiment.glob(f"*/checkpoints/{self.CHECKPOINT_NAME_LAST}.ckpt")
            }
        return found
