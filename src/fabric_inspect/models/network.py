"""The defect network: a small stride-8 fully convolutional net for CPU real time (imports torch).

`DefectNet` maps a normalized float batch ``[N, C, H, W]`` to a per-cell defect logit ``[N, 1, h, w]``
and class logits ``[N, n_classes, h, w]`` with ``h = ceil(H / 8)``, ``w = ceil(W / 8)``. Two stems:

- ``patch4`` (the default): a 4x4 stride-4 convolution over non-overlapping patches sees every pixel
  once (a 1-yarn-wide line still excites it) and goes to stride 4 in one step; a depthwise-separable
  block at stride 4 (residual when its widths match), then a separable stride-2 block to stride 8.
  The frame is padded by 3 black pixels at the bottom and right, so any size maps to ceil(H/8) cells;
  in the export that padding and the (pixel - 128) / 64 normalization fold into the stem convolution,
  so the graph does no per-pixel arithmetic before it (`fold_input`), and a colour stem reads the
  frame as it lies in memory, one ``H x 3W`` plane with B, G, R side by side, so the graph has no
  transpose either (`interleave_stem`).
- ``conv3`` (models before 2026-11-29): a full 3x3 stride-2 convolution, then two separable stride-2
  blocks. At 1280x720 its stem, and the cast and normalization in front of it, cost ~11 of 19 ms.

Then residual depthwise-separable blocks at stride 8 with growing dilations widen the receptive field
(1, 2, 4, 8: ~300 px), so long faint streaks (reed marks) and broken ends read as lines, and a 1x1 head
gives one defect logit and one logit per class. Depthwise-separable blocks keep a 1280x720 frame near
10 ms in onnxruntime on 2 CPU threads (see benchmarks/model_latency.py).

While training, each convolution with its BatchNorm can be a sum of parallel branches
(`NetworkConfig.branches`, `RepConvBN`); `fuse_branches` sums them back into the plain network, which
is what is exported.

`FrameModel` wraps it for export: it takes the raw uint8 frame (``[H, W, 3]`` BGR or ``[H, W]`` grey),
casts and normalizes it inside the graph, and returns ``score = sigmoid(logit)`` ``[h, w]`` and
``class_logits`` ``[n_classes, h, w]`` (the ONNX contract in `fabric_inspect.models.metadata`).
Nothing here knows about training.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from itertools import islice

import torch
from torch import nn
from torch.nn import functional as F

from fabric_inspect.datasets.classes import DEFECT_CLASSES
from fabric_inspect.errors import ConfigError

STRIDE = 8
STEMS = ("patch4", "conv3")
RESIDUALS = ("relu", "linear")
PATCH = 4  # the patch4 stem's kernel and stride
PATCH_PAD = PATCH - 1  # bottom/right padding so that any size gives ceil(H / 4) stem rows
# Fixed normalization, the same for every frame: (pixel - MEAN) / STD. In the graph, not in the runtime.
PIXEL_MEAN = 128.0
PIXEL_STD = 64.0


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    """The shape of a DefectNet; stored in checkpoints as a plain dict."""

    color: bool = True  # True: BGR HxWx3 input; False: greyscale HxW
    # patch4: channels of the stem (stride 4), of the stride-4 block and at stride 8;
    # conv3: channels after each of the three stride-2 stages
    widths: tuple[int, ...] = (24, 24, 64)
    dilations: tuple[int, ...] = (1, 2, 4, 8)  # residual separable blocks at stride 8 (receptive field)
    classes: tuple[str, ...] = DEFECT_CLASSES
    # each image's channels to zero mean and unit spread before the first layer, so a greige, a dark
    # dyed and a low-contrast fabric look alike to the net (inside the graph, like all conversion)
    image_norm: bool = False
    stem: str = "patch4"  # "patch4" | "conv3" (see the module docstring)
    # row and column context before the last block (LinePool): long thin defects read as lines
    line_pool: bool = False
    # training-time branches per convolution (`RepConvBN`; 1: plain conv + BatchNorm). More branches
    # give the optimizer more to work with; `fuse_branches` sums them back into one convolution each,
    # so the exported graph is the plain network's whatever this is.
    branches: int = 1
    # what a residual block adds to its input: "relu", its body's output after the last ReLU (the
    # models up to version 5); "linear", before it (MobileNetV2's linear bottleneck), a sum that
    # onnxruntime can fuse into the pointwise convolution (it did for two of the five blocks, 2026-12-07),
    # where an Add after a ReLU always costs a pass over the map of its own
    residual: str = "relu"
    # the depthwise kernel of the residual blocks at stride 8 (3: the models up to version 5); a 5x5
    # sees more of the weave per block at little cost, the blocks' pointwise convolutions being most
    kernel: int = 3

    def __post_init__(self) -> None:
        if self.kernel not in (3, 5, 7):
            raise ConfigError(f"network kernel must be 3, 5 or 7, got {self.kernel}")
        if self.residual not in RESIDUALS:
            raise ConfigError(
                f"network residual must be one of {', '.join(RESIDUALS)}, got {self.residual!r}"
            )
        if self.stem not in STEMS:
            raise ConfigError(f"network stem must be one of {', '.join(STEMS)}, got {self.stem!r}")
        if self.image_norm and self.stem != "conv3":
            raise ConfigError("image_norm needs the conv3 stem (the patch4 stem folds a fixed normalization)")
        if len(self.widths) != 3 or any(w < 1 for w in self.widths):
            raise ConfigError(f"network widths must be 3 positive channel counts, got {self.widths}")
        if not 1 <= self.branches <= 8:
            raise ConfigError(f"network branches must be 1..8, got {self.branches}")
        if any(d < 1 for d in self.dilations):
            raise ConfigError(f"network dilations must be >= 1, got {self.dilations}")
        if not self.classes or len(set(self.classes)) != len(self.classes):
            raise ConfigError(f"network classes must be unique and not empty, got {self.classes}")

    @property
    def in_channels(self) -> int:
        return 3 if self.color else 1

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, data: dict, source: str = "checkpoint") -> NetworkConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(
                f"{source}: unknown network config keys {sorted(unknown)}; expected {sorted(known)}"
            )
        default = cls()  # the class attributes are slots descriptors, not the defaults
        try:
            return cls(
                color=bool(data.get("color", True)),
                widths=tuple(int(w) for w in data.get("widths", default.widths)),
                dilations=tuple(int(d) for d in data.get("dilations", default.dilations)),
                classes=tuple(str(c) for c in data.get("classes", DEFECT_CLASSES)),
                image_norm=bool(data.get("image_norm", False)),
                # checkpoints written before the patch4 stem existed have no "stem" key
                stem=str(data.get("stem", "conv3")),
                line_pool=bool(data.get("line_pool", False)),
                branches=int(data.get("branches", 1)),
                residual=str(data.get("residual", "relu")),
                kernel=int(data.get("kernel", 3)),
            )
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{source}: malformed network config ({err})") from None


IMAGE_NORM_EPS = 0.01  # on the (x - 128) / 64 scale: a flat image is not blown up into noise


def _image_mean(x: torch.Tensor) -> torch.Tensor:
    """Per-image, per-channel mean, summed in 8x8 blocks first: a single float32 sum over a million
    pixels rounds differently in torch and onnxruntime (5e-4 apart at 1280x720), block sums agree.
    Exactly the image mean when H and W are multiples of 8 (training crops are)."""
    return F.avg_pool2d(x, 8, ceil_mode=True).mean(dim=(2, 3), keepdim=True)


class RepConvBN(nn.Module):
    """A convolution + BatchNorm written as a sum of branches while training (as MobileOne): `k`
    parallel convolutions of the same shape, each with its own BatchNorm; for a kernel larger than
    1x1, a 1x1 convolution (+ BN) at its centre tap; and, where input and output match (stride 1,
    same channels), a BatchNorm of the input itself. All are linear, so in eval mode their sum is
    exactly one convolution with a bias (`fused`): the network it is fused into runs as fast as the
    plain one. (A kernel whose centre tap moves, as the 4x4 stem's, has no 1x1 branch.) It stands
    where the plain network has its Conv2d, followed by an Identity where the plain one has the
    BatchNorm, so that both networks number their layers alike."""

    def __init__(self, conv: nn.Conv2d, k: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(_like(conv) for _ in range(k))
        self.norms = nn.ModuleList(nn.BatchNorm2d(conv.out_channels) for _ in range(k))
        (kh, kw), (ph, pw), (dh, dw) = conv.kernel_size, conv.padding, conv.dilation
        # the 1x1 branch reads each kernel's centre tap: an odd kernel padded to keep it in place
        centred = kh % 2 == 1 and kw % 2 == 1 and (ph, pw) == (dh * (kh // 2), dw * (kw // 2))
        self.scale: nn.Sequential | None = None
        if (kh, kw) != (1, 1) and centred:
            one = nn.Conv2d(
                conv.in_channels, conv.out_channels, 1, conv.stride, groups=conv.groups, bias=False
            )
            self.scale = nn.Sequential(one, nn.BatchNorm2d(conv.out_channels))
        same = conv.in_channels == conv.out_channels and conv.stride == (1, 1) and (kh % 2, kw % 2) == (1, 1)
        self.skip = (
            nn.BatchNorm2d(conv.out_channels) if same and conv.groups in (1, conv.in_channels) else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = sum(norm(conv(x)) for conv, norm in zip(self.convs, self.norms, strict=True))
        if self.scale is not None:
            out = out + self.scale(x)
        if self.skip is not None:
            out = out + self.skip(x)
        return out

    def fused(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(weight, bias) of the one convolution this computes in eval mode."""
        first = self.convs[0]
        weight = torch.zeros_like(first.weight)
        bias = torch.zeros(first.out_channels)
        kh, kw = first.kernel_size
        for branch, norm in zip(self.convs, self.norms, strict=True):
            w, b = _fold(branch.weight, norm)
            weight, bias = weight + w, bias + b
        if self.scale is not None:
            w, b = _fold(self.scale[0].weight, self.scale[1])
            weight[:, :, kh // 2, kw // 2] += w[:, :, 0, 0]
            bias = bias + b
        if self.skip is not None:
            identity = torch.zeros_like(first.weight)
            channels = torch.arange(first.out_channels)
            identity[channels, channels if first.groups == 1 else 0, kh // 2, kw // 2] = 1.0
            w, b = _fold(identity, self.skip)
            weight, bias = weight + w, bias + b
        return weight, bias


def _like(conv: nn.Conv2d) -> nn.Conv2d:
    """A fresh, bias-free convolution of `conv`'s shape."""
    return nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,  # type: ignore[arg-type]
        conv.stride,  # type: ignore[arg-type]
        padding=conv.padding,  # type: ignore[arg-type]
        dilation=conv.dilation,  # type: ignore[arg-type]
        groups=conv.groups,
        bias=False,
    )


def _fold(weight: torch.Tensor, norm: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """A bias-free convolution's weight followed by `norm` (eval mode) as one (weight, bias)."""
    assert norm.running_var is not None and norm.running_mean is not None
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    return weight * scale[:, None, None, None], norm.bias - norm.running_mean * scale


def _bn_relu(conv: nn.Conv2d, branches: int = 1) -> list[nn.Module]:
    if branches > 1:
        return [RepConvBN(conv, branches), nn.Identity(), nn.ReLU(inplace=True)]
    return [conv, nn.BatchNorm2d(conv.out_channels), nn.ReLU(inplace=True)]


def _separable(
    cin: int, cout: int, stride: int = 1, dilation: int = 1, branches: int = 1, kernel: int = 3
) -> nn.Sequential:
    """Depthwise kernel x kernel (BN, ReLU) then pointwise 1x1 (BN, ReLU)."""
    pad = dilation * (kernel // 2)
    depthwise = nn.Conv2d(cin, cin, kernel, stride, padding=pad, dilation=dilation, groups=cin, bias=False)
    pointwise = nn.Conv2d(cin, cout, 1, bias=False)
    return nn.Sequential(*_bn_relu(depthwise, branches), *_bn_relu(pointwise, branches))


class _Residual(nn.Module):
    """``x + body(x)``; with `linear`, the body's last module (its ReLU) is left out of the sum."""

    def __init__(self, body: nn.Sequential, linear: bool = False) -> None:
        super().__init__()
        self.body = body
        self.linear = linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for layer in islice(self.body, len(self.body) - self.linear):
            y = layer(y)
        return x + y


class LinePool(nn.Module):
    """Adds to every cell what sets its column and its row apart from the whole map: the mean of the
    features down each column and along each row, minus their mean over the map, each through a 1x1
    convolution. A broken end or reed mark raises its column's mean, a broken pick or thick place its
    row's, however faint each cell is. The convolutions start at zero, so adding it to a trained net
    changes nothing until it is trained."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.column = nn.Conv2d(channels, channels, 1)
        self.row = nn.Conv2d(channels, channels, 1)
        for conv in (self.column, self.row):
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        columns = x.mean(dim=2, keepdim=True)  # [N, C, 1, w]
        rows = x.mean(dim=3, keepdim=True)  # [N, C, h, 1]
        whole = columns.mean(dim=3, keepdim=True)
        # Both terms are added by broadcasting, so onnxruntime keeps the map in its blocked (NCHWc)
        # layout from here to the head. Spreading the row term with a product with ones (a MatMul,
        # as until 2026-12-07) made it convert the map out of that layout and back three times:
        # 4-6 % of a 1920x1080 frame, the same map to the last bit (docs/bench.md).
        return torch.relu(x + self.column(columns - whole) + self.row(rows - whole))


class DefectNet(nn.Module):
    """Normalized float ``[N, C, H, W]`` -> (defect logit ``[N, 1, h, w]``, class logits ``[N, K, h, w]``)."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        # patch4 pads with black: -2 on the normalized scale, 0 once `fold_input` has run
        self.pad_value = -PIXEL_MEAN / PIXEL_STD
        self.raw_input = False  # True after `fold_input`: takes pixel values, not normalized ones
        self.interleaved = False  # True after `interleave_stem`: takes [N, 1, H, 3W] (HWC memory order)
        w1, w2, w3 = config.widths
        k = config.branches
        linear = config.residual == "linear"
        if config.stem == "patch4":
            stem_conv = nn.Conv2d(config.in_channels, w1, PATCH, PATCH, bias=False)
            stem = nn.Sequential(*_bn_relu(stem_conv, k))
            middle = _separable(w1, w2, branches=k)
            layers: list[nn.Module] = [stem, _Residual(middle, linear) if w1 == w2 else middle]
            layers.append(_separable(w2, w3, stride=2, branches=k))
        else:
            stem_conv = nn.Conv2d(config.in_channels, w1, 3, 2, padding=1, bias=False)
            stem = nn.Sequential(*_bn_relu(stem_conv, k))
            layers = [stem, _separable(w1, w2, stride=2, branches=k)]
            layers.append(_separable(w2, w3, stride=2, branches=k))
        layers += [
            _Residual(_separable(w3, w3, dilation=d, branches=k, kernel=config.kernel), linear)
            for d in config.dilations
        ]
        self.features = nn.Sequential(*layers)
        # before the last block, so that block can weigh the line context against the cell's own evidence
        self.lines = LinePool(w3) if config.line_pool else None
        self.head = nn.Conv2d(w3, 1 + len(config.classes), 1)
        nn.init.constant_(self.head.bias[:1], -4.0)  # defects are rare: start near p = 0.02

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.config.image_norm:
            x = x - _image_mean(x)
            x = x * torch.rsqrt(_image_mean(x.square()) + IMAGE_NORM_EPS)
        if self.config.stem == "patch4":
            bottom, right = self.stem_pad
            x = F.pad(x, (0, right, 0, bottom), value=self.pad_value)
        x = self.features(x) if self.lines is None else self._with_lines(x)
        out = self.head(x)
        return out[:, :1], out[:, 1:]

    @property
    def stem_pad(self) -> tuple[int, int]:
        """Black rows at the bottom and columns at the right of the patch4 stem's input: PATCH_PAD
        pixels, which are 3 * PATCH_PAD columns of the plane once `interleave_stem` has run."""
        return PATCH_PAD, PATCH_PAD * (3 if self.interleaved else 1)

    def _with_lines(self, x: torch.Tensor) -> torch.Tensor:
        return self.features[-1](self.lines(self.features[:-1](x)))


def fuse_branches(net: DefectNet) -> DefectNet:
    """The plain network (``branches=1``) that computes what `net` computes in eval mode: each
    `RepConvBN` summed into one convolution, with a BatchNorm that passes its bias through. `net`
    itself when it has no branches. Used before export and for the weights a run keeps."""
    if net.config.branches == 1:
        return net
    from dataclasses import replace

    plain = DefectNet(replace(net.config, branches=1))
    branch_parts = (".convs.", ".norms.", ".scale.", ".skip.")
    state = {k: v for k, v in net.state_dict().items() if not any(part in k for part in branch_parts)}
    names = dict(plain.named_modules())
    with torch.no_grad():
        for name, module in net.named_modules():
            if not isinstance(module, RepConvBN):
                continue
            weight, bias = module.fused()
            parent, index = name.rsplit(".", 1)
            norm = names[f"{parent}.{int(index) + 1}"]
            assert isinstance(norm, nn.BatchNorm2d)
            state[f"{name}.weight"] = weight
            norm_state = {
                "weight": torch.ones_like(bias),
                "bias": bias,
                "running_mean": torch.zeros_like(bias),
                "running_var": torch.full_like(bias, 1.0 - norm.eps),
                "num_batches_tracked": torch.tensor(0),
            }
            state.update({f"{parent}.{int(index) + 1}.{k}": v for k, v in norm_state.items()})
    plain.load_state_dict(state)
    return plain.train(net.training)


def add_branches(net: DefectNet, k: int) -> DefectNet:
    """A network with `k` branches per convolution (`RepConvBN`) that computes exactly what the plain
    `net` computes, in training and in eval mode: each convolution and its BatchNorm become the first
    branch, and every other branch, centre tap and skip starts with its BatchNorm's scale and shift at
    zero, so it adds nothing until training grows it. For training on with branches from trained
    weights (`train --init ... --branches K`)."""
    if net.config.branches != 1:
        raise ValueError(f"add_branches needs a plain network, this one has {net.config.branches} branches")
    if k == 1:
        return net
    from dataclasses import replace

    branched = DefectNet(replace(net.config, branches=k))
    branched.train(net.training)
    plain = dict(net.named_modules())
    state = branched.state_dict()
    state.update({key: value for key, value in net.state_dict().items() if key in state})
    for name, module in branched.named_modules():
        if not isinstance(module, RepConvBN):
            continue
        parent, index = name.rsplit(".", 1)
        conv, norm = plain[name], plain[f"{parent}.{int(index) + 1}"]
        state[f"{name}.convs.0.weight"] = conv.weight.detach().clone()
        state.update({f"{name}.norms.0.{key}": value.clone() for key, value in norm.state_dict().items()})
        silent = [f"norms.{i}" for i in range(1, k)] + ["scale.1"] * (module.scale is not None)
        silent += ["skip"] * (module.skip is not None)
        for part in silent:
            state[f"{name}.{part}.weight"] = torch.zeros_like(state[f"{name}.{part}.weight"])
            state[f"{name}.{part}.bias"] = torch.zeros_like(state[f"{name}.{part}.bias"])
    branched.load_state_dict(state)
    return branched


def fold_input(net: DefectNet) -> DefectNet:
    """`net` (patch4, BatchNorm already folded, eval mode) changed in place to take raw pixel values:
    the stem convolution absorbs (pixel - 128) / 64, exactly, padding included (black is 0 raw and
    -2 normalized). The export then has no per-pixel arithmetic between the cast and the stem."""
    if net.config.stem != "patch4" or net.raw_input:
        return net
    conv = net.features[0][0]
    if not isinstance(conv, nn.Conv2d) or conv.bias is None:
        raise ValueError("fold_input needs the stem convolution with its BatchNorm folded in")
    with torch.no_grad():
        conv.bias -= (PIXEL_MEAN / PIXEL_STD) * conv.weight.sum(dim=(1, 2, 3))
        conv.weight *= 1.0 / PIXEL_STD
    net.pad_value = 0.0
    net.raw_input = True
    return net


def interleave_stem(net: DefectNet) -> DefectNet:
    """`net` (colour patch4, after `fold_input`) changed in place to take the frame's HWC memory as one
    ``[N, 1, H, 3W]`` plane: a 4x4 patch of 3 channels is exactly a 4x12 window of that plane, read with
    stride (4, 12). The export then feeds the frame to the stem without a transpose (0.6-0.8 ms per
    1280x720 frame in onnxruntime). Grey models and conv3 stems are left as they are."""
    if net.config.stem != "patch4" or not net.config.color or net.interleaved:
        return net
    if not net.raw_input:
        raise ValueError("interleave_stem needs the input normalization folded in first (fold_input)")
    conv = net.features[0][0]
    out_channels, channels, height, width = conv.weight.shape
    plane = nn.Conv2d(1, out_channels, (height, width * channels), (PATCH, PATCH * channels))
    with torch.no_grad():
        # weight[o, c, i, j] reads pixel (i, j) channel c: in the plane that is column j * 3 + c
        plane.weight.copy_(conv.weight.permute(0, 2, 3, 1).reshape(out_channels, 1, height, width * channels))
        plane.bias.copy_(conv.bias)
    net.features[0][0] = plane
    net.interleaved = True
    return net


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``[N, C, H, W]`` -> the network's float input (the same arithmetic as in the graph)."""
    return (images.float() - PIXEL_MEAN) * (1.0 / PIXEL_STD)


class FrameModel(nn.Module):
    """The exported graph: raw uint8 frame in, probability map and class logits out."""

    def __init__(self, net: DefectNet) -> None:
        super().__init__()
        self.net = net
        self.color = net.config.color

    def forward(self, frame: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.net.interleaved:  # [H, W, 3] read as [1, 1, H, 3W]: a view, no copy
            x = frame.flatten(1).unsqueeze(0).unsqueeze(0)
        elif self.color:
            x = frame.permute(2, 0, 1).unsqueeze(0)
        else:
            x = frame.unsqueeze(0).unsqueeze(0)
        logit, class_logits = self.net(x.float() if self.net.raw_input else normalize(x))
        return torch.sigmoid(logit[0, 0]), class_logits[0]


def build_network(config: NetworkConfig) -> DefectNet:
    return DefectNet(config)


def output_size(height: int, width: int) -> tuple[int, int]:
    """Score-map size for an input of ``height x width``: ``ceil(H / 8) x ceil(W / 8)`` for both stems."""
    return -(-height // STRIDE), -(-width // STRIDE)
