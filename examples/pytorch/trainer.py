#!/usr/bin/env python3
"""Example external trainer for confed: PyTorch logistic regression on the
UCI Heart Disease data, equivalent to the participant's built-in trainer.

The participant daemon runs it once per training round (see docs/trainers.md):

    /usr/bin/python3 examples/pytorch/trainer.py [round.json]

with round.json's path in the argument or in $CONFED_ROUND_FILE. It reads
the global model (safetensors) and the hospital's data file named in
round.json, preprocesses and splits the data exactly as internal/heartdisease
does, standardises with the pooled statistics carried by the model
(input_mean, input_sq_mean), runs minibatch SGD with the same objective and
the same shuffling as participant/trainer, and writes model.safetensors and
metrics.json where round.json says.

It needs only the standard library and torch (Debian: python3-torch); the
safetensors format is read and written here directly.

Exit status: 0 on success, 2 when round.json or the data does not fit this
trainer, 1 on any other error. Messages never repeat data values.
"""

import json
import math
import os
import re
import struct
import sys

CONTRACT = "confed-external-trainer/1"
MASK64 = (1 << 64) - 1

# ---------------------------------------------------------------- PCG (Go's math/rand/v2)


class PCG:
    """Go's math/rand/v2 PCG: a 128-bit LCG with the DXSM output function."""

    MUL = (2549297995355413924 << 64) | 4865540595714422341
    INC = (6364136223846793005 << 64) | 1442695040888963407

    def __init__(self, seed1, seed2):
        self.state = ((seed1 & MASK64) << 64) | (seed2 & MASK64)

    def uint64(self):
        self.state = (self.state * self.MUL + self.INC) & ((1 << 128) - 1)
        hi, lo = self.state >> 64, self.state & MASK64
        hi ^= hi >> 32
        hi = (hi * 0xDA942042E4DD58B5) & MASK64
        hi ^= hi >> 48
        return (hi * (lo | 1)) & MASK64

    def bounded(self, n):
        """A uniform integer in [0, n) by Lemire's method, as confed does."""
        prod = self.uint64() * n
        hi, lo = prod >> 64, prod & MASK64
        if lo < n:
            thresh = ((1 << 64) - n) % n
            while lo < thresh:
                prod = self.uint64() * n
                hi, lo = prod >> 64, prod & MASK64
        return hi

    def shuffle(self, idx):
        for i in range(len(idx) - 1, 0, -1):
            j = self.bounded(i + 1)
            idx[i], idx[j] = idx[j], idx[i]


SPLIT_STREAM = 0x68656172742D7370  # "heart-sp", internal/heartdisease
SHUFFLE_STREAM = 0x636F6E6665642D74  # "confed-t", participant/trainer

# ---------------------------------------------------------------- data (internal/heartdisease)

# (name, lo, hi) for category columns, None for plain numbers.
COLUMNS = [
    ("age", None), ("sex", (0, 1)), ("cp", (1, 4)), ("trestbps", None), ("chol", None),
    ("fbs", (0, 1)), ("restecg", (0, 2)), ("thalach", None), ("exang", (0, 1)), ("oldpeak", None),
    ("slope", None), ("ca", None), ("thal", None), ("num", (0, 4)),
]
DROPPED = {"slope", "ca", "thal"}
NUMBER = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
MAX_LINE = 64 * 1024


class InputError(Exception):
    """round.json or the data does not fit this trainer (exit status 2)."""


def parse_field(text, col, where):
    name, levels = col
    s = text.strip()
    if s == "?":
        return None
    v = float(s) if NUMBER.match(s) else math.nan
    if not math.isfinite(v):
        want = "an integer from %d to %d or '?'" % levels if levels else "a finite number or '?'"
        raise InputError("%s: column %r: bad number: expected %s" % (where, name, want))
    if levels and (v != math.trunc(v) or not levels[0] <= v <= levels[1]):
        raise InputError("%s: column %r: value out of range: expected an integer from %d to %d" % (where, name, *levels))
    return v


def one_hot(v, lo, hi):
    return [1.0 if int(v) == level else 0.0 for level in range(lo + 1, hi + 1)]


def load(path):
    """Rows of 13 features and 0/1 labels, as heartdisease.Load."""
    xs, ys = [], []
    name = os.path.basename(path)
    with open(path, "rb") as f:
        raw = f.read()
    for n, line in enumerate(raw.decode("utf-8", errors="replace").split("\n"), start=1):
        if len(line.encode()) > MAX_LINE:
            raise InputError("%s:%d: line too long" % (name, n))
        line = line.removesuffix("\r")
        if n == 1:
            line = line.removeprefix("\ufeff")
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != len(COLUMNS):
            raise InputError("%s:%d: expected %d comma-separated columns, found %d" % (name, n, len(COLUMNS), len(fields)))
        rec = [parse_field(t, c, "%s:%d" % (name, n)) for t, c in zip(fields, COLUMNS)]
        if any(v is None for v, (cname, _) in zip(rec, COLUMNS) if cname not in DROPPED):
            continue
        age, sex, cp, trestbps, chol, fbs, restecg, thalach, exang, oldpeak = rec[:10]
        xs.append([age, sex, *one_hot(cp, 1, 4), trestbps, chol, fbs, *one_hot(restecg, 0, 2), thalach, exang, oldpeak])
        ys.append(1.0 if rec[13] > 0 else 0.0)
    return xs, ys


def split(xs, ys, test_fraction, seed):
    """The training part of heartdisease.Split: stratified, seeded, in file order."""
    rng = PCG(seed, SPLIT_STREAM)
    test = set()
    for label in (0.0, 1.0):
        idx = [i for i, y in enumerate(ys) if y == label]
        rng.shuffle(idx)
        test.update(idx[: int(math.floor(test_fraction * len(idx) + 0.5))])
    keep = [i for i in range(len(ys)) if i not in test]
    return [xs[i] for i in keep], [ys[i] for i in keep]


# ---------------------------------------------------------------- safetensors


def read_safetensors(path):
    """{name: (shape, raw little-endian F32 bytes)} of a safetensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8 : 8 + n])
    data = blob[8 + n :]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            raise InputError("%s: tensor %r is %s, expected F32" % (path, name, t["dtype"]))
        begin, end = t["data_offsets"]
        if end - begin != 4 * math.prod(t["shape"]) or end > len(data):
            raise InputError("%s: tensor %r: bad data offsets" % (path, name))
        out[name] = (list(t["shape"]), data[begin:end])
    return out


def write_safetensors(path, tensors):
    """Writes {name: (shape, raw F32 bytes)}, tensors in name order."""
    header, offset = {"__metadata__": {"producer": "confed examples/pytorch"}}, 0
    for name in sorted(tensors):
        shape, raw = tensors[name]
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for name in sorted(tensors):
            f.write(tensors[name][1])


def floats(raw):
    return list(struct.unpack("<%df" % (len(raw) // 4), raw))


def f32_bytes(values):
    return struct.pack("<%df" % len(values), *values)


# ---------------------------------------------------------------- training


def standardiser(tensors):
    """Mean and deviation from the model's pooled moments (participant.ModelScaler)."""
    mean, sq = floats(tensors["input_mean"][1]), floats(tensors["input_sq_mean"][1])
    if not any(m2 > 0 for m2 in sq):
        raise InputError("the model carries no feature statistics yet (the daemon computes them in the first round)")
    std = [math.sqrt(max(m2 - mu * mu, 0.0)) for mu, m2 in zip(mean, sq)]
    return mean, [s if s >= 1e-9 else 1.0 for s in std]


def train(torch, x, y, w0, b0, hp):
    """Minibatch SGD on mean log-loss + L2/2 |w|^2 + mu/2 (|w - w0|^2 + (b - b0)^2),
    reshuffling every epoch exactly as participant/trainer does."""
    n = x.shape[0]
    wg, bg = w0.clone(), b0.clone()
    w, b = w0.clone().requires_grad_(True), b0.clone().requires_grad_(True)
    opt = torch.optim.SGD([w, b], lr=hp["learning_rate"])
    bce = torch.nn.BCEWithLogitsLoss()
    rng, perm = PCG(hp["seed"], SHUFFLE_STREAM), list(range(n))
    size, mu, l2 = hp["batch_size"], hp["proximal_mu"], hp["l2"]
    loss_sum = 0.0
    for _ in range(hp["local_epochs"]):
        rng.shuffle(perm)
        xs, ys = x[perm], y[perm]
        loss_sum = 0.0
        for i in range(0, n, size):
            xb, yb = xs[i : i + size], ys[i : i + size]
            opt.zero_grad()
            data_loss = bce(xb @ w + b, yb)
            objective = data_loss + l2 / 2 * (w * w).sum()
            if mu != 0:
                objective = objective + mu / 2 * (((w - wg) ** 2).sum() + ((b - bg) ** 2).sum())
            objective.backward()
            opt.step()
            loss_sum += data_loss.item() * xb.shape[0]
    with torch.no_grad():
        accuracy = (((x @ w + b) >= 0) == (y == 1)).double().mean().item()
    return w.detach(), b.detach(), loss_sum / n, accuracy


def check_hyperparameters(hp):
    if hp["local_epochs"] < 1 or hp["batch_size"] < 1:
        raise InputError("local_epochs and batch_size must be at least 1")
    if not (hp["learning_rate"] > 0 and math.isfinite(hp["learning_rate"])):
        raise InputError("learning_rate must be a positive finite number")
    if not (hp["proximal_mu"] >= 0 and hp["l2"] >= 0):
        raise InputError("proximal_mu and l2 must be >= 0")


def main(argv):
    round_file = argv[1] if len(argv) > 1 else os.environ.get("CONFED_ROUND_FILE", "")
    if not round_file:
        raise InputError("usage: trainer.py ROUND_JSON (or set CONFED_ROUND_FILE)")
    with open(round_file, encoding="utf-8") as f:
        job = json.load(f)
    if job.get("contract") != CONTRACT:
        raise InputError("round.json is for contract %r, this trainer implements %r" % (job.get("contract"), CONTRACT))
    if job["model"]["kind"] != "logistic_regression" or job["data"]["format"] != "uci-heart-disease":
        raise InputError("this trainer handles logistic_regression on uci-heart-disease data only")
    hp, data = job["hyperparameters"], job["data"]
    check_hyperparameters(hp)

    import torch  # after the cheap checks: importing torch takes a while

    torch.set_num_threads(1)
    tensors = read_safetensors(job["model"]["path"])
    mean, std = standardiser(tensors)
    xs, ys = load(data["path"])
    xs, ys = split(xs, ys, data["test_fraction"], data["split_seed"])
    if not xs:
        raise InputError("no training examples")
    x = torch.tensor([[(v - m) / s for v, m, s in zip(row, mean, std)] for row in xs], dtype=torch.float64)
    y = torch.tensor(ys, dtype=torch.float64)
    w0 = torch.tensor(floats(tensors["weight"][1]), dtype=torch.float64)
    b0 = torch.tensor(floats(tensors["bias"][1]), dtype=torch.float64)
    if w0.shape[0] != x.shape[1] or b0.shape[0] != 1:
        raise InputError("the model does not have %d weights and one bias" % x.shape[1])

    w, b, loss, accuracy = train(torch, x, y, w0, b0, hp)
    if not all(math.isfinite(v) for v in [*w.tolist(), *b.tolist(), loss]):
        print("training diverged (non-finite weights); lower the learning rate", file=sys.stderr)
        return 1
    out = dict(tensors)  # every other tensor (the statistics) is copied byte for byte
    out["weight"] = (tensors["weight"][0], f32_bytes(w.tolist()))
    out["bias"] = (tensors["bias"][0], f32_bytes(b.tolist()))
    write_safetensors(job["output"]["model"], out)
    metrics = {"num_examples": len(ys), "loss": loss, "accuracy": accuracy,
               "extra": {"epochs": hp["local_epochs"], "torch_major": int(torch.__version__.split(".")[0])}}
    with open(job["output"]["metrics"], "w", encoding="utf-8") as f:
        json.dump(metrics, f, allow_nan=False)
    print("trained %d examples for %d epochs: loss %.4f, accuracy %.3f" % (len(ys), hp["local_epochs"], loss, accuracy))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except InputError as e:
        print("trainer: %s" % e, file=sys.stderr)
        sys.exit(2)
