"""`shocker inspect`: an image as JSON (reference, digests, config, layers, size)."""

from __future__ import annotations

import json
from typing import Any

from tests.support.assertions import assert_one_line_error
from tests.support.catalog import ImageSet
from tests.support.shocker import Shocker


def _document(text: str) -> dict[str, Any]:
    data = json.loads(text)
    if isinstance(data, list):
        assert len(data) == 1
        data = data[0]
    assert isinstance(data, dict)
    return data


def _values(data: Any) -> list[Any]:
    """Every value nested anywhere in a JSON document (field names are not pinned here)."""
    if isinstance(data, dict):
        return [v for value in data.values() for v in [value, *_values(value)]]
    if isinstance(data, list):
        return [v for value in data for v in [value, *_values(value)]]
    return []


def test_inspect_shows_reference_digests_config_and_layers(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()

    data = _document(fresh_shocker("inspect", image_id).check().out)

    values = _values(data)
    assert image_id in values
    assert "busybox:latest" in values or "docker.io/library/busybox:latest" in values
    assert any(isinstance(v, str) and images.busybox.digest in v for v in values)
    assert any(isinstance(v, str) and images.busybox.layer_digests[0] in v for v in values)
    assert ["sh"] in values
    assert any(isinstance(v, int) and v > 1_000_000 for v in values), "no size in bytes"


def test_inspect_by_name_and_by_id_agree(fresh_shocker: Shocker, images: ImageSet) -> None:
    image_id = fresh_shocker("pull", images.layered.ref).check().created_id()

    by_id = _document(fresh_shocker("inspect", image_id).check().out)
    by_name = _document(fresh_shocker("inspect", images.layered.ref).check().out)

    assert by_id == by_name


def test_inspect_lists_every_layer_of_the_image(fresh_shocker: Shocker, images: ImageSet) -> None:
    image_id = fresh_shocker("pull", images.layered.ref).check().created_id()

    text = fresh_shocker("inspect", image_id).check().out

    for digest in images.layered.layer_digests:
        assert digest in text


def test_inspect_of_an_unknown_name_is_one_line(fresh_shocker: Shocker) -> None:
    result = fresh_shocker("inspect", "nothing:here")

    assert_one_line_error(result, "nothing:here")
