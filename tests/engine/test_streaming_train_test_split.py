"""streaming_train_test_split as Ray Data 2.60: nothing materialized, each row on exactly one side
in every execution. The hash split's expected sides come from Ray's formula in plain Python."""

from __future__ import annotations

import hashlib

import pytest

import streamscope


def _ids(ds) -> list[int]:
    return sorted(row["id"] for row in ds.take_all())


def _ray_hash_side(key, test_size: float) -> bool:
    """Ray Data's rule: train when blake2b-64 of str(key) < (1 - test_size) * 2**64."""
    digest = int.from_bytes(hashlib.blake2b(str(key).encode(), digest_size=8).digest(), "big")
    return digest < (1 - test_size) * (1 << 64)


def test_a_hash_split_follows_rays_formula():
    train, test = streamscope.range(200, override_num_blocks=5).streaming_train_test_split(
        0.25, split_type="hash", hash_column="id")
    assert _ids(train) == [i for i in range(200) if _ray_hash_side(i, 0.25)]
    assert _ids(test) == [i for i in range(200) if not _ray_hash_side(i, 0.25)]


def test_a_random_split_is_complementary_and_does_not_depend_on_blocks():
    sides = {}
    for blocks in (1, 3, 7):
        train, test = streamscope.range(1000, override_num_blocks=blocks).streaming_train_test_split(0.3, seed=11)
        a, b = _ids(train), _ids(test)
        assert sorted(a + b) == list(range(1000)) and not set(a) & set(b)
        sides[blocks] = b
    assert sides[1] == sides[3] == sides[7]
    assert 230 <= len(sides[1]) <= 370  # about 30 % (fixed by the seed, so never flaky)
    _, other = streamscope.range(1000).streaming_train_test_split(0.3, seed=12)
    assert _ids(other) != sides[1]  # another seed, another draw


def test_nothing_runs_until_a_side_is_consumed():
    train, test = streamscope.range(10).streaming_train_test_split(0.5, seed=0)
    assert train._last_run is None and test._last_run is None


@pytest.mark.parametrize("kwargs, message", [
    ({"test_size": 1.0}, "test_size must be between 0 and 1"),
    ({"test_size": 0.2, "split_type": "hash", "seed": 1, "hash_column": "id"}, "seed is not supported for hash split"),
    ({"test_size": 0.2, "hash_column": "id"}, "hash_column is not supported for random split"),
    ({"test_size": 0.2, "split_type": "hash"}, "hash_column is required for hash split"),
    ({"test_size": 0.2, "split_type": "modulo"}, "Invalid split type: modulo"),
])
def test_refusals_as_ray_data(kwargs, message):
    with pytest.raises(ValueError, match=message):
        streamscope.range(10).streaming_train_test_split(**kwargs)
