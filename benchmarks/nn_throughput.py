"""Training throughput of the toolkit's MLP against skorch with the same module, epochs, batch
size and optimiser (a measurement, not a test).

    .venv/bin/python benchmarks/nn_throughput.py [--rows 20000] [--features 50] [--epochs 10] [--width 128] [--layers 2] [--device auto]

Prints rows × epochs per second for both, and the ratio (toolkit ÷ skorch). Both train the same
``torch.nn.Sequential`` (built by the toolkit's own builder), with AdamW, the same learning rate,
shuffled mini-batches, no validation split and no early stopping, on the same float32 data.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def toolkit_fit(X, y, *, epochs: int, batch_size: int, device: str, threads: int, width: int, layers: int) -> float:
    from benchmark.candidates.neural import NeuralClassifier

    net = NeuralClassifier(width=width, n_layers=layers, dropout=0.0, lr=1e-3, weight_decay=1e-5, batch_size=batch_size,
                           max_epochs=epochs, patience=epochs + 1, valid_fraction=0.0, device=device, n_threads=threads, amp=True)
    t = time.perf_counter()
    net.fit(X, y)
    return time.perf_counter() - t


def skorch_fit(X, y, *, epochs: int, batch_size: int, device: str, threads: int, width: int, layers: int) -> float:
    import torch
    from skorch import NeuralNetClassifier

    from benchmark.candidates.neural import _build_module, resolve_device

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    module = _build_module("mlp", X.shape[1], 2, n_layers=layers, width=width, dropout=0.0, d_hidden_factor=2.0)
    net = NeuralNetClassifier(
        module, criterion=torch.nn.CrossEntropyLoss, optimizer=torch.optim.AdamW, lr=1e-3, optimizer__weight_decay=1e-5,
        max_epochs=epochs, batch_size=batch_size, train_split=None, iterator_train__shuffle=True,
        device=resolve_device(device), verbose=0,
    )
    t = time.perf_counter()
    net.fit(X, y.astype(np.int64))
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=20_000)
    p.add_argument("--features", type=int, default=50)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    a = p.parse_args()

    from sklearn.datasets import make_classification

    from benchmark.candidates.neural import resolve_device

    X, y = make_classification(n_samples=a.rows, n_features=a.features, n_informative=20, random_state=0)
    X = X.astype(np.float32)
    device = resolve_device(a.device)
    work = a.rows * a.epochs
    kw = dict(epochs=a.epochs, batch_size=a.batch_size, device=device, threads=a.threads, width=a.width, layers=a.layers)
    toolkit_fit(X[:512], y[:512], **{**kw, "epochs": 1})  # warm up imports and kernels
    skorch_fit(X[:512], y[:512], **{**kw, "epochs": 1})
    ours = min(toolkit_fit(X, y, **kw) for _ in range(a.repeats))
    theirs = min(skorch_fit(X, y, **kw) for _ in range(a.repeats))
    print(f"device={device} threads={a.threads} rows={a.rows} features={a.features} epochs={a.epochs} batch={a.batch_size} "
          f"mlp={a.layers}x{a.width} (best of {a.repeats})")
    print(f"toolkit MLP : {ours:7.2f} s  {work / ours:12,.0f} rows*epochs/s")
    print(f"skorch      : {theirs:7.2f} s  {work / theirs:12,.0f} rows*epochs/s")
    print(f"speed-up (skorch time / toolkit time): {theirs / ours:.2f}x")


if __name__ == "__main__":
    main()
