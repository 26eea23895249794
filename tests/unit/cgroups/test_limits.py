"""Memory and CPU flag parsing, and the cpu.shares -> cpu.weight conversion."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shocker.cgroups.limits import (
    MIN_MEMORY,
    check_memory_floor,
    parse_cpus,
    parse_memory,
    quota_us,
    shares_to_weight,
)
from shocker.errors import UsageError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512m", 512 * 2**20),
        ("512M", 512 * 2**20),
        ("512mb", 512 * 2**20),
        ("1g", 2**30),
        ("1.5g", 3 * 2**29),
        ("1048576", 2**20),
        ("1048576b", 2**20),
        ("100k", 102400),
        (" 64m ", 64 * 2**20),
        ("2t", 2 * 2**40),
    ],
)
def test_memory_sizes_use_dockers_binary_units(text: str, expected: int) -> None:
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["", "m", "-1m", "12x", "1gg", "5bb", "1 g b", "0", "0k", "ten"])
def test_a_malformed_or_empty_memory_size_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="invalid memory limit"):
        parse_memory(text)


def test_a_limit_below_dockers_6mb_floor_is_a_usage_error() -> None:
    assert check_memory_floor(MIN_MEMORY, "-m", "") == 6 * 2**20
    with pytest.raises(UsageError, match="below the minimum memory limit allowed, 6MB"):
        check_memory_floor(parse_memory("64"), "--memory '64'", "")


@pytest.mark.parametrize(("text", "expected"), [("1.5", 1.5), ("2", 2.0), ("0.01", 0.01)])
def test_cpus_are_a_positive_number_of_cores(text: str, expected: float) -> None:
    assert parse_cpus(text) == expected


@pytest.mark.parametrize("text", ["0", "-1", "abc", "", "nan", "inf", "1,5"])
def test_zero_negative_or_non_numeric_cpus_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="--cpus"):
        parse_cpus(text)


def test_one_and_a_half_cores_is_150ms_of_quota_per_100ms_period() -> None:
    assert quota_us(1.5) == 150_000


def test_a_tiny_cpu_quota_is_raised_to_the_kernels_1ms_minimum() -> None:
    assert quota_us(0.001) == 1000


@pytest.mark.parametrize(
    ("shares", "weight"),
    [(0, 0), (1, 1), (2, 1), (1024, 100), (262144, 10000), (10**6, 10000), (3, 2)],
)
def test_shares_map_to_weights_as_current_runc_maps_them(shares: int, weight: int) -> None:
    assert shares_to_weight(shares) == weight


def test_the_default_shares_no_longer_map_to_the_old_linear_39() -> None:
    linear = 1 + ((1024 - 2) * 9999) // 262142
    assert linear == 39
    assert shares_to_weight(1024) != linear


@given(st.integers(2, 262144), st.integers(2, 262144))
def test_more_shares_never_mean_less_weight(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert 1 <= shares_to_weight(low) <= shares_to_weight(high) <= 10000


@given(st.integers(3, 262143))
def test_the_weight_follows_the_quadratic_in_log2_space(shares: int) -> None:
    log = math.log2(shares)
    assert shares_to_weight(shares) == math.ceil(10 ** ((log * log + 125 * log) / 612 - 7 / 34))
