from __future__ import annotations

import hashlib

import pytest

from shocker.errors import DigestMismatch, RegistryError, UsageError
from shocker.oci.chain import chain_ids
from shocker.oci.digest import DigestVerifier, sha256_digest, validate_digest

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
C = "sha256:" + "c" * 64


def test_chain_ids_follow_the_image_spec_by_hand() -> None:
    second = "sha256:" + hashlib.sha256(f"{A} {B}".encode()).hexdigest()
    third = "sha256:" + hashlib.sha256(f"{second} {C}".encode()).hexdigest()
    assert chain_ids([A, B, C]) == [A, second, third]


def test_chain_ids_match_a_known_value() -> None:
    # sha256 of "sha256:aaa…a sha256:bbb…b", computed once with sha256sum.
    assert chain_ids([A, B])[1] == (
        "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c"
    )


def test_chain_ids_of_nothing_are_nothing() -> None:
    assert chain_ids([]) == []


@pytest.mark.parametrize("good", [A, "sha512:" + "0" * 128])
def test_valid_digests_pass(good: str) -> None:
    assert validate_digest(good) == good


@pytest.mark.parametrize(
    "bad", ["", "sha256:abc", "sha256:" + "A" * 64, "md5:" + "a" * 32, "sha256" + "a" * 64]
)
def test_invalid_digests_raise_the_requested_error(bad: str) -> None:
    with pytest.raises(RegistryError):
        validate_digest(bad)
    with pytest.raises(UsageError):
        validate_digest(bad, UsageError)


def test_the_verifier_accepts_matching_streams() -> None:
    verifier = DigestVerifier.for_digest(sha256_digest(b"hello world"))
    verifier.update(b"hello ")
    verifier.update(b"world")
    verifier.verify(sha256_digest(b"hello world"), 11)


def test_the_verifier_rejects_another_size_or_content() -> None:
    verifier = DigestVerifier()
    verifier.update(b"hello")
    with pytest.raises(DigestMismatch, match="5 bytes, expected 6"):
        verifier.verify(sha256_digest(b"hello"), 6)
    with pytest.raises(DigestMismatch, match="does not match"):
        verifier.verify(sha256_digest(b"hellO"), 5)


def test_a_reset_verifier_starts_over() -> None:
    verifier = DigestVerifier()
    verifier.update(b"junk")
    verifier.reset()
    verifier.update(b"ok")
    verifier.verify(sha256_digest(b"ok"), 2)


def test_sha512_digests_are_verified_with_sha512() -> None:
    data = b"x" * 10
    digest = "sha512:" + hashlib.sha512(data).hexdigest()
    verifier = DigestVerifier.for_digest(digest)
    verifier.update(data)
    verifier.verify(digest, 10)
