"""Neural nets for tabular data in PyTorch: an MLP and the residual MLP ("ResNet") baseline of
Gorishniy et al. (2021, "Revisiting Deep Learning Models for Tabular Data").

Each net is a scikit-learn estimator (``fit``, ``predict``, ``predict_proba``, ``get_params``,
clone-able) so it drops into pipelines, bagging and stacking. Training is built for in-memory
tabular data:

- the device is chosen once per fit (``cuda`` when available, else CPU; ``device=`` forces it);
  the whole training set is moved there once and mini-batches are index slices of it — no
  per-batch Python data loader;
- on CUDA the forward pass runs under autocast (bf16 where supported, else fp16 with a grad
  scaler);
- early stopping on a validation split carved from the *training rows* passed to ``fit`` (never
  an outer test fold), restoring the best epoch's weights; ``history_`` keeps the per-epoch
  train/validation loss and metric;
- seeded: on CPU two fits with the same ``random_state`` give identical weights. GPU kernels
  are not bit-reproducible, so CUDA results may differ in the last digits.

torch is imported inside ``fit``/``predict`` only, never at module import.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, QuantileTransformer
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from benchmark.candidates.base import CandidateSpec, Schema, both_kinds, pipeline
from benchmark.candidates.spaces import log_float


def resolve_device(device: str = "auto") -> str:
    """``auto`` → ``cuda`` when a GPU is visible, else ``cpu``; anything else is used as given."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but no CUDA device is available; use device='auto' or 'cpu'")
    return device


def _build_module(arch: str, n_in: int, n_out: int, *, n_layers: int, width: int, dropout: float, d_hidden_factor: float):
    """The network: ``mlp`` = (Linear, ReLU, Dropout) × n_layers → Linear;
    ``resnet`` = Linear → n_layers × [BatchNorm, Linear, ReLU, Dropout, Linear, Dropout, + skip]
    → BatchNorm → ReLU → Linear (Gorishniy et al. 2021)."""
    from torch import nn

    from benchmark.candidates._torch_modules import ResidualBlock

    if arch == "mlp":
        layers: list[nn.Module] = []
        d = n_in
        for _ in range(n_layers):
            layers += [nn.Linear(d, width), nn.ReLU(), nn.Dropout(dropout)]
            d = width
        layers.append(nn.Linear(d, n_out))
        return nn.Sequential(*layers)

    if arch != "resnet":
        raise ValueError(f"arch must be 'mlp' or 'resnet' (got {arch!r})")
    hidden = max(1, int(round(width * d_hidden_factor)))

    return nn.Sequential(
        nn.Linear(n_in, width),
        *[ResidualBlock(width, hidden, dropout) for _ in range(n_layers)],
        nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, n_out),
    )


class _TabularNet(BaseEstimator):
    """Shared training loop; see :class:`NeuralClassifier` and :class:`NeuralRegressor`."""

    _classifier = False

    def __init__(
        self,
        *,
        arch: str = "mlp",
        n_layers: int = 2,
        width: int = 128,
        d_hidden_factor: float = 2.0,
        dropout: float = 0.1,
        lr: float = 1e-3,
        weight_decay: float = 1e-5,
        batch_size: int = 128,
        max_epochs: int = 100,
        patience: int = 10,
        valid_fraction: float = 0.15,
        device: str = "auto",
        amp: bool = True,
        n_threads: int | None = None,
        random_state: int | None = 0,
    ) -> None:
        self.arch = arch
        self.n_layers = n_layers
        self.width = width
        self.d_hidden_factor = d_hidden_factor
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.valid_fraction = valid_fraction
        self.device = device
        self.amp = amp
        self.n_threads = n_threads
        self.random_state = random_state

    # -- hooks the subclasses fill in -------------------------------------------------------
    def _encode_y(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        raise NotImplementedError

    def _loss(self):
        raise NotImplementedError

    def _metric(self, out, y) -> float:
        raise NotImplementedError

    # -- training -----------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> _TabularNet:
        """Train with early stopping on a split of these rows; returns self.

        Sets ``history_`` (list of dicts: epoch, train_loss, valid_loss, valid_metric, seconds),
        ``best_epoch_``, ``n_epochs_``, ``device_``, ``fit_seconds_``.
        """
        import torch

        X, y = validate_data(self, X, y, dtype=np.float32, y_numeric=not self._classifier)
        if self._classifier:
            check_classification_targets(y)
        y_enc, n_out = self._encode_y(np.asarray(y))
        seed = 0 if self.random_state is None else int(self.random_state)
        fit_idx, val_idx = self._split(len(X), y_enc, seed)
        device = resolve_device(self.device)
        old_threads = torch.get_num_threads()
        if self.n_threads:
            torch.set_num_threads(int(self.n_threads))
        t0 = time.perf_counter()
        try:
            with torch.random.fork_rng(devices=[torch.device(device)] if device.startswith("cuda") else []):
                torch.manual_seed(seed)
                self._train(X, y_enc, fit_idx, val_idx, n_out, device, seed)
        finally:
            torch.set_num_threads(old_threads)
        self.fit_seconds_ = time.perf_counter() - t0
        self.device_ = device
        return self

    def _split(self, n: int, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        idx = np.arange(n)
        n_val = int(round(n * self.valid_fraction))
        if not 0 < self.valid_fraction < 1 or n_val < 1 or n - n_val < 2:
            return idx, idx[:0]
        strat = y if self._classifier and np.bincount(y).min() >= 2 and n_val >= len(np.unique(y)) else None
        return tuple(train_test_split(idx, test_size=n_val, random_state=seed, stratify=strat))  # type: ignore[return-value]

    # -- hooks a net with another module fills in (see candidates/tabmnet.py) -------------------
    def _make_module(self, X: np.ndarray, fit_idx: np.ndarray, n_out: int):
        """The untrained torch module for ``X`` (rows ``fit_idx`` are the ones it trains on)."""
        return _build_module(
            self.arch, X.shape[1], n_out, n_layers=int(self.n_layers), width=int(self.width),
            dropout=float(self.dropout), d_hidden_factor=float(self.d_hidden_factor),
        )

    def _batch_size(self, n_fit: int) -> int:
        return max(1, int(self.batch_size))

    def _train_loss(self, loss_fn, out, y):
        """The training loss of one batch (a net with several heads averages them here)."""
        return loss_fn(out.float(), y)

    def _clip(self, module, opt, scaler) -> None:
        """Gradient clipping between backward and step; none by default."""

    def _train(self, X, y, fit_idx, val_idx, n_out, device, seed) -> None:
        import torch

        module = self._make_module(X, fit_idx, n_out).to(device)
        loss_fn = self._loss()
        # fused: one kernel for every parameter's update instead of a loop over tensors; a TabM fit
        # (k 8, d_block 128, 1,000 rows) gave the same validation losses with 27% less CPU
        opt = torch.optim.AdamW(module.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay), fused=True)
        Xd = torch.as_tensor(X, device=device)  # moved once; batches are slices on the device
        yd = torch.as_tensor(y, device=device)
        fit_t = torch.as_tensor(fit_idx, device=device)
        val_t = torch.as_tensor(val_idx, device=device)
        autocast, scaler = self._amp(device)
        gen = torch.Generator(device="cpu").manual_seed(seed)
        bs = self._batch_size(len(fit_idx))
        best, best_state, bad, history = float("inf"), None, 0, []
        for epoch in range(1, int(self.max_epochs) + 1):
            t = time.perf_counter()
            module.train()
            order = fit_t[torch.randperm(len(fit_t), generator=gen).to(device)]
            total, count = 0.0, 0
            for start in range(0, len(order), bs):
                idx = order[start : start + bs]
                if len(idx) < 2 and getattr(self, "arch", None) == "resnet":
                    continue  # BatchNorm cannot train on a single row
                with autocast():
                    loss = self._train_loss(loss_fn, module(Xd[idx]), yd[idx])
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                self._clip(module, opt, scaler)
                scaler.step(opt)
                scaler.update()
                total += float(loss.detach()) * len(idx)
                count += len(idx)
            rec = {"epoch": epoch, "train_loss": total / max(count, 1)}
            if len(val_t):
                v_loss, v_metric = self._evaluate(module, Xd, yd, val_t, loss_fn, autocast)
                rec.update(valid_loss=v_loss, valid_metric=v_metric)
                if v_loss < best - 1e-7:
                    best, bad = v_loss, 0
                    best_state = copy.deepcopy(module.state_dict())
                    self.best_epoch_ = epoch
                else:
                    bad += 1
            rec["seconds"] = time.perf_counter() - t
            history.append(rec)
            if len(val_t) and bad >= int(self.patience):
                break
        if best_state is not None:
            module.load_state_dict(best_state)  # restore the best epoch's weights
        else:
            self.best_epoch_ = len(history)
        module.eval()
        self.module_ = module.to("cpu")  # predictions run on the CPU; the fitted estimator pickles anywhere
        self.history_ = history
        self.n_epochs_ = len(history)

    def _amp(self, device: str):
        import contextlib

        import torch

        class _NoScaler:
            def scale(self, loss):
                return loss

            def step(self, opt):
                opt.step()

            def update(self):
                pass

            def unscale_(self, opt):
                pass

        if not (self.amp and device.startswith("cuda")):
            return contextlib.nullcontext, _NoScaler()
        if torch.cuda.is_bf16_supported():
            return (lambda: torch.autocast("cuda", dtype=torch.bfloat16)), _NoScaler()
        return (lambda: torch.autocast("cuda", dtype=torch.float16)), torch.amp.GradScaler("cuda")

    def _evaluate(self, module, Xd, yd, idx, loss_fn, autocast) -> tuple[float, float]:
        import torch

        module.eval()
        with torch.no_grad(), autocast():
            out = torch.cat([module(Xd[idx[s : s + 4096]]).float() for s in range(0, len(idx), 4096)])
        loss = float(loss_fn(out, yd[idx]))
        return loss, self._metric(out, yd[idx])

    def _forward(self, X: Any) -> np.ndarray:
        import torch

        check_is_fitted(self, "module_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        module = self.module_
        module.eval()
        with torch.no_grad():
            xt = torch.as_tensor(X)
            out = torch.cat([module(xt[s : s + 8192]) for s in range(0, len(xt), 8192)]) if len(xt) else torch.zeros((0, self.n_out_))
        return out.float().numpy()


class NeuralClassifier(ClassifierMixin, _TabularNet):
    """MLP or residual MLP classifier (cross-entropy; softmax probabilities)."""

    _classifier = True

    def _encode_y(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.n_out_ = max(2, len(self.classes_))
        return codes.astype(np.int64), self.n_out_

    def _loss(self):
        from torch import nn

        return nn.CrossEntropyLoss()

    def _metric(self, out, y) -> float:
        return float((out.argmax(dim=1) == y).float().mean())  # validation accuracy

    def predict_proba(self, X: Any) -> np.ndarray:
        logits = self._forward(X)
        logits = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        return p if len(self.classes_) > 1 else np.ones((len(p), 1))

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)  # raises NotFittedError before touching classes_
        return self.classes_[proba.argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class NeuralRegressor(RegressorMixin, _TabularNet):
    """MLP or residual MLP regressor (MSE on a standardised target)."""

    def _encode_y(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        y = np.asarray(y, dtype=np.float32).reshape(-1)
        self.y_mean_ = float(y.mean())
        self.y_std_ = float(y.std()) or 1.0
        self.n_out_ = 1
        return ((y - self.y_mean_) / self.y_std_).reshape(-1, 1).astype(np.float32), 1

    def _loss(self):
        from torch import nn

        return nn.MSELoss()

    def _metric(self, out, y) -> float:
        return float(((out - y) ** 2).mean().sqrt()) * self.y_std_  # validation RMSE in target units

    def predict(self, X: Any) -> np.ndarray:
        return self._forward(X).reshape(-1).astype(np.float64) * self.y_std_ + self.y_mean_


# ---------------------------------------------------------------------------------------------
# Registry entries


def neural_preprocessor(schema: Schema) -> ColumnTransformer:
    """Median-impute and quantile-transform numerics to a normal shape; one-hot categoricals."""
    parts = []
    if schema.categorical:
        cat = make_pipeline(
            SimpleImputer(strategy="most_frequent", keep_empty_features=True),
            OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=30, sparse_output=False),
        )
        parts.append(("cat", cat, list(schema.categorical)))
    if schema.numeric:
        parts.append(("num", quantile_numerics(), list(schema.numeric)))
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)


def quantile_numerics():
    """Median-impute (+ missing indicators), then quantile-transform numerics to a normal shape."""
    return make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        QuantileTransformer(output_distribution="normal", n_quantiles=256, subsample=100_000, random_state=0),
    )


def _make(arch: str):
    def factory(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
        cls = NeuralClassifier if schema.is_classification else NeuralRegressor
        model = cls(**{"arch": arch, "random_state": seed, "n_threads": n_threads, **params})
        return pipeline(neural_preprocessor(schema), model)

    factory.__name__ = f"make_{arch}"
    factory.__qualname__ = f"make_{arch}"
    return factory


make_mlp = _make("mlp")
make_resnet = _make("resnet")


_COMMON = {
    "lr": log_float(1e-4, 1e-2),
    "weight_decay": log_float(1e-6, 1e-3),
    "dropout": {"type": "float", "low": 0.0, "high": 0.5, "log": False},
    "batch_size": {"type": "categorical", "choices": [64, 128, 256, 512]},
}
_MLP_SPACE = {"n_layers": {"type": "int", "low": 1, "high": 4, "log": False}, "width": {"type": "int", "low": 32, "high": 512, "log": True}, **_COMMON}
_RESNET_SPACE = {
    "n_layers": {"type": "int", "low": 1, "high": 4, "log": False},
    "width": {"type": "int", "low": 32, "high": 256, "log": True},
    "d_hidden_factor": {"type": "float", "low": 1.0, "high": 4.0, "log": False},
    **_COMMON,
}

SPECS = [
    CandidateSpec(
        name="mlp",
        cost=1.2,
        family="neural",
        factory=make_mlp,
        description="PyTorch MLP (GPU when present), quantile-normal numerics, one-hot categoricals, early stopping",
        fixed={"max_epochs": 100, "patience": 10},
        spaces=both_kinds(_MLP_SPACE),
    ),
    CandidateSpec(
        name="resnet",
        cost=2.0,
        family="neural",
        factory=make_resnet,
        description="PyTorch residual MLP (Gorishniy et al. 2021), BatchNorm blocks with skips, early stopping",
        fixed={"max_epochs": 100, "patience": 10},
        spaces=both_kinds(_RESNET_SPACE),
    ),
]
