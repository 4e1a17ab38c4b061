"""RealMLP (Holzmüller et al., NeurIPS 2024, "Better by Default"): pytabkit's RealMLP as a candidate.

The estimators here are thin scikit-learn wrappers around ``pytabkit.RealMLP_TD_Classifier`` /
``RealMLP_TD_Regressor``; pytabkit does the training. Every parameter left at ``None`` takes
pytabkit's tuned default ("TD"), so the candidate's first trial is RealMLP-TD. RealMLP keeps
its own preprocessing: robust scaling and smooth clipping of numerics, one-hot encoding of small
categoricals and learned embeddings of large ones, PBLD numeric embeddings. Our pipeline only
median-imputes numerics (pytabkit refuses missing numerics) and ordinal-codes categoricals,
which are then passed to pytabkit as categorical columns (``n_categorical`` leading columns).

What the wrapper adds, as for every net here:

- early stopping on a split carved from the rows passed to ``fit`` (``valid_fraction``; pytabkit
  selects the best epoch on it, and with ``use_early_stopping`` stops early);
- ``device="auto"`` (CUDA when present); after fitting the model moves to the CPU, so
  predictions run anywhere;
- AMP on CUDA as an option, **off by default**: pytabkit trains in float32 (and turns TF32 off
  on purpose); ``amp=True`` runs its training loop under ``torch.autocast`` (bf16 where
  supported, else fp16). Measured with bf16 autocast on the CPU (same kernels' precision), it
  costs RealMLP accuracy badly — breast_cancer AUC 0.987 → 0.956, diabetes RMSE 58 → 148 — so
  it stays off unless a GPU run (``benchmarks/gpu_nets.py``) shows otherwise;
- seeded: ``random_state`` fixes the split, the initialisation and the batch order; two CPU
  fits with the same seed give identical predictions;
- ``device_``, ``fit_seconds_``, ``best_epoch_`` for the run records;
- the validation metric that picks the best epoch is cross-entropy for classification (as
  TabArena passes the task's metric; TD would use the classification error), RMSE for regression.

pytabkit and torch are imported inside ``fit`` only.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from benchmark.candidates.base import CandidateSpec, Schema, ordinal_preprocessor, pipeline
from benchmark.candidates.spaces import int_range, log_float, uniform_float

#: the wrapper's own parameters; every other one is a pytabkit RealMLP option (None = TD default)
_OWN = ("n_categorical", "one_minus_sq_mom", "valid_fraction", "device", "amp", "n_threads", "random_state")


class _RealMLP(BaseEstimator):
    _classifier = False

    def __init__(
        self,
        *,
        n_epochs: int | None = None,
        batch_size: int | None = None,
        lr: float | None = None,
        wd: float | None = None,
        p_drop: float | None = None,
        p_drop_sched: str | None = None,
        act: str | None = None,
        n_hidden_layers: int | None = None,
        hidden_width: int | None = None,
        num_emb_type: str | None = None,
        plr_sigma: float | None = None,
        plr_hidden_1: int | None = None,
        plr_hidden_2: int | None = None,
        plr_lr_factor: float | None = None,
        scale_lr_factor: float | None = None,
        first_layer_lr_factor: float | None = None,
        one_minus_sq_mom: float | None = None,
        use_ls: bool | None = None,
        ls_eps: float | None = None,
        ls_eps_sched: str | None = None,
        add_front_scale: bool | None = None,
        max_one_hot_cat_size: int | None = None,
        use_early_stopping: bool | None = None,
        val_metric_name: str | None = None,
        n_categorical: int = 0,
        valid_fraction: float = 0.2,
        device: str = "auto",
        amp: bool = False,
        n_threads: int | None = None,
        random_state: int | None = 0,
    ) -> None:
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.wd = wd
        self.p_drop = p_drop
        self.p_drop_sched = p_drop_sched
        self.act = act
        self.n_hidden_layers = n_hidden_layers
        self.hidden_width = hidden_width
        self.num_emb_type = num_emb_type
        self.plr_sigma = plr_sigma
        self.plr_hidden_1 = plr_hidden_1
        self.plr_hidden_2 = plr_hidden_2
        self.plr_lr_factor = plr_lr_factor
        self.scale_lr_factor = scale_lr_factor
        self.first_layer_lr_factor = first_layer_lr_factor
        self.one_minus_sq_mom = one_minus_sq_mom
        self.use_ls = use_ls
        self.ls_eps = ls_eps
        self.ls_eps_sched = ls_eps_sched
        self.add_front_scale = add_front_scale
        self.max_one_hot_cat_size = max_one_hot_cat_size
        self.use_early_stopping = use_early_stopping
        self.val_metric_name = val_metric_name
        self.n_categorical = n_categorical
        self.valid_fraction = valid_fraction
        self.device = device
        self.amp = amp
        self.n_threads = n_threads
        self.random_state = random_state

    def _pytabkit_options(self) -> dict[str, Any]:
        """The pytabkit options this estimator sets (None values left out: pytabkit's TD default)."""
        opts = {k: v for k, v in self.get_params(deep=False).items() if k not in _OWN and v is not None}
        if self.one_minus_sq_mom is not None:
            opts["sq_mom"] = 1.0 - float(self.one_minus_sq_mom)
        if self.n_hidden_layers is not None or self.hidden_width is not None:
            opts["hidden_sizes"] = "rectangular"
            opts.setdefault("n_hidden_layers", 3)
            opts.setdefault("hidden_width", 256)
        if self._classifier:
            opts.setdefault("val_metric_name", "cross_entropy")
        for key in ("n_epochs", "batch_size", "n_hidden_layers", "hidden_width", "plr_hidden_1", "plr_hidden_2", "max_one_hot_cat_size"):
            if key in opts:
                opts[key] = int(opts[key])
        return opts

    def fit(self, X: Any, y: Any) -> _RealMLP:
        """Train RealMLP on these rows (its validation split is carved from them); returns self."""
        import torch

        from benchmark.candidates.neural import resolve_device

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*LeafSpec.*")  # lightning's deprecation notice on import
            from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

        X, y = validate_data(self, X, y, dtype=np.float32, y_numeric=not self._classifier)
        if self._classifier:
            check_classification_targets(y)
        device = resolve_device(self.device)
        n_cat = min(max(0, int(self.n_categorical)), X.shape[1])
        cls = RealMLP_TD_Classifier if self._classifier else RealMLP_TD_Regressor
        model = cls(
            device=device, random_state=0 if self.random_state is None else int(self.random_state),
            val_fraction=float(self.valid_fraction), n_threads=self.n_threads or None, verbosity=0,
            **self._pytabkit_options(),
        )
        old_threads = torch.get_num_threads()
        t0 = time.perf_counter()
        try:
            with self._autocast(device), warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*LeafSpec.*")  # lightning's deprecation notice
                model.fit(X, y, cat_indicator=[j < n_cat for j in range(X.shape[1])])
        finally:
            torch.set_num_threads(old_threads)
        self.fit_seconds_ = time.perf_counter() - t0
        self.device_ = device
        if device != "cpu":
            model.to("cpu")  # predictions run on the CPU; the fitted estimator pickles anywhere
        self.model_ = model
        self.best_epoch_ = _best_epoch(model)
        if self._classifier:
            self.classes_ = np.asarray(model.classes_)
        return self

    def _autocast(self, device: str):
        import torch

        if not (self.amp and device.startswith("cuda")):
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)

    def _check(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        return validate_data(self, X, dtype=np.float32, reset=False)


def _best_epoch(model: Any) -> int | None:
    """The epoch pytabkit kept (best on the validation split), when it says; else None."""
    params = getattr(getattr(model, "cv_alg_interface_", None), "fit_params", None)
    try:
        epoch = params[0]["stop_epoch"]  # type: ignore[index]  # {validation metric: epoch}
        if isinstance(epoch, dict):
            epoch = next(iter(epoch.values()))
        return int(epoch)
    except (TypeError, IndexError, AttributeError, KeyError, StopIteration, ValueError):
        return None


class RealMLPClassifier(ClassifierMixin, _RealMLP):
    """RealMLP classifier (pytabkit RealMLP-TD defaults; see the module docstring)."""

    _classifier = True

    def predict_proba(self, X: Any) -> np.ndarray:
        X = self._check(X)
        if not len(X):
            return np.zeros((0, len(self.classes_)))
        return np.asarray(self.model_.predict_proba(X), dtype=np.float64)

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class RealMLPRegressor(RegressorMixin, _RealMLP):
    """RealMLP regressor (pytabkit RealMLP-TD defaults; see the module docstring)."""

    def predict(self, X: Any) -> np.ndarray:
        X = self._check(X)
        if not len(X):
            return np.zeros(0)
        return np.asarray(self.model_.predict(X), dtype=np.float64).reshape(-1)


# ---------------------------------------------------------------------------------------------
# Registry entry


def make_realmlp(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    cls = RealMLPClassifier if schema.is_classification else RealMLPRegressor
    model = cls(**{"n_categorical": len(schema.categorical), "random_state": seed, "n_threads": n_threads, **params})
    return pipeline(ordinal_preprocessor(schema, impute=True), model)


# The RealMLP-HPO space of the paper as TabArena samples it (tabarena/models/realmlp/generate.py).
# Single-choice entries are fixed in tuned trials but not in trial 0 (TD). TabArena's "large
# config" switch (wider PLR layers, 512 epochs, early stopping) becomes independent choices; the
# epoch count stays a fixed parameter so suites can cap it.
_COMMON = {
    "hidden_width": {"type": "categorical", "choices": [256, 384, 512]},
    "p_drop": uniform_float(0.0, 0.5),
    "act": {"type": "categorical", "choices": ["mish"]},
    "plr_sigma": log_float(1e-2, 50.0),
    "one_minus_sq_mom": log_float(5e-3, 5e-2),
    "plr_lr_factor": log_float(5e-2, 3e-1),
    "scale_lr_factor": log_float(2.0, 10.0),
    "first_layer_lr_factor": log_float(0.3, 1.5),
    "plr_hidden_1": {"type": "categorical", "choices": [8, 16, 32, 64]},
    "plr_hidden_2": {"type": "categorical", "choices": [4, 8, 16, 32, 64]},
    "use_early_stopping": {"type": "categorical", "choices": [False, True]},
}
_CLASSIFICATION_SPACE = {
    **_COMMON,
    "n_hidden_layers": int_range(1, 3),
    "lr": log_float(1e-2, 5e-1),
    "wd": log_float(5e-3, 5e-2),
    "p_drop_sched": {"type": "categorical", "choices": ["constant"]},
    "ls_eps": log_float(5e-3, 2e-1),
    "ls_eps_sched": {"type": "categorical", "choices": ["coslog4"]},
}
_REGRESSION_SPACE = {
    **_COMMON,
    "n_hidden_layers": int_range(2, 4),
    "lr": log_float(3e-2, 3e-1),
    "wd": log_float(1e-3, 5e-2),
    "p_drop_sched": {"type": "categorical", "choices": ["flat_cos"]},
}

SPECS = [
    CandidateSpec(
        name="realmlp",
        cost=2.5,
        family="neural",
        factory=make_realmlp,
        description="RealMLP (pytabkit): tuned defaults first, robust scaling + smooth clipping, PBLD embeddings, best epoch on a carved split (GPU when present)",
        fixed={},
        spaces={"classification": _CLASSIFICATION_SPACE, "regression": _REGRESSION_SPACE},
    ),
]
