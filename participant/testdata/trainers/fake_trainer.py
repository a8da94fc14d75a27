#!/usr/bin/python3
"""A fake external trainer for confed's tests (standard library only).

    fake_trainer.py MODE [FILE]

MODE is one of the behaviours below, or "rounds=M2,M3,..." to behave as M2
in round 2, M3 in round 3 and so on ("ok" in other rounds). FILE is where
the "hang" mode writes its process ids and the "env" mode its environment.
"""

import json
import os
import struct
import subprocess
import sys
import time


def read_st(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8 : 8 + n])
    data = blob[8 + n :]
    out = {}
    for name, t in header.items():
        if name != "__metadata__":
            b, e = t["data_offsets"]
            out[name] = [t["dtype"], t["shape"], data[b:e]]
    return out


def write_st(path, tensors):
    header, off = {}, 0
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(tensors[n][2] for n in sorted(tensors)))


def f32(raw):
    return list(struct.unpack("<%df" % (len(raw) // 4), raw))


def pack(values):
    return struct.pack("<%df" % len(values), *values)


def main():
    mode = sys.argv[1]
    extra_file = sys.argv[2] if len(sys.argv) > 2 else ""
    job = json.load(open(os.environ["CONFED_ROUND_FILE"]))
    if mode.startswith("rounds="):
        modes = mode[len("rounds="):].split(",")
        i = job["round"] - 2
        mode = modes[i] if 0 <= i < len(modes) else "ok"
    print("fake trainer: round %d, mode %s" % (job["round"], mode))
    t = read_st(job["model"]["path"])
    n = job["data"]["train_examples"]
    metrics = {"num_examples": n, "loss": 0.5, "accuracy": 0.75, "extra": {"fake": 1}}
    w = f32(t["weight"][2])
    t["weight"][2] = pack([v + 0.01 for v in w])

    if mode == "crash":
        print("fake trainer: crashing on purpose", file=sys.stderr)
        return 3
    if mode == "hang":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        if extra_file:
            with open(extra_file, "w") as f:
                f.write("%d %d\n" % (os.getpid(), child.pid))
        time.sleep(600)
        return 0
    if mode == "env":
        with open(extra_file, "w") as f:
            json.dump(dict(os.environ), f)
    if mode == "noisy":
        for i in range(4000):
            print("line %d %s" % (i, "x" * 60))
        sys.stdout.write("y" * 5000 + "\n")
    if mode == "wrong-shape":
        t["weight"] = ["F32", [len(w) - 1], pack(w[:-1])]
    if mode == "nan":
        t["weight"][2] = pack([float("nan")] + w[1:])
    if mode == "f64":
        t["weight"] = ["F64", t["weight"][1], struct.pack("<%dd" % len(w), *w)]
    if mode == "extra-tensor":
        t["momentum"] = ["F32", [1], pack([0.0])]
    if mode == "frozen-changed":
        m = f32(t["input_mean"][2])
        t["input_mean"][2] = pack([m[0] + 1] + m[1:])
    if mode == "bad-metrics":
        metrics["auc"] = 0.8
    if mode == "nan-metrics":
        metrics["loss"] = float("nan")
    if mode == "zero-examples":
        metrics["num_examples"] = 0
    if mode == "too-many-examples":
        metrics["num_examples"] = n + 1

    if mode == "symlink":
        os.symlink(job["model"]["path"], job["output"]["model"])
    elif mode != "missing-model":
        write_st(job["output"]["model"], t)
    if mode != "missing-metrics":
        with open(job["output"]["metrics"], "w") as f:
            json.dump(metrics, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
