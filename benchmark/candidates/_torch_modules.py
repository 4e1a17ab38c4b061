"""torch modules of the neural candidates (imported only when a net is built)."""

from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """BatchNorm → Linear → ReLU → Dropout → Linear → Dropout, added to the input."""

    def __init__(self, width: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm1d(width), nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, width), nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)
