"""Content digests ("sha256:<hex>"): validation, one-shot hashing, streaming verification."""

from __future__ import annotations

import re

from shocker.errors import DigestMismatch, RegistryError, ShockerError

# OCI image spec, descriptor.md "Registered algorithms": lowercase hex of a fixed length.
_ALGORITHMS = {"sha256": 64, "sha512": 128}
# Compiled on first use, not at import (see shocker.store.containers).
_DIGEST = r"(sha256|sha512):([0-9a-f]+)"


def is_digest(text: str) -> bool:
    match = re.fullmatch(_DIGEST, text)
    return match is not None and len(match.group(2)) == _ALGORITHMS[match.group(1)]


def validate_digest(text: str, error: type[ShockerError] = RegistryError) -> str:
    """Return `text` if it is a digest shocker can verify, else raise `error`."""
    if not isinstance(text, str) or not is_digest(text):
        raise error(f"invalid digest {text!r}: expected sha256:<64 hex> or sha512:<128 hex>")
    return text


def sha256_digest(data: bytes) -> str:
    import hashlib  # ~2 ms: only where bytes are hashed, not on every start

    return "sha256:" + hashlib.sha256(data).hexdigest()


def compute_digest(data: bytes, algorithm: str = "sha256") -> str:
    import hashlib

    return f"{algorithm}:" + hashlib.new(algorithm, data).hexdigest()


class DigestVerifier:
    """Hash bytes as they stream past; `verify` checks the total size and the digest."""

    def __init__(self, algorithm: str = "sha256") -> None:
        if algorithm not in _ALGORITHMS:
            raise RegistryError(f"unsupported digest algorithm {algorithm!r}")
        self.algorithm = algorithm
        import hashlib

        self._hash = hashlib.new(algorithm)
        self.size = 0

    def reset(self) -> None:
        """Forget every byte seen (a download starts over)."""
        import hashlib

        self._hash = hashlib.new(self.algorithm)
        self.size = 0

    @classmethod
    def for_digest(cls, digest: str) -> DigestVerifier:
        return cls(validate_digest(digest).partition(":")[0])

    def update(self, data: bytes) -> None:
        self._hash.update(data)
        self.size += len(data)

    def digest(self) -> str:
        return f"{self.algorithm}:{self._hash.hexdigest()}"

    def verify(self, expected_digest: str, expected_size: int | None = None) -> None:
        """Raise DigestMismatch unless the bytes seen have that size and digest."""
        if expected_size is not None and self.size != expected_size:
            raise DigestMismatch(
                f"{expected_digest[:19]}: received {self.size} bytes, expected {expected_size}"
            )
        actual = self.digest()
        if actual != expected_digest:
            raise DigestMismatch(
                f"content does not match {expected_digest[:19]}: got {actual[:19]}"
            )
