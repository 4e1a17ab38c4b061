"""torch modules of the neural candidates (imported only when a net is built)."""

from __future__ import annotations

import math

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


class TabMNet(nn.Module):
    """TabM (package ``tabm``, Gorishniy et al. 2025) over one input matrix.

    The first ``n_cat`` columns hold ordinal category codes (-1 = missing or unseen), which TabM
    one-hot encodes; of the other columns, those in ``num_keep`` go through piecewise-linear
    embeddings (``rtdl_num_embeddings``, version B) when ``bins`` are given, else in raw.

    Training mode returns ``(batch, k, d_out)``: one output per ensemble member, each trained on
    its own loss. Eval mode returns ``(batch, d_out)``: the members' mean prediction; for
    classification the log of the mean probability (so softmax of it is the mean probability).
    """

    def __init__(self, *, n_cat: int, cardinalities: list[int], num_keep: list[int], bins: list[torch.Tensor] | None,
                 d_out: int, classification: bool, d_embedding: int, **backbone) -> None:
        super().__init__()
        import rtdl_num_embeddings
        import tabm

        emb = None
        if num_keep and bins is not None:
            emb = rtdl_num_embeddings.PiecewiseLinearEmbeddings(bins, d_embedding, activation=False, version="B")
        self.net = tabm.TabM.make(
            n_num_features=len(num_keep), cat_cardinalities=list(cardinalities) or None, d_out=d_out,
            num_embeddings=emb, **backbone,
        )
        self.n_cat = n_cat
        self.classification = classification
        self.register_buffer("card", torch.tensor(list(cardinalities) or [1], dtype=torch.long))
        self.register_buffer("num_keep", torch.tensor(num_keep, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_cat = None
        if self.n_cat:
            codes = (x[:, : self.n_cat] + 1).round().long().clamp_min(0)
            x_cat = torch.minimum(codes, self.card - 1)
        x_num = x[:, self.n_cat :].index_select(1, self.num_keep) if len(self.num_keep) else None
        out = self.net(x_num, x_cat)
        if self.training:
            return out
        if out.dtype in (torch.float16, torch.bfloat16):
            out = out.float()
        if self.classification:
            return torch.logsumexp(torch.log_softmax(out, dim=-1), dim=1) - math.log(out.shape[1])
        return out.mean(dim=1)
