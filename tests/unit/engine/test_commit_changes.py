"""`commit --change`: Dockerfile-style instructions over an image config."""

from __future__ import annotations

import pytest

from shocker.engine.commit import apply_changes
from shocker.errors import UsageError


def test_changes_apply_to_a_copy_of_the_config() -> None:
    base = {"config": {"Env": ["PATH=/bin", "A=1"], "Cmd": ["sh"]}}
    new = apply_changes(
        base,
        [
            'CMD ["echo", "hi"]',
            "ENV A=2",
            "WORKDIR /app",
            "USER nobody",
            "EXPOSE 80",
            "ENTRYPOINT top -b",
        ],
    )
    assert new["config"] == {
        "Env": ["PATH=/bin", "A=2"],
        "Cmd": ["echo", "hi"],
        "WorkingDir": "/app",
        "User": "nobody",
        "ExposedPorts": {"80/tcp": {}},
        "Entrypoint": ["/bin/sh", "-c", "top -b"],
    }
    assert base["config"]["Cmd"] == ["sh"]


@pytest.mark.parametrize("change", ["RUN echo", 'CMD ["unclosed"', "CMD [1, 2]"])
def test_unsupported_or_malformed_changes_are_rejected(change: str) -> None:
    with pytest.raises(UsageError):
        apply_changes({}, [change])
