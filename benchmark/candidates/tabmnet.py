"""TabM (Gorishniy et al., ICLR 2025): one MLP that is an efficient ensemble of ``k`` MLPs,
built from the ``tabm`` package with piecewise-linear numeric embeddings (``rtdl_num_embeddings``).

We train it with the toolkit's own device-resident loop (:mod:`benchmark.candidates.neural`),
not pytabkit's TabM: pytabkit carries its own older copy of the TabM module instead of the
``tabm`` package, and our loop already gives what every net here must have — the whole training
set moved to the device once, AMP on CUDA (bf16, else fp16 with a grad scaler), early stopping
on a split carved from the rows passed to ``fit`` with the best epoch restored, a per-epoch
``history_`` and bit-identical refits on the CPU for a seed.

What is TabM-specific lives in the hooks: the module (:class:`~benchmark.candidates._torch_modules.TabMNet`;
quantile bins computed on the fit rows only, constant numeric columns dropped), the loss (each
of the ``k`` members gets its own loss on the same batch), the batch size (``"auto"``: the TabM
paper's choice by row count) and gradient clipping. Validation loss and predictions use the
members' mean (probabilities for classification).

Defaults are TabM-mini† (``arch_type="tabm-mini"``, piecewise-linear embeddings), the version
the TabM authors recommend and TabArena tunes; the search space is TabArena's.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OrdinalEncoder
from sklearn.utils.validation import check_is_fitted, validate_data

from benchmark.candidates.base import CandidateSpec, Schema, both_kinds, pipeline
from benchmark.candidates.neural import NeuralClassifier, NeuralRegressor, quantile_numerics
from benchmark.candidates.spaces import int_range, log_float, uniform_float


def auto_batch_size(n_rows: int) -> int:
    """The TabM paper's batch size for a training set of ``n_rows`` rows."""
    for limit, size in ((2_800, 32), (4_500, 64), (6_400, 128), (32_000, 256), (108_000, 512)):
        if n_rows < limit:
            return size
    return 1024


class _TabMHooks:
    """TabM's parameters and the training-loop hooks; mixed into the classifier and regressor."""

    def __init__(
        self,
        *,
        n_categorical: int = 0,
        arch_type: str = "tabm-mini",
        k: int = 32,
        n_blocks: int | None = None,
        d_block: int = 512,
        dropout: float = 0.1,
        d_embedding: int = 16,
        n_bins: int = 48,
        lr: float = 2e-3,
        weight_decay: float = 3e-4,
        batch_size: int | str = "auto",
        grad_clip: float | None = 1.0,
        max_epochs: int = 1000,
        patience: int = 16,
        valid_fraction: float = 0.2,
        device: str = "auto",
        amp: bool = True,
        n_threads: int | None = None,
        random_state: int | None = 0,
    ) -> None:
        self.n_categorical = n_categorical
        self.arch_type = arch_type
        self.k = k
        self.n_blocks = n_blocks
        self.d_block = d_block
        self.dropout = dropout
        self.d_embedding = d_embedding
        self.n_bins = n_bins
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.grad_clip = grad_clip
        self.max_epochs = max_epochs
        self.patience = patience
        self.valid_fraction = valid_fraction
        self.device = device
        self.amp = amp
        self.n_threads = n_threads
        self.random_state = random_state

    def _make_module(self, X: np.ndarray, fit_idx: np.ndarray, n_out: int):
        import torch

        from benchmark.candidates._torch_modules import TabMNet

        n_cat = min(max(0, int(self.n_categorical)), X.shape[1])
        cards = [int(max(0.0, X[:, j].max()) + 2) for j in range(n_cat)]  # codes -1..max → 0..max+1
        X_num = X[fit_idx, n_cat:]
        keep = [j for j in range(X_num.shape[1]) if len(X_num) and np.ptp(X_num[:, j]) > 0]
        if not keep and not n_cat:
            keep = list(range(X.shape[1]))  # nothing varies: a plain linear input keeps TabM defined
        n_bins = min(int(self.n_bins), len(fit_idx) - 1)
        bins = None
        if keep and n_bins > 1 and all(np.ptp(X_num[:, j]) > 0 for j in keep):
            bins = [b.float() for b in _compute_bins(torch.as_tensor(X_num[:, keep], dtype=torch.float32), n_bins)]
        n_blocks = int(self.n_blocks) if self.n_blocks else (2 if bins is not None else 3)
        return TabMNet(
            n_cat=n_cat, cardinalities=cards, num_keep=keep, bins=bins, d_out=n_out,
            classification=self._classifier, d_embedding=int(self.d_embedding), k=int(self.k),
            n_blocks=n_blocks, d_block=int(self.d_block), dropout=float(self.dropout), arch_type=self.arch_type,
        )

    def _batch_size(self, n_fit: int) -> int:
        return auto_batch_size(n_fit) if self.batch_size == "auto" else max(1, int(self.batch_size))

    def _train_loss(self, loss_fn, out, y):
        """Each member's loss on the batch, averaged: ``out`` is (batch, k, d_out)."""
        k = out.shape[1]
        y_k = y.repeat_interleave(k, dim=0)
        return loss_fn(out.float().flatten(0, 1), y_k)

    def _clip(self, module, opt, scaler) -> None:
        import torch

        if self.grad_clip:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(module.parameters(), float(self.grad_clip))


    def _forward(self, X: Any) -> np.ndarray:
        """Predictions in float64 on the CPU: the members' mean then does not depend on how the
        rows are batched (scikit-learn's subset-invariance check), at little cost for prediction."""
        import torch

        check_is_fitted(self, "module_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        module = copy.deepcopy(self.module_).double().eval()
        with torch.no_grad():
            xt = torch.as_tensor(X)
            outs = [module(xt[s : s + 4096]) for s in range(0, len(xt), 4096)]
        return torch.cat(outs).numpy() if outs else np.zeros((0, self.n_out_))


def _compute_bins(X, n_bins: int):
    import rtdl_num_embeddings

    return rtdl_num_embeddings.compute_bins(X, n_bins=n_bins)


class TabMClassifier(_TabMHooks, NeuralClassifier):
    """TabM classifier: cross-entropy per member; the mean of the members' probabilities."""


class TabMRegressor(_TabMHooks, NeuralRegressor):
    """TabM regressor: MSE per member on a standardised target; the members' mean."""


# ---------------------------------------------------------------------------------------------
# Registry entry


def tabm_preprocessor(schema: Schema) -> ColumnTransformer:
    """Categoricals first as ordinal codes (missing and unseen → -1; TabM one-hot encodes them),
    then quantile-normal numerics with missing indicators."""
    parts = []
    if schema.categorical:
        cat = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1, max_categories=64, dtype=float)
        parts.append(("cat", cat, list(schema.categorical)))
    if schema.numeric:
        parts.append(("num", quantile_numerics(), list(schema.numeric)))
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)


def make_tabm(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    cls = TabMClassifier if schema.is_classification else TabMRegressor
    model = cls(**{"n_categorical": len(schema.categorical), "random_state": seed, "n_threads": n_threads, **params})
    return pipeline(tabm_preprocessor(schema), model)


# TabArena's TabM space (tabarena/models/tabm/generate.py). Where TabArena draws 0 half of the
# time (weight decay, dropout) we search the continuous range only; its step sizes (16 for
# d_block, 4 for d_embedding) are left out.
_TABM_SPACE = {
    "lr": log_float(1e-4, 3e-3),
    "weight_decay": log_float(1e-4, 1e-1),
    "n_blocks": int_range(2, 5),
    "d_block": int_range(128, 1024),
    "dropout": uniform_float(0.0, 0.5),
    "d_embedding": int_range(8, 32),
    "n_bins": int_range(2, 128, log=True),
}

SPECS = [
    CandidateSpec(
        name="tabm",
        cost=3.0,
        family="neural",
        factory=make_tabm,
        description="TabM-mini (tabm package): an efficient ensemble of 32 MLPs, piecewise-linear numeric embeddings, early stopping (GPU when present)",
        fixed={},
        spaces=both_kinds(_TABM_SPACE),
    ),
]
