"""A callback for the DDP test: what each rank trained on and the metrics it logged."""

import hashlib
import json
from pathlib import Path

import pytorch_lightning as pl


class BatchProbe(pl.Callback):
    """Write ``rank<r>.json``: digests of the training batches and the last validation metrics."""

    def __init__(self, out: str) -> None:
        self.out, self.digests, self.metrics = Path(out), [], {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.digests.append(hashlib.sha256(batch["pattern"].cpu().numpy().tobytes()).hexdigest())

    def on_validation_end(self, trainer, pl_module):
        if not trainer.sanity_checking:
            m = trainer.callback_metrics
            self.metrics = {k: float(v) for k, v in m.items() if k.startswith("val/")}

    def on_fit_end(self, trainer, pl_module):
        self.out.mkdir(parents=True, exist_ok=True)
        record = {"digests": self.digests, "metrics": self.metrics, "world": trainer.world_size}
        (self.out / f"rank{trainer.global_rank}.json").write_text(json.dumps(record))
