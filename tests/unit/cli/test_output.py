"""Plain output that scripts parse."""

from __future__ import annotations

import pytest

from shocker.cli.output import duration, human_size, print_table


def test_table_columns_align_and_last_column_is_not_padded(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_table(["IMAGE_ID", "SOURCE"], [["img-aa090", "busybox:latest"], ["img-1", "x"]])
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["IMAGE_ID   SOURCE", "img-aa090  busybox:latest", "img-1      x"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.2, "Less than a second"),
        (1, "1 second"),
        (3, "3 seconds"),
        (120, "2 minutes"),
        (3600, "About an hour"),
        (7300, "2 hours"),
        (3 * 86400, "3 days"),
    ],
)
def test_durations_read_like_docker(seconds: float, text: str) -> None:
    assert duration("2026-01-01T00:00:00+00:00", now=1767225600 + seconds) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0B"),
        (212, "212B"),
        (16_430_000, "16.43MB"),
        (1_845_000, "1.845MB"),
        (999_999, "1000kB"),
    ],
)
def test_sizes_as_docker_prints_them(size: int, text: str) -> None:
    assert human_size(size, precision=4) == text
