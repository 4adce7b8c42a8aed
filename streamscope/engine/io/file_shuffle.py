"""File-order shuffling of reads: ``shuffle="files"`` and ``FileShuffleConfig`` (Ray Data 2.60).

Why per execution: a training loop reads the same dataset once per epoch, and Ray Data shuffles
the file order each time the read is planned. With ``FileShuffleConfig(seed=s)`` the order is
reproducible: the n-th execution of a read uses an order that depends only on ``s`` and n
(``reseed_after_execution=True``, the default, so each epoch differs), or on ``s`` alone
(``reseed_after_execution=False``, the same order every time). ``"files"`` and ``seed=None``
draw a fresh order each time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

__all__ = ["FileShuffleConfig"]


@dataclass
class FileShuffleConfig:
    """Shuffle the files of a read (``read_parquet(..., shuffle=FileShuffleConfig(seed=42))``).
    ``seed=None`` shuffles differently every time; with a seed, each execution's order is
    reproducible, and differs per execution unless ``reseed_after_execution=False``.

    Examples:
        >>> streamscope.FileShuffleConfig(seed=42, reseed_after_execution=False).get_seed(3)
        42
    """

    seed: Optional[int] = None
    reseed_after_execution: bool = True

    def __post_init__(self) -> None:
        if self.seed is not None and (not isinstance(self.seed, int) or isinstance(self.seed, bool)):
            raise ValueError(f"FileShuffleConfig: seed must be an int or None, got {self.seed!r}")

    def get_seed(self, execution_idx: int = 0) -> Optional[int]:
        """The seed of the ``execution_idx``-th execution (None: not reproducible).

        Examples:
            >>> config = streamscope.FileShuffleConfig(seed=7)
            >>> config.get_seed(0) == config.get_seed(0), config.get_seed(0) != config.get_seed(1)
            (True, True)
        """
        if self.seed is None:
            return None
        if not self.reseed_after_execution:
            return self.seed
        # a stable mix of (seed, execution): SeedSequence is the same on every platform and run
        return int(np.random.SeedSequence([self.seed, int(execution_idx)]).generate_state(1)[0])


def check_shuffle(shuffle: Any, reader: str) -> None:
    """Refuse anything but None, ``"files"`` and a :class:`FileShuffleConfig`, naming the reader."""
    if shuffle is None or shuffle == "files" or isinstance(shuffle, FileShuffleConfig):
        return
    raise ValueError(f"{reader}: shuffle={shuffle!r} is not supported; pass None, 'files' or "
                     "streamscope.FileShuffleConfig(seed=...)")


def shuffled_order(n: int, shuffle: Any, execution_idx: int) -> list[int]:
    """The positions ``0..n-1`` in the order this execution reads them."""
    if shuffle is None or n <= 1:
        return list(range(n))
    seed = None if shuffle == "files" else shuffle.get_seed(execution_idx)
    return [int(i) for i in np.random.default_rng(seed).permutation(n)]
