"""Synthetic fabric images: determinism, masks that match the defect records, every class at every
visibility, greyscale, the labeled dataset on disk, and the weave itself."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from fabric_inspect.datasets.classes import DEFECT_CLASSES, VISIBILITIES, class_index
from fabric_inspect.datasets.synthetic import render_sample, write_dataset
from fabric_inspect.errors import ConfigError


def test_same_seed_gives_identical_image_mask_and_records():
    a = render_sample(11, 96, defect_rate=1.0)
    b = render_sample(11, 96, defect_rate=1.0)
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.mask, b.mask)
    assert a.defects == b.defects


def test_different_seeds_give_different_fabric():
    assert not np.array_equal(render_sample(1, 96).image, render_sample(2, 96).image)


@pytest.mark.parametrize("name", DEFECT_CLASSES)
@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_every_class_renders_at_every_visibility_with_a_mask_of_its_class(name, visibility):
    s = render_sample(100 + DEFECT_CLASSES.index(name), 128, defect_class=name, visibility=visibility)
    assert [(d.class_name, d.visibility) for d in s.defects] == [(name, visibility)]
    assert set(np.unique(s.mask)) == {0, class_index(name)}
    x0, y0, x1, y1 = s.defects[0].bbox
    ys, xs = np.nonzero(s.mask)
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x0, y0, x1, y1)


@pytest.mark.parametrize("name", DEFECT_CLASSES)
def test_defect_changes_the_pixels_under_its_mask_and_little_else(name):
    """A sample and its defect-free twin (same seed, defect_rate=0) differ mostly under the mask."""
    seed = 300 + DEFECT_CLASSES.index(name)
    with_defect = render_sample(seed, 128, defect_class=name, visibility="high")
    clean = render_sample(seed, 128, defect_rate=0.0)
    mask = with_defect.mask > 0
    diff = np.abs(with_defect.image.astype(np.int16) - clean.image.astype(np.int16)).max(axis=2)
    near = cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert diff[mask].mean() > 4, diff[mask].mean()
    assert diff[~near].max() <= 2 * 3 + 16 * _jpeg(seed), diff[~near].max()


@pytest.mark.parametrize("name", DEFECT_CLASSES)
def test_visibility_grades_are_ordered_low_medium_high(name):
    """Contrast x size (root of the summed change under the mask, averaged over fabrics) grows from
    low to medium to high, so metrics broken down by visibility mean something."""
    scores = []
    for visibility in VISIBILITIES:
        total = 0.0
        for seed in range(4):
            s = render_sample(seed, 96, defect_class=name, visibility=visibility)
            clean = render_sample(seed, 96, defect_rate=0.0)
            diff = np.abs(s.image.astype(np.int16) - clean.image.astype(np.int16)).max(axis=2)
            total += float(np.sqrt(diff[s.mask > 0].sum()))
        scores.append(total / 4)
    assert scores[0] < scores[1] < scores[2], scores


def _jpeg(seed: int) -> int:
    """1 when this seed's camera compresses to JPEG (block artefacts spread a change a little)."""
    from fabric_inspect.datasets.camera import sample_camera

    rng = np.random.default_rng([seed, 0x5EED])
    from fabric_inspect.datasets.weave import sample_fabric

    sample_fabric(rng)
    return int(sample_camera(rng).jpeg_quality > 0)


def test_images_without_defects_have_an_empty_mask_and_no_records():
    for seed in range(4):
        s = render_sample(seed, 64, defect_rate=0.0)
        assert s.defects == ()
        assert not s.mask.any()


def test_defect_rate_sets_the_share_of_defective_images():
    flags = [bool(render_sample(seed, 48, defect_rate=0.5).defects) for seed in range(60)]
    assert 18 <= sum(flags) <= 42


def test_grey_output_is_single_channel_and_non_square_sizes_work():
    s = render_sample(5, (64, 160), grey=True, defect_class="hole")
    assert s.image.shape == (64, 160) and s.image.dtype == np.uint8
    assert s.mask.shape == (64, 160)
    colour = render_sample(5, (64, 160))
    assert colour.image.shape == (64, 160, 3)


def test_plain_weave_alternates_warp_and_weft_on_top_at_yarn_scale():
    """The weave has a strong periodic structure at the yarn pitch, not noise: the autocorrelation
    of a defect-free image is much higher at one weave repeat than at half a yarn."""
    from fabric_inspect.datasets.render import composite, geometry
    from fabric_inspect.datasets.weave import FabricSpec, build_field, weave_pattern

    rng = np.random.default_rng(0)
    grey = np.array([[0.8, 0.8, 0.8]], np.float32)
    spec = FabricSpec(
        weave="plain", pattern=weave_pattern("plain", rng), warp_pitch=8.0, weft_pitch=8.0,
        warp_fill=0.9, weft_fill=0.9, irregularity=0.02, shade_var=0.02, hairiness=0.0,
        warp_palette=grey, warp_sequence=(0,), weft_palette=grey, weft_sequence=(0,),
        background=(0.05, 0.05, 0.05),
    )  # fmt: skip
    f = build_field(spec, 1, 0, 128, 128)
    img = composite(f, geometry(f))[..., 0]
    row = img[:, 20:100].mean(axis=1) - img[:, 20:100].mean()
    corr = [float(np.dot(row[:-k], row[k:])) for k in (4, 16)]
    assert corr[1] > 0 > corr[0]


@pytest.mark.parametrize("name", [None, *DEFECT_CLASSES])
def test_a_region_rendered_straight_to_uint8_equals_the_float_region_converted(name):
    """Without a defect painting on the surface, render_region(as_uint8=True) converts tile by tile
    and never makes the float image: the pixels and the instance map must not change."""
    from fabric_inspect.datasets.camera import to_uint8
    from fabric_inspect.datasets.defects import Loom, plan_defect
    from fabric_inspect.datasets.scene import render_region
    from fabric_inspect.datasets.weave import sample_fabric

    rng = np.random.default_rng(7)
    loom = Loom(spec=sample_fabric(rng), seed=5, width=150)
    plans = [] if name is None else [plan_defect(loom, rng, name, "high", 75.0, 60.0, span=100.0)]
    img, inst = render_region(loom, plans, -10, 130)
    img8, inst8 = render_region(loom, plans, -10, 130, as_uint8=True)
    assert img8.dtype == np.uint8
    assert np.array_equal(img8, to_uint8(img))
    assert np.array_equal(inst8, inst)


def test_bad_options_raise_config_errors_naming_the_option():
    with pytest.raises(ConfigError, match="--size"):
        render_sample(0, 8)
    with pytest.raises(ConfigError, match=r"unknown defect class 'hol'.*'hole'"):
        render_sample(0, 64, defect_class="hol")
    with pytest.raises(ConfigError, match="visibility"):
        render_sample(0, 64, visibility="invisible")
    with pytest.raises(ConfigError, match="--defect-rate"):
        render_sample(0, 64, defect_rate=1.5)
    with pytest.raises(ConfigError, match=r"--placement 'edge'.*anywhere"):
        render_sample(0, 64, placement="edge")


def _hole_centres(placement: str, size: int = 160) -> np.ndarray:
    samples = [
        render_sample(seed, size, defect_class="hole", visibility="high", placement=placement)
        for seed in range(40)
    ]
    boxes = np.array([s.defects[0].bbox for s in samples], float)
    return np.stack([boxes[:, 0] + boxes[:, 2], boxes[:, 1] + boxes[:, 3]], axis=1) / (2 * size)


def test_central_placement_keeps_defects_in_the_middle_and_anywhere_reaches_the_edges():
    central = _hole_centres("central")
    assert ((central > 0.2) & (central < 0.8)).all()
    anywhere = _hole_centres("anywhere")
    near_edge = ((anywhere < 0.2) | (anywhere > 0.8)).any(axis=1)
    assert near_edge.mean() > 0.3, anywhere  # uniform over the image: about 0.64 of centres
    assert not np.array_equal(central, anywhere)


def test_write_dataset_writes_the_labeled_format(synthetic_dataset):
    root = synthetic_dataset
    assert (root / "classes.txt").read_text().split() == list(DEFECT_CLASSES)
    images = sorted((root / "images").glob("*.png"))
    assert len(images) == 24
    annotations = json.loads((root / "annotations.json").read_text())
    assert sorted(annotations) == [p.stem for p in images]
    for stem, records in annotations.items():
        mask_path = root / "masks" / f"{stem}.png"
        assert mask_path.exists() == bool(records)
        if records:
            mask = cv2.imread(str(mask_path), cv2.IMREAD_UNCHANGED)
            assert mask.shape == (128, 128)
            assert set(np.unique(mask)) - {0} == {class_index(r["class"]) for r in records}
            for r in records:
                x0, y0, x1, y1 = r["bbox"]
                assert r["visibility"] in VISIBILITIES
                assert (mask[y0:y1, x0:x1] == class_index(r["class"])).any()
    assert 4 <= sum(bool(r) for r in annotations.values()) <= 20


def test_write_dataset_refuses_a_negative_count(tmp_path):
    with pytest.raises(ConfigError, match="--count"):
        write_dataset(tmp_path / "d", count=-1, size=64, seed=0)
    assert not (tmp_path / "d").exists()


def test_images_with_two_defects_keep_them_apart_with_one_record_each():
    pairs = [
        s for s in (render_sample(seed, 160, defect_rate=1.0) for seed in range(80)) if len(s.defects) == 2
    ]
    assert pairs, "about one defective image in seven should hold two defects"
    for s in pairs:
        a, b = (d.bbox for d in s.defects)
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)  # boxes apart
        assert set(np.unique(s.mask)) - {0} == {class_index(d.class_name) for d in s.defects}


@pytest.mark.parametrize("size", [32, (32, 200), (200, 32)])
def test_every_class_fits_in_tiny_and_strip_shaped_images(size):
    for name in DEFECT_CLASSES:
        for seed in range(2):
            s = render_sample(seed, size, defect_class=name, visibility="high")
            assert [d.class_name for d in s.defects] == [name], (name, seed)
            assert s.mask.shape == s.image.shape[:2]


def test_colouring_shares_choose_the_colouring_and_leave_the_rest_of_the_fabric_as_it_was():
    from fabric_inspect.datasets.synthetic import fabric_of
    from fabric_inspect.datasets.weave import COLOURING_SHARES

    def spec(seed, shares=COLOURING_SHARES):
        return fabric_of(seed, shares)

    default = [spec(s) for s in range(40)]
    forced = [spec(s, (0.0, 0.0, 1.0)) for s in range(40)]
    assert {f.colouring for f in default} == {"greige", "dyed", "yarn_dyed"}
    assert {f.colouring for f in forced} == {"yarn_dyed"}
    # one draw of the generator whatever the shares: weave and pitch are the same numbers
    assert [(f.weave, f.warp_pitch) for f in forced] == [(f.weave, f.warp_pitch) for f in default]
    image = render_sample(7, 96, colouring_shares=(0.0, 0.0, 1.0)).image
    assert np.array_equal(
        render_sample(7, 96, colouring_shares=COLOURING_SHARES).image, render_sample(7, 96).image
    )
    assert (spec(7).colouring == "yarn_dyed") == np.array_equal(image, render_sample(7, 96).image)
