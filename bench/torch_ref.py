#!/usr/bin/python3
"""PyTorch reference for `npm run bench`: the same architectures and cases, on this machine's CPU.

Usage: torch_ref.py MODEL BATCH CASE...   (prints one JSON line: {case: seconds})
BENCH_TORCH_THREADS sets torch.set_num_threads (Debian's build defaults to 1 here).
Uses Debian's python3-torch (apt-get install python3-torch); never part of the tests.
"""
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Basic(nn.Module):
    def __init__(self, i, o, s):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o)
        self.c2, self.b2 = nn.Conv2d(o, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o)
        self.sc = nn.Sequential()
        if s != 1 or i != o:
            self.sc = nn.Sequential(nn.Conv2d(i, o, 1, s, bias=False), nn.BatchNorm2d(o))

    def forward(self, x):
        out = F.relu(self.b1(self.c1(x)))
        return F.relu(self.b2(self.c2(out)) + self.sc(x))


class ResNet18(nn.Module):
    def __init__(self, n=10, w=64):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(3, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w)
        layers, i = [], w
        for s, o in enumerate([w, 2 * w, 4 * w, 8 * w]):
            for b in range(2):
                layers.append(Basic(i, o, 2 if b == 0 and s > 0 else 1))
                i = o
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(8 * w, n)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.layers(F.relu(self.b1(self.c1(x)))), 1).flatten(1))


class Wide(nn.Module):
    def __init__(self, i, o, s):
        super().__init__()
        self.b1, self.c1 = nn.BatchNorm2d(i), nn.Conv2d(i, o, 3, s, 1, bias=False)
        self.b2, self.c2 = nn.BatchNorm2d(o), nn.Conv2d(o, o, 3, 1, 1, bias=False)
        self.sc = None if i == o else nn.Conv2d(i, o, 1, s, bias=False)

    def forward(self, x):
        a = F.relu(self.b1(x))
        out = self.c2(F.relu(self.b2(self.c1(a))))
        return out + (x if self.sc is None else self.sc(a))


class WRN(nn.Module):
    def __init__(self, depth=34, k=10, n=10):
        super().__init__()
        per = (depth - 4) // 6
        self.c1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        blocks, i = [], 16
        for g, o in enumerate([16 * k, 32 * k, 64 * k]):
            for b in range(per):
                blocks.append(Wide(i, o, 2 if b == 0 and g > 0 else 1))
                i = o
        self.blocks, self.bn, self.fc = nn.Sequential(*blocks), nn.BatchNorm2d(i), nn.Linear(i, n)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(F.relu(self.bn(self.blocks(self.c1(x)))), 1).flatten(1))


class SmallCNN(nn.Module):
    def __init__(self, n=10):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(1, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32)
        self.c2, self.b2 = nn.Conv2d(32, 64, 3, 2, 1, bias=False), nn.BatchNorm2d(64)
        self.c3, self.b3 = nn.Conv2d(64, 128, 3, 2, 1, bias=False), nn.BatchNorm2d(128)
        self.fc = nn.Linear(128, n)

    def forward(self, x):
        x = F.relu(self.b1(self.c1(x)))
        x = F.relu(self.b2(self.c2(x)))
        x = F.relu(self.b3(self.c3(x)))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


MODELS = {
    "small-cnn": (SmallCNN, (1, 28, 28)),
    "resnet18": (ResNet18, (3, 32, 32)),
    "wrn34-10": (WRN, (3, 32, 32)),
    # every layer of ResNet-18 at width 1 on 8x8 images: the compute is negligible, the time is host overhead
    "resnet18-host": (lambda: ResNet18(w=1), (3, 8, 8)),
}


def main():
    name, batch, cases = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    if os.environ.get("BENCH_TORCH_THREADS"):
        torch.set_num_threads(int(os.environ["BENCH_TORCH_THREADS"]))
    dev = torch.device(os.environ.get("BENCH_TORCH_DEVICE", "cpu"))
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    cls, shape = MODELS[name]
    torch.manual_seed(0)
    model = cls().to(dev)
    x = torch.rand(batch, *shape, device=dev)
    y = torch.arange(batch, device=dev) % 10
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def forward():
        model.eval()
        with torch.no_grad():
            model(x)

    def input_grad():
        model.eval()
        xa = x.clone().requires_grad_(True)
        g, = torch.autograd.grad(F.cross_entropy(model(xa), y, reduction="sum"), xa)
        return g

    def weight_grad():
        model.train()
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    eps, alpha = 8 / 255, 2 / 255

    def pgd10_train():
        # the project's PGD-10 training step (src/settings.ts PAPER_TRAIN_ATTACK, src/attacks/pgd.ts):
        # a uniform random start in the eps-ball, each gradient at the current adversarial input
        # (inference mode, summed loss), projection onto the ball and [0, 1], then one SGD step on it
        model.eval()
        xa = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
        for _ in range(10):
            xa.requires_grad_(True)
            g, = torch.autograd.grad(F.cross_entropy(model(xa), y, reduction="sum"), xa)
            xa = torch.min(torch.max(xa.detach() + alpha * g.sign(), x - eps), x + eps).clamp(0, 1)
        model.train()
        opt.zero_grad()
        F.cross_entropy(model(xa), y).backward()
        opt.step()

    fns = {"forward": forward, "input-grad": input_grad, "weight-grad": weight_grad, "pgd10-train": pgd10_train}
    out = {"threads": torch.get_num_threads(), "torch": torch.__version__, "device": str(dev)}
    for c in cases:
        fns[c]()  # warm-up
        sync()
        # best of up to 10 runs, stopping once 20 s have been spent (as bench/run.ts times piat-ts)
        best, spent = float("inf"), 0.0
        for _ in range(10):
            if spent >= 20:
                break
            t0 = time.perf_counter()
            fns[c]()
            sync()
            s = time.perf_counter() - t0
            best, spent = min(best, s), spent + s
        out[c] = best
    print(json.dumps(out))


if __name__ == "__main__":
    main()
