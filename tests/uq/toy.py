"""A tiny synthetic 'diffraction' problem: each class has its own three peaks."""

import torch
from torch.utils.data import DataLoader, Dataset

LENGTH = 256
PEAKS = {0: (40, 90, 200), 1: (60, 130, 170), 2: (30, 110, 220), 3: (75, 150, 240)}


def patterns(classes, n_per_class, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.arange(LENGTH, dtype=torch.float32)
    data, labels = [], []
    for c in classes:
        for _ in range(n_per_class):
            y = torch.zeros(LENGTH)
            for p in PEAKS[c]:
                pos = p + 3 * (torch.rand(1, generator=gen) - 0.5)
                height = 0.5 + torch.rand(1, generator=gen)
                y += height * torch.exp(-0.5 * ((x - pos) / 2.5) ** 2)
            y += 0.02 * torch.rand(LENGTH, generator=gen)
            data.append(y / y.max())
            labels.append(c)
    return torch.stack(data), torch.tensor(labels)


class DictDataset(Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return {"pattern": self.x[i], "label": self.y[i]}


def loaders(seed=0, batch_size=32):
    xt, yt = patterns((0, 1, 2), 80, seed)
    xv, yv = patterns((0, 1, 2), 20, seed + 1)
    train = DataLoader(
        DictDataset(xt, yt),
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    val = DataLoader(DictDataset(xv, yv), batch_size=64)
    return train, val
