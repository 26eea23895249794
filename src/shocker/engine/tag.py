"""Names users give images (`tag`, `commit`, `build -t`, `load`): checked and made explicit."""

from __future__ import annotations

from shocker.errors import UsageError


def image_name(text: str) -> str:
    """`NAME[:TAG]` in the form images are listed under: the tag made explicit (`:latest`),
    Docker Hub's host and `library/` left out, any other registry host kept as typed.

    UsageError for a malformed name or one with a digest (a digest is not a name one gives).
    """
    from shocker.oci.reference import parse_reference

    ref = parse_reference(text)
    if ref.digest is not None:
        raise UsageError(f"refusing to create a tag with a digest reference: '{text}'")
    return ref.familiar()
