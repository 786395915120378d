"""The ONNX metadata contract: what the exporter writes is what the runtime reads back."""

from __future__ import annotations

import pytest

from fabric_inspect.errors import ModelError
from fabric_inspect.models.metadata import ModelInfo


def _info(**overrides) -> ModelInfo:
    fields = dict(
        name="fabric-fcn",
        version="1.0",
        classes=("hole", "stain"),
        input_layout="HWC",
        color_order="BGR",
        stride=8,
        threshold=0.42,
        training={"images": 10},
        metrics={"image_auroc": 0.99},
    )
    fields.update(overrides)
    return ModelInfo(**fields)


def test_props_round_trip():
    info = _info()
    assert ModelInfo.from_props(info.to_props()) == info


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"input_layout": "CHW"}, "input_layout"),
        ({"color_order": "RGB"}, "color_order"),
        ({"input_layout": "HW"}, "does not fit"),
        ({"classes": ()}, "no classes"),
        ({"stride": 0}, "stride"),
        ({"threshold": 1.5}, "threshold"),
        ({"roll_threshold": 0.0}, "roll_threshold"),
    ],
)
def test_invalid_metadata_is_rejected_with_the_field_named(overrides, message):
    with pytest.raises(ModelError, match=message):
        _info(**overrides)


def test_foreign_onnx_file_is_named_as_not_ours():
    with pytest.raises(ModelError, match="not a fabric-inspect model"):
        ModelInfo.from_props({}, source="yolo.onnx")


def test_missing_key_is_named():
    props = _info().to_props()
    del props["stride"]
    with pytest.raises(ModelError, match="'stride' is missing"):
        ModelInfo.from_props(props)


def test_roll_threshold_round_trips_and_is_absent_from_models_without_one():
    info = _info(roll_threshold=0.31)
    assert ModelInfo.from_props(info.to_props()) == info
    assert "roll_threshold" not in _info().to_props()
    assert ModelInfo.from_props(_info().to_props()).roll_threshold is None


def test_video_uses_the_roll_threshold_and_still_images_the_image_threshold():
    info = _info(threshold=0.9, roll_threshold=0.4)
    assert info.operating_threshold(video=True) == 0.4
    assert info.operating_threshold(video=False) == 0.9
    assert _info(threshold=0.9).operating_threshold(video=True) == 0.9
