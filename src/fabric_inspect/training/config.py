"""Training configuration: one frozen dataclass, named presets, and JSON round trip. Plain Python."""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from fabric_inspect.datasets.classes import DEFECT_CLASSES
from fabric_inspect.datasets.split import SPLIT_MODES
from fabric_inspect.errors import ConfigError

KEEP_EPOCHS = ("best", "last")  # which epoch of a run `train --keep` exports


def check_keep(keep: str) -> None:
    if keep not in KEEP_EPOCHS:
        raise ConfigError(f"--keep must be one of {', '.join(KEEP_EPOCHS)}, got {keep!r}")


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """How to train (or fine-tune) a DefectNet. Validated on construction; stored as config.json."""

    epochs: int = 64
    steps_per_epoch: int = 150
    batch_size: int = 16
    crop: int = 160  # training crop side in pixels (a multiple of 8)
    # synthetic: larger crop sides that steps take in turn with `crop` (step i: the (i mod n)-th of
    # (crop, *large_crops)), each with as many images as hold about batch_size * crop^2 pixels. A
    # net trained on crops smaller than its receptive field reads camera frames differently (a knot
    # of the shipped model scores 0.95 in a 96 px crop, 0.07 in a 512 px image; docs/model-experiments.md).
    large_crops: tuple[int, ...] = ()
    # synthetic: pixels at each edge of a training crop whose cells count neither as defect nor as
    # fabric. A cell near the edge sees the crop's zero-padded border, which no camera frame has.
    border_ignore: int = 0
    # synthetic: the same band, on the large_crops steps only (the `crop` steps keep every cell). The
    # larger of the two applies there. Training on large crops alone cost more than the border does
    # (docs/model-experiments.md), so this keeps the small crops' many images and defects per step.
    large_border_ignore: int = 0
    lr: float = 3e-3
    weight_decay: float = 1e-4
    patience: int = 10  # early stopping: epochs without a better validation (see loop.is_better)
    val_fraction: float = 0.2
    # folder data: how `train` holds out its own validation images (datasets.split): "auto" keeps
    # whole rolls (groups) apart where the format has them. On a small set that withholds a whole
    # fabric's defects from training; "image_within_fabric" holds out images of every fabric instead.
    split: str = "auto"
    val_images: int = 256  # synthetic: validation images per epoch (fixed seeds; selects the epoch)
    val_size: int = 256  # synthetic: validation image side
    calib_images: int = 300  # synthetic: defect-free images for threshold calibration
    # synthetic: calibration frames are camera-sized (height, width): the image score is the map's
    # maximum, so a threshold set on small images gives more false alarms on big frames.
    calib_size: tuple[int, int] = (720, 1280)
    defect_rate: float = 0.6  # synthetic: share of training images with a defect
    # synthetic: where training images' defects may lie (datasets.synthetic.PLACEMENTS). "central"
    # keeps them in the middle half of the crop, so a net can learn that a defect is never near the
    # crop's zero-padded border: the shipped model scores a centred defect higher than the same one
    # 40 px from two edges (docs/model-experiments.md). Validation images stay "central", as every test set.
    defect_placement: str = "central"
    # synthetic: the chances of greige, dyed and yarn-dyed fabric in training images; None: the
    # generator's own (datasets.weave.COLOURING_SHARES), which validation, calibration and every test
    # set keep. Yarn-dyed checks and stripes are the fabric the shipped model reads worst
    # (docs/model-card.md).
    colouring_mix: tuple[float, ...] | None = None
    # synthetic: the chances of each defect class in training images, in datasets.classes.DEFECT_CLASSES
    # order; None: each class as likely, as validation, calibration and every test set keep
    class_mix: tuple[float, ...] | None = None
    defect_crop_fraction: float = 0.5  # folder data: share of crops centred on a defect
    target_far: float = 0.01  # false-alarm rate the threshold is calibrated for
    seed: int = 0
    threads: int = 2
    color: bool = True
    stem: str = "patch4"  # network stem, see models.network
    widths: tuple[int, ...] = (24, 24, 64)
    dilations: tuple[int, ...] = (1, 2, 4, 8)
    kernel: int = 3  # depthwise kernel of the blocks at stride 8 (models.network.NetworkConfig.kernel)
    image_norm: bool = False
    line_pool: bool = False  # row and column context (models.network.LinePool)
    # training-time branches per convolution (models.network.RepConvBN), summed into the plain
    # network at export: the same speed per frame; 1 = plain
    branches: int = 1
    # residual blocks' sum (models.network.NetworkConfig.residual): None keeps the --init
    # checkpoint's (a fresh network: "relu"); "linear" lets onnxruntime fuse sums into convolutions
    residual: str | None = None
    # synthetic: low-visibility defects are left out of the training targets (neither defect nor
    # fabric; see training.loss). Validation and every test still count them.
    ignore_low_visibility: bool = True
    # cells of a defect smaller than 8 map cells weigh up to this many times as much in the focal loss
    # (training.loss.small_defect_weights); 1 = every defect cell the same
    small_defect_boost: float = 1.0
    # knowledge distillation: a trained checkpoint (.pt) whose defect map the net also learns
    # (training.loss.distill_loss), e.g. a wider net too slow to ship; None: labels only
    teacher: str | None = None
    distill_weight: float = 1.0  # the distillation term's weight beside the label terms
    # defective images' maxima ranked above the batch's hottest defect-free cell (training.loss.rank_loss)
    rank_weight: float = 0.0

    def __post_init__(self) -> None:
        positive = ("epochs", "steps_per_epoch", "batch_size", "val_images", "val_size", "threads")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if len(self.widths) != 3 or any(w < 1 or w > 1024 for w in self.widths):
            raise ConfigError(
                "--widths must be 3 channel counts in 1..1024 (stem, stride-4 block, stride 8), "
                f"got {','.join(map(str, self.widths))}"
            )
        if not 1 <= len(self.dilations) <= 8 or any(d < 1 or d > 64 for d in self.dilations):
            raise ConfigError(
                "--dilations must be 1 to 8 dilations in 1..64 (one residual block at stride 8 each), "
                f"got {','.join(map(str, self.dilations)) or 'none'}"
            )
        if not 1.0 <= self.small_defect_boost <= 64.0:
            raise ConfigError(f"small_defect_boost must be in 1..64, got {self.small_defect_boost}")
        for side in (self.crop, *self.large_crops):
            if side < 32 or side % 8:
                raise ConfigError(f"--crop must be a multiple of 8 and at least 32, got {side}")
        if self.border_ignore < 0 or 2 * self.border_ignore >= self.crop:
            raise ConfigError(
                f"border_ignore must be >= 0 and leave part of the {self.crop} px crop, "
                f"got {self.border_ignore}"
            )
        if self.large_border_ignore:
            if not self.large_crops:
                raise ConfigError("large_border_ignore needs large_crops (it applies to them alone)")
            if self.large_border_ignore < 0 or 2 * self.large_border_ignore >= min(self.large_crops):
                raise ConfigError(
                    f"large_border_ignore must be >= 0 and leave part of the {min(self.large_crops)} px "
                    f"crop, got {self.large_border_ignore}"
                )
        if not 1 <= self.branches <= 8:
            raise ConfigError(f"--branches must be 1..8, got {self.branches}")
        if self.kernel not in (3, 5, 7):
            raise ConfigError(f"--kernel must be 3, 5 or 7, got {self.kernel}")
        if self.residual not in (None, "relu", "linear"):  # models.network.RESIDUALS (torch-free here)
            raise ConfigError(f"--residual must be relu or linear, got {self.residual!r}")
        if not 0.0 <= self.rank_weight <= 100.0:
            raise ConfigError(f"--rank-weight must be in 0..100, got {self.rank_weight}")
        if not 0.0 <= self.distill_weight <= 100.0:
            raise ConfigError(f"--distill-weight must be in 0..100, got {self.distill_weight}")
        if not 0.0 < self.lr < 1.0:
            raise ConfigError(f"--lr must be in (0, 1), got {self.lr}")
        if self.patience < 1:
            raise ConfigError(f"--patience must be at least 1 epoch, got {self.patience}")
        if self.weight_decay < 0.0 or self.calib_images < 1:
            raise ConfigError("weight_decay must be >= 0 and calib_images >= 1")
        if len(self.calib_size) != 2 or min(self.calib_size) < 32:
            raise ConfigError(f"calib_size must be (height, width), each >= 32 px, got {self.calib_size}")
        if self.split not in SPLIT_MODES:
            raise ConfigError(f"--split must be one of {', '.join(SPLIT_MODES)}, got {self.split!r}")
        for name in ("val_fraction", "target_far"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ConfigError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        for name in ("defect_rate", "defect_crop_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        _check_shares("colouring_mix", self.colouring_mix, ("greige", "dyed", "yarn-dyed"))
        _check_shares("class_mix", self.class_mix, DEFECT_CLASSES)
        from fabric_inspect.datasets.synthetic import PLACEMENTS  # here: the module needs OpenCV

        if self.defect_placement not in PLACEMENTS:
            raise ConfigError(
                f"defect_placement must be one of {', '.join(PLACEMENTS)}, got {self.defect_placement!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> TrainConfig:
        names = [f.name for f in fields(cls)]
        for key in data:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"{source}: unknown training setting {key!r}{hint}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        try:
            return cls(**values)
        except TypeError as err:
            raise ConfigError(f"{source}: {err}") from None

    def with_overrides(self, **overrides: Any) -> TrainConfig:
        """A copy with the non-None overrides applied (CLI options left unset stay as the preset)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **given) if given else self

    def step_crop(self, step: int) -> tuple[int, int]:
        """(crop side, images) of training step `step` (see `large_crops`)."""
        sides = (self.crop, *self.large_crops)
        side = sides[step % len(sides)]
        return side, max(1, round(self.batch_size * self.crop**2 / side**2))

    def step_border(self, step: int) -> int:
        """Pixels at each edge of step `step`'s crops left out of the targets (`large_border_ignore`)."""
        if step % (1 + len(self.large_crops)) == 0:  # step_crop's turn for `crop`
            return self.border_ignore
        return max(self.border_ignore, self.large_border_ignore)

    def network_dict(self) -> dict[str, Any]:
        return {
            "color": self.color,
            "stem": self.stem,
            "widths": list(self.widths),
            "dilations": list(self.dilations),
            "kernel": self.kernel,
            "image_norm": self.image_norm,
            "line_pool": self.line_pool,
            "branches": self.branches,
            "residual": self.residual or "relu",
        }


# The small recipe (below): the lines model trained on with small defects weighted up in the focal loss.
_SMALL: dict[str, Any] = {
    "line_pool": True,
    "crop": 224,
    "lr": 1e-3,
    "epochs": 20,
    "patience": 8,
    "small_defect_boost": 4.0,
}


def _check_shares(name: str, shares: tuple[float, ...] | None, labels: tuple[str, ...]) -> None:
    """Raise ConfigError unless `shares` is None or one chance per label, each >= 0, summing to 1."""
    if shares is not None and (
        len(shares) != len(labels) or min(shares) < 0.0 or abs(sum(shares) - 1.0) > 1e-6
    ):
        raise ConfigError(
            f"{name} must be {len(labels)} shares ({', '.join(labels)}), each >= 0, summing to 1, "
            f"got {list(shares)}"
        )


# DEFECT_CLASSES order: broken_end, broken_pick, thick_place, slub, hole, stain, knot, float, reed_mark
HARD_CLASS_MIX = (2 / 14, 2 / 14, 1 / 14, 2 / 14, 1 / 14, 1 / 14, 2 / 14, 2 / 14, 1 / 14)

# Named recipes. "default" is the shipped model's (`make model`): synthetic fabric, ~60 min on 2 cores.
PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    # per-image normalization in the graph: synthetic image AUROC 0.73 vs 0.67, but 41 vs 19 ms per
    # 1280x720 frame (docs/model-experiments.md); not the shipped recipe while speed is the tighter target
    "inorm": {"image_norm": True, "stem": "conv3", "widths": (16, 32, 64), "dilations": (1, 2, 4)},
    # line pooling added to a trained model (--init default), on larger crops so long defects fit
    "lines": {"line_pool": True, "crop": 224, "lr": 1e-3, "epochs": 20, "patience": 8},
    # the lines model (--init) trained on with small defects weighted up in the focal loss
    # (`make model` runs it twice: 20 epochs with early stopping, then --epochs 24 --patience 99)
    "small": _SMALL,
    # the small recipe with every second and third step on 448 and 704 px crops (large_crops)
    "sizes": {**_SMALL, "large_crops": (448, 704)},
    # camera-sized crops only, the cells near each crop's edge left out of the targets
    "interior": {**_SMALL, "crop": 448, "batch_size": 4, "large_crops": (704,), "border_ignore": 96},
    # the sizes recipe with the border left out on its 448 and 704 px crops only (tried from scratch:
    # level on synthetic stills, AITEX zero-shot 0.45 against 0.75; docs/model-experiments.md)
    "mixed": {**_SMALL, "large_crops": (448, 704), "large_border_ignore": 96},
    # the small recipe with training defects anywhere in the crop, up to and across its edge
    "anywhere": {**_SMALL, "defect_placement": "anywhere"},
    # the anywhere recipe with yarn-dyed fabric (checks and stripes) in half the training images
    # instead of a quarter: the shipped model's weakest fabric (docs/model-experiments.md)
    "yarndyed": {**_SMALL, "defect_placement": "anywhere", "colouring_mix": (0.3, 0.2, 0.5)},
    # the anywhere recipe with twice as many of the classes version 5 finds least at medium and high
    # visibility in its training images (broken ends and picks, slubs, knots, floats: 1/7 each against
    # 1/14 for thick places, holes, stains and reed marks; reed marks stay, being mostly fainter than
    # the weave, docs/model-card.md "(a) by how visible each defect really is")
    "hardclasses": {**_SMALL, "defect_placement": "anywhere", "class_mix": HARD_CLASS_MIX},
    # the small recipe with twice the channels at stride 8 (about 110k parameters, as many as the data
    # README's reference net): a test of whether capacity limits the AITEX figures (docs/model-card.md);
    # about 3x the compute per frame, so over the real-time budget
    "wide": {**_SMALL, "widths": (24, 24, 128)},
    # a few hundred labeled images, from the shipped weights (--init default) or from scratch: 30 epochs
    # of 60 steps on 256 px crops, the last one exported. No early stopping: on AITEX the internal
    # validation AUROC sat at 1.0 from epoch 5, and the old 12-epoch, patience-4 recipe (lr 1e-3)
    # came out 0.04-0.06 lower on the held-out images (docs/model-card.md, (c))
    "finetune": {
        "epochs": 30,
        "steps_per_epoch": 60,
        "lr": 3e-3,
        "crop": 256,
        "patience": 99,
        "small_defect_boost": 4.0,
    },
    "quick": {
        "epochs": 3,
        "steps_per_epoch": 20,
        "batch_size": 8,
        "crop": 128,
        "val_images": 24,
        "calib_images": 32,
        "calib_size": (240, 320),
    },
}


def preset(name: str) -> TrainConfig:
    """The TrainConfig of a named preset; ConfigError suggests the close name."""
    if name not in PRESETS:
        close = difflib.get_close_matches(name, PRESETS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(PRESETS)}"
        raise ConfigError(f"unknown --preset {name!r}; {hint}")
    return TrainConfig(**PRESETS[name])
