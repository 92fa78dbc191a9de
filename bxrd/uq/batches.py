"""The one batch adapter: tensors, dicts with ``pattern``/``label``, or (x, y) pairs → (x, y).

Data modules yield dict batches (``pattern`` (B, L) float, ``label`` (B,) long); plain
``TensorDataset`` loaders yield (x, y) pairs; users pass bare tensors. Every consumer of
batches (prediction, temperature scaling, Laplace, the feature density) reads them here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import torch

Batch = torch.Tensor | Mapping[str, torch.Tensor] | tuple | list


def as_batch(x: torch.Tensor) -> torch.Tensor:
    """Patterns as a float batch of shape (B, L) from (L,), (B, L) or (B, 1, L)."""
    x = torch.as_tensor(x, dtype=torch.float32)
    if x.dim() == 1:
        return x[None]
    if x.dim() == 3 and x.shape[1] == 1:
        return x[:, 0]
    if x.dim() != 2:
        raise ValueError(
            f"patterns must have shape (L,), (B, L) or (B, 1, L), got {tuple(x.shape)}"
        )
    return x


def split_batch(batch: Batch) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Patterns (B, L) and labels (B,) of a batch; labels are None for a bare tensor."""
    if isinstance(batch, Mapping):
        return batch["pattern"], batch.get("label")
    if isinstance(batch, (tuple, list)):
        return batch[0], batch[1] if len(batch) > 1 else None
    return batch, None


def labelled(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Patterns and labels of a batch that must carry labels (fitting on data)."""
    x, y = split_batch(batch)
    if y is None:
        raise ValueError("this step needs labelled batches (dicts with 'label' or (x, y) pairs)")
    return x, y


class XYLoader:
    """A loader of any batch kind seen as ``(X, y)`` pairs (what laplace-torch iterates over)."""

    def __init__(self, loader: Iterable) -> None:
        self.loader = loader
        self.dataset: Any = getattr(loader, "dataset", None)  # laplace reads len(dataset)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return (labelled(b) for b in self.loader)

    def __len__(self) -> int:
        return len(self.loader)  # type: ignore[arg-type]
