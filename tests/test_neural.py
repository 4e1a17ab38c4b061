"""The PyTorch candidates: scikit-learn compatible, reproducible on CPU, honest early stopping."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from benchmark.candidates import Schema, build_estimator, default_config
from benchmark.candidates.neural import NeuralClassifier, NeuralRegressor, resolve_device
from benchmark.testing import make_frame


def _bc():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


@parametrize_with_checks(
    [
        NeuralClassifier(max_epochs=60, width=32, lr=1e-2, n_threads=1),
        NeuralRegressor(max_epochs=60, width=32, lr=1e-2, n_threads=1),
        NeuralClassifier(arch="resnet", max_epochs=60, width=32, lr=1e-2, n_threads=1),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


@pytest.mark.parametrize("arch", ["mlp", "resnet"])
def test_same_seed_same_weights_on_cpu(arch):
    X, y = _bc()
    a = NeuralClassifier(arch=arch, random_state=3, max_epochs=15, n_threads=1).fit(X[:300], y[:300])
    b = clone(a).fit(X[:300], y[:300])
    c = NeuralClassifier(arch=arch, random_state=4, max_epochs=15, n_threads=1).fit(X[:300], y[:300])
    assert a.device_ == "cpu" and resolve_device("auto") == "cpu"
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.history_ == [] or [h["train_loss"] for h in a.history_] == [h["train_loss"] for h in b.history_]
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_can_overfit_a_small_batch():
    """Sanity check: with no regularisation the net drives the training loss near zero."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 10)).astype(np.float32)
    y = rng.integers(0, 2, 32)  # random labels: only memorisation can fit them
    net = NeuralClassifier(width=128, n_layers=2, dropout=0.0, weight_decay=0.0, lr=1e-2, batch_size=32, max_epochs=300, valid_fraction=0.0, n_threads=1)
    net.fit(X, y)
    assert net.history_[-1]["train_loss"] < 0.05
    assert (net.predict(X) == y).all()


def test_early_stopping_restores_the_best_epoch_and_keeps_history():
    X, y = load_diabetes(return_X_y=True)
    net = NeuralRegressor(max_epochs=200, patience=5, lr=3e-2, width=256, n_threads=1, random_state=0).fit(X, y)
    hist = net.history_
    assert {"epoch", "train_loss", "valid_loss", "valid_metric"} <= set(hist[0])
    best = min(range(len(hist)), key=lambda i: hist[i]["valid_loss"])
    assert net.best_epoch_ == hist[best]["epoch"]
    assert net.n_epochs_ < 200 and net.n_epochs_ - net.best_epoch_ == 5  # stopped after `patience` bad epochs


def test_validation_rows_are_carved_from_the_training_rows_only(monkeypatch):
    """Early stopping sees only rows passed to fit; in a run those are outer-training rows."""
    from benchmark.candidates import neural
    from benchmark.data.build import from_frame
    from benchmark.run.worker import Job, TaskRef, preload_tasks, run_job
    from benchmark.splits import make_plan

    X = make_frame(120)
    y = (X["x1"].fillna(0) > 0).astype(int).to_numpy()
    task = from_frame(X, y, name="nn-leak")
    preload_tasks({"nn-leak": task})
    plan = make_plan(task.y, classification=True, folds=3, inner=2, seed=0)
    seen = []
    real_split = neural._TabularNet._split

    def spy(self, n, y_enc, seed):
        seen.append(n)
        return real_split(self, n, y_enc, seed)

    monkeypatch.setattr(neural._TabularNet, "_split", spy)
    cfg = default_config("mlp")
    job = Job(TaskRef("nn-leak", task.data_hash), cfg, plan.folds[0], "roc_auc", 2, None, "tpe", 0, plan.hash)
    rec = run_job(job)
    assert rec["state"] == "ok", rec.get("error")
    fold = plan.folds[0]
    allowed = {len(fit) for fit, _ in fold.inner} | {len(fold.train)}
    assert seen and set(seen) <= allowed  # inner fits and the final refit; never the outer test rows
    assert max(seen) == len(fold.train) < len(task.y)


@pytest.mark.parametrize("name", ["mlp", "resnet"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_registered_nets_fit_in_pipelines(name, kind):
    X = make_frame(120)
    rng = np.random.default_rng(0)
    k = {"binary": 2, "multiclass": 3, "regression": 0}[kind]
    y = rng.normal(size=120) if kind == "regression" else rng.integers(0, k, 120)
    cats = ("color",)
    schema = Schema(kind, categorical=cats, numeric=tuple(c for c in X.columns if c not in cats), n_classes=k)
    est = build_estimator(default_config(name), schema, {"max_epochs": 5}, seed=0)
    est.fit(X.iloc[:100], y[:100])
    out = est.predict_proba(X.iloc[100:]) if k else est.predict(X.iloc[100:])
    assert out.shape == ((20, k) if k else (20,)) and np.isfinite(out).all()
    assert clone(est).get_params()["model__arch"] == name.replace("resnet", "resnet")
