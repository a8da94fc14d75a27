#!/usr/bin/env python3
"""Flower-style FedAvg aggregation in numpy: the baseline of confed's Flower rows.

aggregate() below reproduces faithfully `aggregate` in Flower's
flwr/server/strategy/aggregate.py (Apache-2.0, Flower Labs GmbH): the same
numpy operations in the same order (weighted_weights = [[layer *
num_examples ...]], then reduce(np.add, ...) / num_examples_total per
layer). flwr.server.strategy.FedAvg.aggregate_fit calls it with
inplace=False once it has collected every client's result and converted it
to numpy arrays (parameters_to_ndarrays). aggregate_inplace() follows the
algorithm of `aggregate_inplace` in the same file, which FedAvg uses when
inplace=True (its default in recent releases); it starts from the
serialized parameters, as Flower's does. Flower itself is not needed and
not imported; only numpy is used.

Usage:
  aggregate.py --n N --d D [--repeat R] [--variant aggregate|inplace]
      builds N float32 updates of D parameters, times R aggregations and prints
      one JSON object: seconds (each run), peak RSS, numpy and BLAS details.
  aggregate.py --n N --d D --serve [--variant ...]
      builds the updates, prints a JSON "ready" line, then for each line
      "run" on stdin aggregates once and prints {"seconds": ...}; "stats"
      prints the peak RSS; end of input exits. confed's Go benchmark
      (bench/flower.go) drives this mode and times each "run" itself.

The layers mirror bench.UpdateSpec: "bias" [1000] and "weight"
[D/1000 - 1, 1000] when D is a multiple of 1000 of at least 2000, else one
layer [D]. Client i has num_examples = 100 + i.
"""

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import sys
import time
from functools import partial, reduce

import numpy as np


# ---- Flower's aggregation, reproduced ----

def aggregate(results):
    """Flower's aggregate(): the example-weighted average of every client's
    layers. results is a list of (list of numpy arrays, num_examples). The
    three computations are the ones of flwr/server/strategy/aggregate.py:
    a weighted copy of every layer of every client, then per layer a
    reduce(np.add, ...) over the clients divided by the total count."""
    num_examples_total = sum(num_examples for (_, num_examples) in results)
    weighted_weights = [
        [layer * num_examples for layer in weights] for weights, num_examples in results
    ]
    weights_prime = [
        reduce(np.add, layer_updates) / num_examples_total
        for layer_updates in zip(*weighted_weights)
    ]
    return weights_prime


def ndarray_to_bytes(ndarray):
    """Serialize one array as Flower's parameters do (np.save, no pickle)."""
    buf = io.BytesIO()
    np.save(buf, ndarray, allow_pickle=False)
    return buf.getvalue()


def parameters_to_ndarrays(tensors):
    """Deserialize a client's parameters as Flower does (np.load each)."""
    return [np.load(io.BytesIO(t), allow_pickle=False) for t in tensors]


def aggregate_inplace(results):
    """The algorithm of Flower's aggregate_inplace(), which FedAvg uses with
    inplace=True: clients are deserialized one at a time, each layer scaled
    by num_examples / total in place (in the array's dtype) and added in
    place into the first client's arrays. results is a list of (list of
    serialized layers, num_examples): Flower passes (ClientProxy, FitRes)
    pairs and reads fit_res.parameters and fit_res.num_examples."""
    total = sum(num_examples for (_, num_examples) in results)
    factors = np.asarray([num_examples / total for _, num_examples in results])

    def scale(x, f):
        # in place; a float64 factor is cast to the array's dtype first
        # where numpy would not do it under same_kind casting
        if not np.can_cast(f, x.dtype, casting="same_kind"):
            f = np.array(f, x.dtype)
        return np.multiply(x, f, out=x)

    acc = [scale(x, factors[0]) for x in parameters_to_ndarrays(results[0][0])]
    for i, (tensors, _) in enumerate(results[1:], start=1):
        for a, x in zip(acc, parameters_to_ndarrays(tensors)):
            np.add(a, scale(x, factors[i]), out=a)
    return acc


# ---- the benchmark around it ----

def layer_shapes(d):
    if d % 1000 == 0 and d >= 2000:
        return [(1000,), (d // 1000 - 1, 1000)]
    return [(d,)]


def build(n, d, variant):
    """N clients' results: ndarrays (aggregate) or serialized (inplace)."""
    rng = np.random.default_rng(1)
    results = []
    for i in range(n):
        layers = []
        for shape in layer_shapes(d):
            x = rng.standard_normal(shape, dtype=np.float32)
            x *= np.float32(0.01)
            layers.append(ndarray_to_bytes(x) if variant == "inplace" else x)
        results.append((layers, 100 + i))
    return results


def status_kib(field):
    """VmRSS / VmHWM of this process from /proc/self/status, in KiB (Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def build_config():
    """The BLAS and LAPACK numpy was built against (numpy.show_config)."""
    try:  # numpy >= 1.26
        deps = np.show_config(mode="dicts").get("Build Dependencies", {})
        return {k: {f: v.get(f) for f in ("name", "version", "found")} for k, v in deps.items() if k in ("blas", "lapack")}
    except TypeError:  # older numpy: show_config prints; numpy.__config__ has dicts
        cfg = getattr(np, "__config__", None)
        out = {}
        for key in ("blas_opt_info", "lapack_opt_info"):
            v = getattr(cfg, key, None)
            if isinstance(v, dict):
                out[key] = {f: v.get(f) for f in ("libraries", "define_macros") if f in v}
        return out


def blas_info():
    """Which BLAS this numpy uses: the library mapped into the process,
    numpy.show_config() and, if installed, threadpoolctl."""
    info = {}
    mapped = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                base = os.path.basename(path).lower()
                if "blas" in base or "lapack" in base or "mkl" in base:
                    mapped.add(os.path.realpath(path))
    except OSError:
        pass
    info["mapped_libraries"] = sorted(mapped)
    info["build"] = build_config()
    try:
        import threadpoolctl  # optional
        info["threadpoolctl"] = [
            {k: p.get(k) for k in ("user_api", "internal_api", "filepath", "version", "num_threads", "architecture")}
            for p in threadpoolctl.threadpool_info()
        ]
    except ImportError:
        info["threadpoolctl"] = "not installed"
    try:
        from numpy.core._multiarray_umath import __cpu_features__, __cpu_baseline__, __cpu_dispatch__
        info["simd_baseline"] = list(__cpu_baseline__)
        info["simd_dispatch_available"] = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    except ImportError:
        pass
    info["env"] = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS") if k in os.environ}
    return info


def run_once(results, variant):
    t0 = time.perf_counter()
    if variant == "inplace":
        out = aggregate_inplace(results)
    else:
        out = aggregate(results)
    dt = time.perf_counter() - t0
    if not np.isfinite(out[0].flat[0]):
        raise SystemExit("aggregate produced a non-finite value")
    return dt


def peak():
    # ru_maxrss (KiB on Linux) also counts the parent's memory when the
    # parent forked with a shared address space (vfork, as Go's os/exec
    # does): the kernel carries the old address space's high-water mark
    # over exec. VmHWM is this program's own address space only.
    return {"ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "vmhwm_kib": status_kib("VmHWM")}


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, required=True, help="number of client updates")
    ap.add_argument("--d", type=int, required=True, help="parameters per update")
    ap.add_argument("--repeat", type=int, default=3, help="timed aggregations (standalone mode)")
    ap.add_argument("--variant", choices=("aggregate", "inplace"), default="aggregate")
    ap.add_argument("--serve", action="store_true", help="protocol mode for bench/flower.go")
    args = ap.parse_args()
    if args.n < 1 or args.d < 1:
        raise SystemExit("--n and --d must be positive")

    rss_start = status_kib("VmRSS")
    t0 = time.perf_counter()
    results = build(args.n, args.d, args.variant)
    head = {
        "n": args.n, "d": args.d, "variant": args.variant,
        "build_seconds": time.perf_counter() - t0,
        "rss_start_kib": rss_start, "rss_built_kib": status_kib("VmRSS"),
        "numpy": np.__version__, "python": platform.python_version(),
        "blas": blas_info(),
    }
    if args.serve:
        emit(dict(head, ready=True))
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "run":
                emit({"seconds": run_once(results, args.variant)})
            elif cmd == "stats":
                emit(peak())
            elif cmd:
                emit({"error": "unknown command %r" % cmd})
        return
    secs = [run_once(results, args.variant) for _ in range(args.repeat)]
    emit(dict(head, seconds=secs, **peak()))


if __name__ == "__main__":
    main()
