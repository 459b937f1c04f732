#!/usr/bin/python3
"""Cross-check piat-ts robustness numbers against PyTorch reference implementations.

Usage:
  compare_reference.py CHECKPOINT_DIR IMAGES.bin LABELS.bin OURS.json [--eps E] [--alpha A]

CHECKPOINT_DIR holds a piat-ts model (tfjs model.json + weights.bin) of a chain architecture
(mlp, small CNN); IMAGES.bin / LABELS.bin are the evaluated images (float32 NHWC) and labels
(int32) and OURS.json the `piat eval --json` output on them (bench/compare-reference.sh makes all
four). The script loads the same weights into PyTorch, checks that the logits agree, runs PGD
(random start, as ours) and -- when the reference `autoattack` package (fra31/auto-attack) is
importable, e.g. PYTHONPATH=/path/to/auto-attack -- the reference AutoAttack (standard version,
seed 0, its per-stage log printed), and prints both sides with their difference. torchattacks'
PGD runs too when importable. When OURS.json holds piat-ts's per-image AutoAttack verdicts, the
two are compared image by image. Everything is written to reference.json beside OURS.json.
Exit status 1 when PGD20 or AA differ by more than 0.5 percentage points or the logits disagree.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_tfjs_chain(model_dir):
    """Builds an nn.Sequential from a tfjs layers-model whose layers form a chain."""
    meta = json.load(open(os.path.join(model_dir, "model.json")))
    specs = [w for g in meta["weightsManifest"] for w in g["weights"]]
    raw = open(os.path.join(model_dir, "weights.bin"), "rb").read()
    tensors, off = {}, 0
    for s in specs:
        n = int(np.prod(s["shape"])) if s["shape"] else 1
        tensors[s["name"]] = np.frombuffer(raw, dtype=np.float32, count=n, offset=off).reshape(s["shape"])
        off += 4 * n
    topo = meta["modelTopology"]
    layers = topo["config"]["layers"] if "config" in topo else topo["model_config"]["config"]["layers"]
    mods, channels_last = [], None
    for layer in layers:
        cls, cfg, name = layer["class_name"], layer["config"], layer["config"]["name"]
        w = lambda k: torch.tensor(np.array(tensors[f"{name}/{k}"]))
        if cls == "InputLayer":
            shape = cfg.get("batch_input_shape") or cfg.get("batchInputShape")
            channels_last = len(shape) == 4
        elif cls == "Flatten":
            # tfjs flattens NHWC; the torch side receives NCHW, so flatten in NHWC order
            mods.append(NHWCFlatten())
        elif cls == "Dense":
            lin = nn.Linear(*w("kernel").shape)
            lin.weight.data = w("kernel").T.contiguous()
            lin.bias.data = w("bias") if cfg.get("use_bias", True) else torch.zeros(lin.out_features)
            mods.append(lin)
            if cfg.get("activation", "linear") == "relu":
                mods.append(nn.ReLU())
        elif cls == "Activation":
            assert cfg["activation"] == "relu", cfg["activation"]
            mods.append(nn.ReLU())
        elif cls == "ZeroPadding2D":
            p = cfg["padding"]
            p = p[0][0] if isinstance(p, list) and isinstance(p[0], list) else (p[0] if isinstance(p, list) else p)
            mods.append(nn.ZeroPad2d(p))
        elif cls == "Conv2D":
            k = w("kernel")  # [kh, kw, cin, cout]
            kh = k.shape[0]
            pad = kh // 2 if cfg["padding"] == "same" else 0
            conv = nn.Conv2d(k.shape[2], k.shape[3], kh, stride=cfg["strides"][0], padding=pad, bias=cfg.get("use_bias", True))
            conv.weight.data = k.permute(3, 2, 0, 1).contiguous()
            if cfg.get("use_bias", True):
                conv.bias.data = w("bias")
            mods.append(conv)
        elif cls == "BatchNormalization":
            c = w("gamma").shape[0]
            bn = nn.BatchNorm2d(c, eps=cfg["epsilon"]) if channels_last else nn.BatchNorm1d(c, eps=cfg["epsilon"])
            bn.weight.data, bn.bias.data = w("gamma"), w("beta")
            bn.running_mean.data, bn.running_var.data = w("moving_mean"), w("moving_variance")
            mods.append(bn)
        elif cls == "GlobalAveragePooling2D":
            mods.append(nn.AdaptiveAvgPool2d(1))
            mods.append(nn.Flatten())
        else:
            raise SystemExit(f"unsupported layer {cls} ({name}): this script handles chain models (mlp, small CNN)")
    return nn.Sequential(*mods).eval()


class NHWCFlatten(nn.Module):
    def forward(self, x):
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1) if x.dim() == 4 else x.reshape(x.shape[0], -1)


def pgd(model, x, y, eps, alpha, steps, seed=0):
    g = torch.Generator().manual_seed(seed)
    xa = (x + (torch.rand(x.shape, generator=g) * 2 - 1) * eps).clamp(0, 1)
    for _ in range(steps):
        xa.requires_grad_(True)
        loss = F.cross_entropy(model(xa), y, reduction="sum")
        grad, = torch.autograd.grad(loss, xa)
        xa = torch.min(torch.max(xa.detach() + alpha * grad.sign(), x - eps), x + eps).clamp(0, 1)
    return xa


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("images")
    ap.add_argument("labels")
    ap.add_argument("ours")
    ap.add_argument("--eps", type=float, default=8 / 255)
    ap.add_argument("--alpha", type=float, default=2 / 255)
    a = ap.parse_args()
    torch.manual_seed(0)
    model = load_tfjs_chain(a.checkpoint)
    ours = json.load(open(a.ours))
    shape = ours["shape"]
    x = torch.tensor(np.fromfile(a.images, dtype=np.float32).reshape(shape))
    y = torch.tensor(np.fromfile(a.labels, dtype=np.int32).astype(np.int64))
    if x.dim() == 4:
        x = x.permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        max_diff = (model(x) - torch.tensor(np.array(ours["logits"], dtype=np.float32))).abs().max().item()
    print(f"logits: max |piat-ts − PyTorch| = {max_diff:.2e} over {len(y)} images")
    t0 = time.time()
    ref = {"clean": accuracy(model, x, y), "pgd20": accuracy(model, pgd(model, x, y, a.eps, a.alpha, 20), y)}
    ref_seconds = {"pgd20": time.time() - t0}
    try:
        import torchattacks  # noqa: F401
        atk = torchattacks.PGD(model, eps=a.eps, alpha=a.alpha, steps=20, random_start=True)
        ref["pgd20 (torchattacks)"] = accuracy(model, atk(x, y), y)
    except ImportError:
        print("torchattacks not installed: PGD20 from this script's own PyTorch PGD only")
    per_image = None
    try:
        from autoattack import AutoAttack
        t0 = time.time()
        adversary = AutoAttack(model, norm="Linf", eps=a.eps, version="standard", device="cpu", seed=0, verbose=True)
        if ours.get("aaLog"):
            print("piat-ts AutoAttack log: " + ", ".join(f"{s['stage']} {100 * s['robustAccuracy']:.2f}%" for s in ours["aaLog"]))
        xa = adversary.run_standard_evaluation(x, y, bs=250)
        ref["aa"] = accuracy(model, xa, y)
        ref_seconds["aa"] = time.time() - t0
        if ours.get("aaRobust"):
            with torch.no_grad():
                theirs = (model(xa).argmax(1) == y).tolist()
            mine = ours["aaRobust"]
            per_image = {
                "both robust": sum(m and t for m, t in zip(mine, theirs)),
                "robust for piat-ts only": sum(m and not t for m, t in zip(mine, theirs)),
                "robust for the reference only": sum(t and not m for m, t in zip(mine, theirs)),
                "neither": sum(not m and not t for m, t in zip(mine, theirs)),
            }
    except ImportError:
        print("reference AutoAttack not importable (set PYTHONPATH to a checkout of fra31/auto-attack): AA not compared")
    print(f"{'attack':24} {'piat-ts':>9} {'reference':>10} {'diff (pp)':>10}")
    worst = 0.0
    for k, v in ref.items():
        mine = ours["accuracy"].get(k.split(" ")[0])
        if mine is None:
            continue
        d = 100 * (mine - v)
        worst = max(worst, abs(d)) if k.split(" ")[0] in ("pgd20", "aa") else worst
        print(f"{k:24} {100 * mine:8.2f}% {100 * v:9.2f}% {d:+10.2f}")
    print(f"largest |difference| on PGD20/AA: {worst:.2f} percentage points (bar: 0.5)")
    ours_seconds = {r["attack"]: r["seconds"] for r in ours.get("rows", [])}
    for k, v in ref_seconds.items():
        if k in ours_seconds:
            print(f"time {k}: piat-ts {ours_seconds[k]:.1f} s, reference {v:.1f} s (piat-ts takes {ours_seconds[k] / v:.2f}x)")
    if per_image:
        print("AutoAttack per image: " + ", ".join(f"{k} {v}" for k, v in per_image.items()))
    result = {"logits_max_abs_diff": max_diff, "reference": ref, "reference_seconds": ref_seconds, "ours": ours["accuracy"],
              "largest_diff_pp": worst, "aa_per_image": per_image, "torch": torch.__version__}
    with open(os.path.join(os.path.dirname(os.path.abspath(a.ours)), "reference.json"), "w") as f:
        json.dump(result, f, indent=2)
    sys.exit(0 if worst <= 0.5 and max_diff < 1e-3 else 1)


if __name__ == "__main__":
    main()
