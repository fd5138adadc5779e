#!/usr/bin/python3
"""One U-Net training step in PyTorch, the same step as bench/train_step_bench.ts.

milesial's U-Net (DoubleConv = 2 x [3x3 conv (no bias) + BatchNorm + ReLU], 2x2 max-pool down,
ConvTranspose2d(in, in // 2, 2, stride 2) up, concat [skip, up], 1x1 conv to one logit), the
combo loss 0.5 BCE + 0.5 (1 - soft Dice), RMSprop lr 1e-5 momentum 0.999 weight decay 1e-8.

Needs Debian's python3-torch (`apt-get install python3-torch`), run with /usr/bin/python3.
Not part of the tests.

    /usr/bin/python3 bench/train_step_torch.py [--size 256] [--batch 4] [--base 16] [--depth 4]
        [--steps 3] [--threads N] [--tfjs-ms MS] [--device cpu|cuda]

Prints ms/step and achieved GFLOP/s (3 x forward FLOPs); with --tfjs-ms, the ratio of that tfjs
step time to PyTorch's. --device cuda runs on the GPU in float32 with TF32 off (bench/gpu_check.sh),
synchronising before each clock read.
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def double_conv(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    def __init__(self, depth, base):
        super().__init__()
        self.inc = double_conv(3, base)
        self.downs = nn.ModuleList(double_conv(base * 2 ** (k - 1), base * 2 ** k) for k in range(1, depth + 1))
        self.ups = nn.ModuleList(nn.ConvTranspose2d(base * 2 ** (k + 1), base * 2 ** k, 2, stride=2)
                                 for k in reversed(range(depth)))
        self.up_convs = nn.ModuleList(double_conv(base * 2 ** (k + 1), base * 2 ** k) for k in reversed(range(depth)))
        self.outc = nn.Conv2d(base, 1, 1)

    def forward(self, x):
        x = self.inc(x)
        skips = []
        for down in self.downs:
            skips.append(x)
            x = down(F.max_pool2d(x, 2))
        for up, conv in zip(self.ups, self.up_convs):
            x = conv(torch.cat([skips.pop(), up(x)], dim=1))
        return self.outc(x)


def forward_flops(model, batch, size):
    """2 x multiply-adds of every convolution, from hooks on one forward pass."""
    total = 0

    def hook(mod, inp, out):
        nonlocal total
        k = mod.weight.shape  # Conv2d [out, in, kh, kw]; ConvTranspose2d [in, out, kh, kw]
        if isinstance(mod, nn.ConvTranspose2d):
            pixels = inp[0].shape[0] * inp[0].shape[2] * inp[0].shape[3]
        else:
            pixels = out.shape[0] * out.shape[2] * out.shape[3]
        total += 2 * pixels * k[0] * k[1] * k[2] * k[3]

    hooks = [m.register_forward_hook(hook) for m in model.modules()
             if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    with torch.no_grad():
        p = next(model.parameters())
        model(torch.zeros(batch, 3, size, size, device=p.device))
    for h in hooks:
        h.remove()
    return total


def combo_loss(logits, target):
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    dice = (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1)
    return 0.5 * bce + 0.5 * (1 - dice)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--base", type=int, default=16)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    ap.add_argument("--tfjs-ms", type=float, default=0, help="a tfjs ms/step to compare with")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    a = ap.parse_args()
    dev = torch.device(a.device)
    if a.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = UNet(a.depth, a.base).to(dev).train()
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-5, momentum=0.999, weight_decay=1e-8)
    x = torch.rand(a.batch, 3, a.size, a.size).to(dev)
    y = (torch.rand(a.batch, 1, a.size, a.size) > 0.8).float().to(dev)
    flops = forward_flops(model, a.batch, a.size)

    def step():
        opt.zero_grad()
        loss = combo_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    def sync():
        if a.device == "cuda":
            torch.cuda.synchronize()

    step()  # warm-up
    sync()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    sync()
    ms = (time.perf_counter() - t0) * 1000 / a.steps
    where = torch.cuda.get_device_name() if a.device == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    print(f"pytorch {torch.__version__} {where}: depth {a.depth}, base {a.base}, "
          f"batch norm, {a.batch}x{a.size}^2x3; forward {flops / 1e9:.2f} GFLOP")
    print(f"| pytorch {a.device} | {ms:.1f} | {3 * flops / ms / 1e6:.2f} |")
    if a.tfjs_ms > 0:
        print(f"tfjs {a.tfjs_ms:.0f} ms / pytorch {ms:.0f} ms = {a.tfjs_ms / ms:.2f}x")


if __name__ == "__main__":
    main()
