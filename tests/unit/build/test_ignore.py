"""`.dockerignore` matching with Docker's rules."""

from __future__ import annotations

import pytest

from shocker.engine.build.ignore import Ignore

RULES = """
# a comment
*.log
/build
**/secret*
docs/*.md
!docs/README.md
node_modules
!node_modules/keep
"""


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        ("debug.log", True),
        ("sub/debug.log", False),  # `*` matches within one element, anchored at the root
        ("build", True),
        ("build/out.o", True),  # below an excluded directory
        ("src/build", False),
        ("secret.key", True),  # `**/` also matches no directory at all
        ("a/b/c/secret.txt", True),
        ("docs/guide.md", True),
        ("docs/README.md", False),  # an exception, the last match deciding
        ("docs/sub/guide.md", False),
        ("node_modules/x/index.js", True),
        ("node_modules/keep", False),
        ("app.py", False),
    ],
)
def test_patterns_follow_dockers_rules(path: str, excluded: bool) -> None:
    assert Ignore.from_text(RULES).excludes(path) is excluded


def test_an_excluded_directory_with_a_reincluded_child_is_walked() -> None:
    rules = Ignore.from_text(RULES)
    assert rules.may_hold_kept("node_modules")
    assert not rules.may_hold_kept("build")


def test_no_patterns_exclude_nothing() -> None:
    assert not Ignore.from_text("\n# only a comment\n").excludes("anything")
