#!/usr/bin/python3
"""The reference side of the PyTorch interchange tests (src/model/torch_state_test.ts):
Debian's python3-torch (1.13) with a U-Net whose modules carry the names and layout of
milesial/Pytorch-UNet's `UNet(n_channels=3, n_classes=1)` (bilinear=False: DoubleConv =
2 x [3x3 conv without bias, BatchNorm2d, ReLU], Down = MaxPool2d(2) + DoubleConv,
Up = ConvTranspose2d(in, in // 2, 2, stride=2) + DoubleConv on cat([skip, up]),
OutConv = 1x1 conv), written here with the width and depth as parameters; at base 64 and
depth 4 its state_dict keys and shapes are milesial's.

    /usr/bin/python3 scripts/torch_unet.py check FILE.pth INPUT.f32 N H W OUT.f32
        load FILE.pth with torch.load + load_state_dict(strict=True), eval mode, run INPUT
        (raw float32 NCHW) and write the logits (raw float32 NCHW)
    /usr/bin/python3 scripts/torch_unet.py make FILE.pth INPUT.f32 N H W OUT.f32 BASE DEPTH SEED [bias]
        a U-Net with random weights and random batch-norm statistics (seeded), saved with
        torch.save as milesial's train.py saves it (state_dict + "mask_values"); `bias` gives the
        3x3 convolutions a bias (milesial's layout before 2023); writes its logits for INPUT
"""
import sys

import numpy as np
import torch
import torch.nn as nn


class DoubleConv(nn.Module):
    def __init__(self, cin, cout, bias=False):
        super().__init__()
        self.double_conv = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=bias), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=bias), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    def __init__(self, cin, cout, bias=False):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(cin, cout, bias))

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    def __init__(self, cin, cout, bias=False):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cin // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(cin, cout, bias)

    def forward(self, x, skip):
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class OutConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=1)

    def forward(self, x):
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, base=64, depth=4, bias=False):
        super().__init__()
        self.depth = depth
        self.inc = DoubleConv(3, base, bias)
        for k in range(1, depth + 1):
            setattr(self, f"down{k}", Down(base * 2 ** (k - 1), base * 2 ** k, bias))
        for m in range(1, depth + 1):
            k = depth - m
            setattr(self, f"up{m}", Up(base * 2 ** (k + 1), base * 2 ** k, bias))
        self.outc = OutConv(base, 1)

    def forward(self, x):
        skips = [self.inc(x)]
        for k in range(1, self.depth + 1):
            skips.append(getattr(self, f"down{k}")(skips[-1]))
        x = skips.pop()
        for m in range(1, self.depth + 1):
            x = getattr(self, f"up{m}")(x, skips.pop())
        return self.outc(x)


def run(model, inp, n, h, w, out):
    x = torch.from_numpy(np.fromfile(inp, dtype="<f4").reshape(n, 3, h, w))
    with torch.no_grad():
        model.eval()
        model(x).numpy().astype("<f4").tofile(out)


def main(argv):
    cmd, path, inp, n, h, w, out = argv[:7]
    n, h, w = int(n), int(h), int(w)
    if cmd == "check":
        state = torch.load(path, map_location="cpu")
        base = state["inc.double_conv.0.weight"].shape[0]
        depth = sum(1 for k in state if k.startswith("down") and k.endswith(".double_conv.0.weight"))
        model = UNet(base, depth)
        model.load_state_dict(state, strict=True)
        run(model, inp, n, h, w, out)
        print(f"loaded {len(state)} tensors: base {base}, depth {depth}")
    elif cmd == "make":
        base, depth, seed = int(argv[7]), int(argv[8]), int(argv[9])
        bias = len(argv) > 10 and argv[10] == "bias"
        torch.manual_seed(seed)
        model = UNet(base, depth, bias)
        for mod in model.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.data.uniform_(0.5, 1.5)
                mod.bias.data.uniform_(-0.2, 0.2)
                mod.num_batches_tracked.fill_(7)
            if isinstance(mod, nn.Conv2d) and mod.bias is not None:
                mod.bias.data.uniform_(-0.3, 0.3)
        state = model.state_dict()
        state["mask_values"] = [0, 1]
        torch.save(state, path)
        run(model, inp, n, h, w, out)
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv[1:])
