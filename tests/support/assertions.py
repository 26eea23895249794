"""Reading the CLI's output the way users and scripts do, and the error-line contract."""

from __future__ import annotations

import re

from tests.support.shocker import Result

IMAGE_ID = re.compile(r"^img-[0-9a-f]{5}$")
PULLING = re.compile(r"^Pulling layer ([0-9a-f]{12})")


def assert_one_line_error(result: Result, *fragments: str) -> None:
    """Failed, with exactly one line on stderr holding every fragment, and no traceback."""
    assert result.rc != 0, str(result)
    assert "Traceback" not in result.err, str(result)
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, str(result)
    for fragment in fragments:
        assert fragment in lines[0], str(result)


def pulled_layers(result: Result) -> list[str]:
    """The 12-hex layer ids of the `Pulling layer` lines, in order."""
    return [m.group(1) for line in result.lines if (m := PULLING.match(line.strip()))]


def image_rows(result: Result) -> dict[str, list[str]]:
    """`shocker images` table -> {image id: the other columns}; checks the header."""
    lines = [line for line in result.lines if line.strip()]
    assert lines, str(result)
    header = lines[0].split()
    assert header[:2] == ["IMAGE_ID", "SOURCE"], str(result)
    rows = {}
    for line in lines[1:]:
        columns = line.split()
        assert IMAGE_ID.match(columns[0]), str(result)
        rows[columns[0]] = columns[1:]
    return rows


def up_to_date_id(result: Result) -> str:
    """The image id a re-pull names when the digest is already held (no `Created:` line)."""
    assert not any(line.startswith("Created:") for line in result.lines), str(result)
    ids = re.findall(r"img-[0-9a-f]{5}", result.out)
    assert len(ids) == 1, str(result)
    assert "up to date" in result.out.lower(), str(result)
    return str(ids[0])
