"""history: config history entries paired with layers, newest first."""

from __future__ import annotations

from typing import Any

from shocker.engine.history import history
from shocker.store.images import ImageRecord


def image(history_entries: list[dict[str, Any]] | None, sizes: list[int]) -> ImageRecord:
    config: dict[str, Any] = {} if history_entries is None else {"history": history_entries}
    layers = [{"digest": f"sha256:{i:064x}", "size": size} for i, size in enumerate(sizes)]
    return ImageRecord(
        id="img-a0000",
        repository_digest=None,
        config=config,
        layers=layers,
        created="2024-01-01T00:00:00Z",
        source="init",
    )


def test_empty_layer_steps_take_no_layer() -> None:
    steps = history(
        image(
            [
                {"created": "2024-01-01T00:00:00Z", "created_by": "ADD rootfs"},
                {"created": "2024-01-02T00:00:00Z", "created_by": "ENV A=1", "empty_layer": True},
                {"created": "2024-01-03T00:00:00Z", "created_by": "RUN x", "comment": "c"},
            ],
            [100, 7],
        )
    )

    assert [(s.created_by, s.size, s.comment) for s in steps] == [
        ("RUN x", 7, "c"),
        ("ENV A=1", 0, ""),
        ("ADD rootfs", 100, ""),
    ]
    assert steps[0].layer == f"sha256:{1:064x}" and steps[1].layer is None


def test_layers_beyond_the_history_still_get_a_row() -> None:
    steps = history(image([{"created_by": "first"}], [1, 2, 3]))

    assert [(s.created_by, s.size) for s in steps] == [("", 3), ("", 2), ("first", 1)]


def test_an_image_with_nothing_recorded_is_one_step() -> None:
    steps = history(image(None, []))

    assert len(steps) == 1 and steps[0].created_by == "shocker init"
