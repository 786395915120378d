"""Camera-sized training crops: which step takes which size (`TrainConfig.large_crops`), the band at
each crop's edge left out of the targets (`border_ignore`), and what the synthetic source makes."""

from __future__ import annotations

import numpy as np
import pytest

from fabric_inspect.datasets.classes import DEFECT_CLASSES, class_index
from fabric_inspect.errors import ConfigError
from fabric_inspect.training.config import TrainConfig, preset


@pytest.mark.parametrize(
    ("large", "steps", "want"),
    [
        ((), range(3), [(224, 16)] * 3),
        ((448, 704), range(4), [(224, 16), (448, 4), (704, 2), (224, 16)]),
        ((2240,), range(2), [(224, 16), (2240, 1)]),  # never fewer than one image
    ],
)
def test_steps_take_the_crop_sizes_in_turn_with_about_the_same_pixels(large, steps, want):
    config = TrainConfig(crop=224, batch_size=16, large_crops=large)
    assert [config.step_crop(s) for s in steps] == want


@pytest.mark.parametrize("large", [(100,), (448, 24)])
def test_a_large_crop_that_is_not_a_multiple_of_8_or_too_small_is_refused(large):
    with pytest.raises(ConfigError, match="multiple of 8"):
        TrainConfig(large_crops=large)


def test_synthetic_source_renders_each_step_at_its_size():
    from fabric_inspect.training.data import SyntheticSource

    config = TrainConfig(crop=64, batch_size=4, large_crops=(128,), ignore_low_visibility=True)
    source = SyntheticSource(config)
    small, large = source.train_batch(0), source.train_batch(1)
    assert tuple(small.images.shape) == (4, 3, 64, 64) and tuple(small.masks.shape) == (4, 64, 64)
    assert tuple(large.images.shape) == (1, 3, 128, 128) and tuple(large.masks.shape) == (1, 128, 128)


def test_the_run_summary_counts_the_images_the_steps_took():
    from fabric_inspect.training.data import SyntheticSource

    config = TrainConfig(crop=224, batch_size=16, large_crops=(448, 704), epochs=2, steps_per_epoch=3)
    summary = SyntheticSource(config).summary()
    assert summary["train_images"] == 2 * (16 + 4 + 2) and summary["large_crops"] == [448, 704]
    assert SyntheticSource(TrainConfig(epochs=2, steps_per_epoch=3)).summary()["train_images"] == 96


def test_folder_data_refuses_large_crops():
    from fabric_inspect.training.data import FolderSource

    with pytest.raises(ConfigError, match="synthetic training only"):
        FolderSource(preset("sizes"), train=None, val=None)


def test_the_sizes_preset_is_the_small_recipe_with_large_crops():
    small, sizes = preset("small"), preset("sizes")
    assert sizes.large_crops == (448, 704)
    assert TrainConfig.from_dict({**sizes.to_dict(), "large_crops": []}) == small


def test_ignore_border_marks_only_the_band_at_each_edge():
    import numpy as np

    from fabric_inspect.training.data import ignore_border
    from fabric_inspect.training.loss import IGNORE

    mask = np.zeros((40, 48), np.uint8)
    mask[18:22, 20:24] = 3
    out = ignore_border(mask, 8)
    assert (out[:8] == IGNORE).all() and (out[-8:] == IGNORE).all()
    assert (out[:, :8] == IGNORE).all() and (out[:, -8:] == IGNORE).all()
    assert (out[8:-8, 8:-8] == mask[8:-8, 8:-8]).all() and (mask != IGNORE).all()


def test_border_ignore_leaves_defect_free_images_their_image_label():
    """The band is left out of the cell targets, not of the image's maximum: a defect-free crop keeps
    label 0 (and so its MIL term), instead of the -1 of an image with only ignored defects."""
    from fabric_inspect.training.data import SyntheticSource
    from fabric_inspect.training.loss import IGNORE

    config = TrainConfig(crop=64, batch_size=4, border_ignore=16, defect_rate=0.0)
    batch = SyntheticSource(config).train_batch(0)
    assert batch.labels.tolist() == [0, 0, 0, 0]
    assert bool((batch.masks[:, :16] == IGNORE).all()) and bool((batch.masks[:, 16:-16, 16:-16] == 0).all())


@pytest.mark.parametrize("width", [-1, 32, 40])
def test_a_border_that_leaves_nothing_of_the_crop_is_refused(width):
    with pytest.raises(ConfigError, match="border_ignore"):
        TrainConfig(crop=64, border_ignore=width)


def test_large_border_ignore_leaves_out_the_band_on_the_large_crops_only():
    from fabric_inspect.training.data import SyntheticSource
    from fabric_inspect.training.loss import IGNORE

    config = TrainConfig(crop=64, batch_size=4, large_crops=(128,), large_border_ignore=16, defect_rate=0.0)
    source = SyntheticSource(config)
    small, large = source.train_batch(0), source.train_batch(1)
    assert small.masks.shape[-1] == 64 and large.masks.shape[-1] == 128
    assert not bool((small.masks == IGNORE).any())
    assert bool((large.masks[:, :16] == IGNORE).all()) and bool((large.masks[:, 16:-16, 16:-16] == 0).all())


@pytest.mark.parametrize(("large", "width"), [((), 16), ((128,), 64), ((128,), -1)])
def test_a_large_border_without_large_crops_or_too_wide_for_them_is_refused(large, width):
    with pytest.raises(ConfigError, match="large_border_ignore"):
        TrainConfig(crop=64, large_crops=large, large_border_ignore=width)


def test_the_mixed_preset_is_the_sizes_recipe_with_the_border_left_out_on_large_crops():
    sizes, mixed = preset("sizes"), preset("mixed")
    assert mixed.large_border_ignore == 96 and mixed.border_ignore == 0
    assert TrainConfig.from_dict({**mixed.to_dict(), "large_border_ignore": 0}) == sizes


def _edge_share(masks: list) -> float:
    """Share of the defective crops whose defect reaches the 8 px band at the crop's edge."""
    defective = [m for m in masks if (m > 0).any()]
    band = [m[:8].any() or m[-8:].any() or m[:, :8].any() or m[:, -8:].any() for m in defective]
    return sum(band) / len(defective)


def test_the_anywhere_preset_puts_training_defects_at_the_edge_and_keeps_validation_central():
    from fabric_inspect.training.data import SyntheticSource

    small, anywhere = (preset(name).with_overrides(val_images=6) for name in ("small", "anywhere"))
    assert anywhere == small.with_overrides(defect_placement="anywhere")
    masks = {name: [] for name in ("small", "anywhere")}
    for name, config in (("small", small), ("anywhere", anywhere)):
        for step in range(4):
            masks[name] += SyntheticSource(config).train_arrays(step)[1]
    # broken ends and picks cross the crop from edge to edge under either placement
    assert _edge_share(masks["anywhere"]) > _edge_share(masks["small"]) + 0.15
    a, b = SyntheticSource(small).val_images(), SyntheticSource(anywhere).val_images()
    assert all(
        np.array_equal(x.image, y.image) and np.array_equal(x.mask, y.mask) for x, y in zip(a, b, strict=True)
    )


def test_an_unknown_defect_placement_is_refused():
    with pytest.raises(ConfigError, match=r"defect_placement.*'edge'"):
        TrainConfig(defect_placement="edge")


def test_colouring_mix_changes_the_training_fabric_only_and_keeps_validation_as_every_test_set():
    from fabric_inspect.datasets.synthetic import fabric_of
    from fabric_inspect.training.data import TRAIN_SEED_BASE, SyntheticSource

    plain = TrainConfig(crop=64, batch_size=12, val_images=4, val_size=64, defect_rate=0.0)
    yarn = plain.with_overrides(colouring_mix=(0.0, 0.0, 1.0))
    a, b = SyntheticSource(plain).train_arrays(0)[0], SyntheticSource(yarn).train_arrays(0)[0]
    already = [fabric_of(TRAIN_SEED_BASE + i).colouring == "yarn_dyed" for i in range(12)]
    assert 0 < sum(already) < 12
    # the image of a seed whose fabric was yarn-dyed anyway is unchanged; every other one is rewoven
    assert [np.array_equal(x, y) for x, y in zip(a, b, strict=True)] == already
    va, vb = SyntheticSource(plain).val_images(), SyntheticSource(yarn).val_images()
    assert all(np.array_equal(x.image, y.image) for x, y in zip(va, vb, strict=True))


def test_the_yarndyed_preset_is_the_anywhere_recipe_with_half_the_fabric_yarn_dyed():
    assert preset("yarndyed") == preset("anywhere").with_overrides(colouring_mix=(0.3, 0.2, 0.5))


@pytest.mark.parametrize("mix", [(0.5, 0.5, 0.5), (0.5, 0.5), (-0.1, 0.6, 0.5)])
def test_a_colouring_mix_that_is_not_three_shares_summing_to_one_is_refused(mix):
    with pytest.raises(ConfigError, match="colouring_mix must be 3 shares"):
        TrainConfig(colouring_mix=mix)


def test_class_mix_changes_the_training_defects_only_and_keeps_validation_as_every_test_set():
    from fabric_inspect.training.data import SyntheticSource
    from fabric_inspect.training.loss import IGNORE

    plain = TrainConfig(crop=64, batch_size=24, val_images=4, val_size=64, defect_rate=1.0)
    knots = plain.with_overrides(class_mix=(0.0,) * 6 + (1.0, 0.0, 0.0))
    masks = SyntheticSource(knots).train_arrays(0)[1]
    knot = class_index("knot")
    # every defect drawn is a knot (two-defect images too); the plain mix draws other classes
    assert all(set(np.unique(m).tolist()) <= {0, knot, IGNORE} for m in masks)
    assert sum(knot in m for m in masks) >= 12
    plain_masks = SyntheticSource(plain).train_arrays(0)[1]
    assert any(set(np.unique(m).tolist()) - {0, knot, IGNORE} for m in plain_masks)
    va, vb = SyntheticSource(plain).val_images(), SyntheticSource(knots).val_images()
    assert all(np.array_equal(x.mask, y.mask) for x, y in zip(va, vb, strict=True))


def test_the_hardclasses_preset_doubles_the_classes_version_5_finds_least():
    mix = dict(zip(DEFECT_CLASSES, preset("hardclasses").class_mix, strict=True))
    assert preset("hardclasses") == preset("anywhere").with_overrides(class_mix=tuple(mix.values()))
    doubled = {c for c, share in mix.items() if share > 0.1}
    assert doubled == {"broken_end", "broken_pick", "slub", "knot", "float"}
    assert sum(mix.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("mix", [(0.5,) * 9, (0.5, 0.5), (-0.1, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.2)])
def test_a_class_mix_that_is_not_a_share_per_class_summing_to_one_is_refused(mix):
    with pytest.raises(ConfigError, match="class_mix must be 9 shares"):
        TrainConfig(class_mix=mix)
