"""One-off check of the CUDA path of every neural candidate: mlp, resnet, realmlp, tabm.

Run from the repository root on a machine with an NVIDIA GPU:

    python benchmarks/gpu_nets.py              # about 2-3 minutes; exit 0 = every check passed
    python benchmarks/gpu_nets.py --device cpu # the same script without a GPU (smoke test)

For each net it

1. trains on scikit-learn's bundled breast-cancer data (no download) on ``cuda`` with AMP
   (and realmlp also without, its default: compare the two AUCs),
   and asserts, from a forward hook on every torch module, that the forward passes ran on the
   GPU, that the parameters lived there, and that autocast produced bf16/fp16 activations;
2. trains the same configuration on the CPU and prints fit seconds (GPU vs CPU) and the test
   ROC AUC of both (they should be close; GPU runs are not bit-identical);
3. times a fixed number of epochs on a larger synthetic set (10,000 × 40) on both devices.

A global budget (``--budget``, 200 s) skips the remaining CPU timings if the machine is slow,
so the script ends well under 4 minutes. Needs torch (a CUDA build), numpy, scipy, pandas,
scikit-learn, and for the new candidates pytabkit (with pytorch-lightning, torchmetrics,
lightning-utilities), tabm and rtdl_num_embeddings. If any is missing it says which and how to
install them, and exits 2.

On a machine without internet, bring the pure-Python wheels of the new candidates (about 3 MB,
any Python 3.10+), made on a machine with PyPI access:

    pip download --no-deps -d wheels pytabkit==1.8.0 tabm==0.0.3 rtdl_num_embeddings==0.0.12 \
        pytorch-lightning==2.6.6 torchmetrics==1.9.0 lightning-utilities==0.15.3 fsspec==2026.9.0 \
        packaging==26.4 typing_extensions==4.16.0 psutil==7.2.2 tqdm==4.70.1

and install them there with ``pip install --no-index --no-deps wheels/*.whl`` (torch with CUDA,
numpy, scipy, pandas, scikit-learn and PyYAML are expected on the GPU machine; their wheels are
specific to its Python version).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time

NEEDED = {  # import name -> pip requirement (the versions pinned in constraints.txt)
    "torch": "torch (a CUDA build, already on the GPU machine)",
    "numpy": "numpy", "scipy": "scipy", "pandas": "pandas", "sklearn": "scikit-learn>=1.6",
    "pytabkit": "pytabkit==1.8.0", "pytorch_lightning": "pytorch-lightning==2.6.6",
    "torchmetrics": "torchmetrics==1.9.0", "lightning_utilities": "lightning-utilities==0.15.3",
    "tabm": "tabm==0.0.3", "rtdl_num_embeddings": "rtdl_num_embeddings==0.0.12",
    "typing_extensions": "typing_extensions", "fsspec": "fsspec", "psutil": "psutil", "packaging": "packaging",
    "tqdm": "tqdm", "yaml": "PyYAML",
}
NETS = ("mlp", "resnet", "realmlp", "tabm")


def missing_packages() -> dict[str, str]:
    """import name -> requirement, for each needed package that cannot be imported."""
    return {mod: req for mod, req in NEEDED.items() if importlib.util.find_spec(mod) is None}


class ForwardSpy:
    """A global forward hook on every torch module: where forward passes ran and in which dtype."""

    def __init__(self) -> None:
        import torch

        self.devices: set[str] = set()
        self.param_devices: set[str] = set()
        self.dtypes: set[str] = set()
        self._handle = torch.nn.modules.module.register_module_forward_hook(self._hook)

    def _hook(self, module, args, output) -> None:
        self._record(output, depth=0)
        for p in module.parameters(recurse=False):
            self.param_devices.add(p.device.type)
            break

    def _record(self, out, depth: int) -> None:
        """Tensors in the output, also inside dicts, tuples and lists (pytabkit's layers pass dicts)."""
        import torch

        if isinstance(out, torch.Tensor):
            if out.is_floating_point():
                self.devices.add(out.device.type)
                self.dtypes.add(str(out.dtype).replace("torch.", ""))
        elif depth < 2 and isinstance(out, dict):
            for v in out.values():
                self._record(v, depth + 1)
        elif depth < 2 and isinstance(out, (tuple, list)):
            for v in out:
                self._record(v, depth + 1)

    def close(self) -> None:
        self._handle.remove()


def make_net(name: str, kind: str, *, device: str, epochs: int | None, threads: int, amp: bool = True):
    """The registered candidate as a suite would build it, on ``device``, at its defaults, with
    AMP on (realmlp's default is off: bf16 costs it accuracy; ``amp=False`` gives that)."""
    from benchmark.candidates import Schema, build_estimator, default_config

    params: dict = {"device": device, "amp": amp}
    if epochs is not None:
        params.update({"n_epochs": epochs} if name == "realmlp" else {"max_epochs": epochs, "patience": epochs + 1})
    elif name in ("mlp", "resnet"):
        params.update(max_epochs=100, patience=10)
    elif name == "tabm":
        params.update(max_epochs=200, patience=16)
    n_num = 30 if kind == "bc" else 40
    schema = Schema("binary", categorical=("cat",), numeric=tuple(f"f{i}" for i in range(n_num)), n_classes=2)
    return build_estimator(default_config(name), schema, params, seed=0, n_threads=threads)


def frame(X):
    """Features as the runner passes them: a DataFrame, here with one categorical column too
    (the quartile of the first feature), so the categorical path runs on the device as well."""
    import numpy as np
    import pandas as pd

    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    df["cat"] = pd.Categorical(np.array(list("abcd"))[np.digitize(X[:, 0], np.quantile(X[:, 0], [0.25, 0.5, 0.75]))])
    return df


def fit_score(name: str, X_tr, y_tr, X_te, y_te, *, device: str, epochs: int | None, threads: int, kind: str, amp: bool = True) -> dict:
    from sklearn.metrics import roc_auc_score

    X_tr, X_te = frame(X_tr), frame(X_te)
    est = make_net(name, kind, device=device, epochs=epochs, threads=threads, amp=amp)
    spy = ForwardSpy()
    t0 = time.perf_counter()
    try:
        est.fit(X_tr, y_tr)
    finally:
        spy.close()
    seconds = time.perf_counter() - t0
    auc = roc_auc_score(y_te, est.predict_proba(X_te)[:, 1])
    last = est[-1]
    return {"seconds": seconds, "auc": auc, "devices": spy.devices, "param_devices": spy.param_devices,
            "dtypes": spy.dtypes, "device_": getattr(last, "device_", None), "epochs": getattr(last, "n_epochs_", None) or getattr(last, "best_epoch_", None)}


def check_gpu_run(name: str, r: dict, device: str) -> list[str]:
    """What is wrong with a run that should have trained on ``device`` with AMP (empty = fine)."""
    problems = []
    if not str(r["device_"]).startswith(device):
        problems.append(f"device_ is {r['device_']!r}")
    if device not in r["devices"]:
        problems.append(f"no forward pass ran on {device} (saw {sorted(r['devices'])})")
    if r["param_devices"] and device not in r["param_devices"]:  # pytabkit keeps some weights outside parameters()
        problems.append(f"no parameters on {device} (saw {sorted(r['param_devices'])})")
    if device == "cuda" and not ({"bfloat16", "float16"} & r["dtypes"]):
        problems.append(f"AMP not active: activations only in {sorted(r['dtypes'])}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu for a smoke test without a GPU")
    ap.add_argument("--nets", default=",".join(NETS))
    ap.add_argument("--threads", type=int, default=min(8, os.cpu_count() or 1), help="CPU threads for the CPU fits")
    ap.add_argument("--budget", type=float, default=200.0, help="seconds after which remaining CPU timings are skipped")
    ap.add_argument("--rows", type=int, default=10_000, help="rows of the synthetic throughput set (0 = skip)")
    ap.add_argument("--quick", action="store_true", help="tiny epochs everywhere (a smoke test of the script itself)")
    a = ap.parse_args()

    missing = missing_packages()
    if missing:
        print("benchmarks/gpu_nets.py: missing Python packages: " + ", ".join(missing.values()), file=sys.stderr)
        pips = " ".join(f"'{req}'" for mod, req in missing.items() if mod != "torch")
        print("  install them from the wheels carried next to the repository:\n"
              "    pip install --no-index --no-deps wheels/*.whl\n"
              f"  (or, with internet: pip install -c constraints.txt {pips})", file=sys.stderr)
        return 2
    import numpy as np
    import torch

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository's `benchmark`
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"benchmarks/gpu_nets.py: torch {torch.__version__} sees no CUDA device; run with --device cpu for a smoke test", file=sys.stderr)
        return 2
    from sklearn.datasets import load_breast_cancer, make_classification
    from sklearn.model_selection import train_test_split

    start = time.perf_counter()
    gpu = a.device
    nets = [n.strip() for n in a.nets.split(",") if n.strip()]
    name = torch.cuda.get_device_name(0) if gpu.startswith("cuda") else "none"
    print(f"torch {torch.__version__}  device={gpu} ({name})  bf16={gpu.startswith('cuda') and torch.cuda.is_bf16_supported()}  CPU threads={a.threads}")

    X, y = load_breast_cancer(return_X_y=True)
    warm = make_net("mlp", "bc", device=gpu, epochs=1, threads=a.threads)  # imports and CUDA context before timing
    warm.fit(frame(X[:64].astype(np.float32)), y[:64])
    X_tr, X_te, y_tr, y_te = train_test_split(X.astype(np.float32), y, test_size=0.25, random_state=0, stratify=y)
    epochs = 3 if a.quick else None
    failures: list[str] = []
    print("\n1. breast_cancer (426 train / 143 test rows), default configuration of each candidate")
    print(f"{'net':8} {'device':6} {'fit s':>8} {'test AUC':>9} {'epochs':>6}  forward dtypes")
    for net in nets:
        for device in (gpu, "cpu") if gpu != "cpu" else ("cpu",):
            if device == "cpu" and gpu != "cpu" and time.perf_counter() - start > a.budget:
                print(f"{net:8} {device:6}  skipped (over the {a.budget:.0f} s budget)")
                continue
            try:
                r = fit_score(net, X_tr, y_tr, X_te, y_te, device=device, epochs=epochs, threads=a.threads, kind="bc")
            except Exception as exc:  # report and go on: one broken net must not hide the others
                failures.append(f"{net} on {device}: {type(exc).__name__}: {exc}")
                print(f"{net:8} {device:6}  FAILED {type(exc).__name__}: {exc}")
                continue
            print(f"{net:8} {device:6} {r['seconds']:8.2f} {r['auc']:9.4f} {str(r['epochs']):>6}  {','.join(sorted(r['dtypes']))}")
            if device == gpu:
                failures += [f"{net} on {device}: {p}" for p in check_gpu_run(net, r, device.split(":")[0])]
        if net == "realmlp" and gpu != "cpu":  # its default: no AMP (bf16 costs RealMLP accuracy)
            try:
                r = fit_score(net, X_tr, y_tr, X_te, y_te, device=gpu, epochs=epochs, threads=a.threads, kind="bc", amp=False)
                print(f"{'realmlp':8} {'fp32':6} {r['seconds']:8.2f} {r['auc']:9.4f} {str(r['epochs']):>6}  {','.join(sorted(r['dtypes']))}"
                      "   <- realmlp's default (amp off) on the GPU")
            except Exception as exc:
                failures.append(f"realmlp on {gpu} without AMP: {type(exc).__name__}: {exc}")

    if a.rows and time.perf_counter() - start < a.budget:
        Xs, ys = make_classification(n_samples=a.rows, n_features=40, n_informative=20, random_state=0)
        Xs_tr, Xs_te, ys_tr, ys_te = train_test_split(Xs.astype(np.float32), ys, test_size=0.2, random_state=0)
        ep = 2 if a.quick else 3
        print(f"\n2. throughput: synthetic {a.rows:,} x 40, {ep} epochs each (no early stopping)")
        print(f"{'net':8} {'device':6} {'fit s':>8} {'test AUC':>9}")
        for net in nets:
            for device in (gpu, "cpu") if gpu != "cpu" else ("cpu",):
                if time.perf_counter() - start > a.budget:
                    print(f"{net:8} {device:6}  skipped (over the {a.budget:.0f} s budget)")
                    continue
                try:
                    r = fit_score(net, Xs_tr, ys_tr, Xs_te, ys_te, device=device, epochs=ep, threads=a.threads, kind="syn")
                except Exception as exc:
                    failures.append(f"{net} on {device} (throughput): {type(exc).__name__}: {exc}")
                    print(f"{net:8} {device:6}  FAILED {type(exc).__name__}: {exc}")
                    continue
                print(f"{net:8} {device:6} {r['seconds']:8.2f} {r['auc']:9.4f}")

    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print(f"OK: every net trained on {gpu}" + (" with AMP (bf16/fp16 activations seen)" if gpu.startswith("cuda") else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
