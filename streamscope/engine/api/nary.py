"""Dataset methods that combine several datasets into one stream: ``union`` (one after another)
and ``mix`` (interleaved toward target row ratios). Both stream: nothing is materialized, blocks
are forwarded by reference (``UnionOperator``, ``MixOperator``). ``zip`` pairs rows by position
and is an exchange (``all_to_all.py``).

This module imports nothing of the Dataset (``dataset.py`` mixes :class:`NAryMixin` in).
"""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine.logical import operators as L
from streamscope.engine.logical.operators.mix import MixStoppingCondition


class NAryMixin:
    """``union`` and ``mix`` of :class:`~streamscope.Dataset`."""

    _plan: Any

    def _derive(self, op: L.LogicalOperator) -> Any:  # pragma: no cover - Dataset defines it
        raise NotImplementedError

    def _others(self, method: str, other: tuple) -> list:
        for o in other:
            if not isinstance(o, NAryMixin):
                raise TypeError(f"{method}() expects Datasets, got {type(o).__name__}")
        return [self._plan.dag] + [o._plan.dag for o in other]

    def union(self, *other: Any) -> Any:
        """The rows of this dataset and of ``other`` datasets, one after another.

        Examples:
            >>> streamscope.range(2).union(streamscope.range(3)).count()
            5
        """
        return self._derive(L.Union(self._others("union", other)))

    def mix(self, *other: Any, weights: Optional[list[float]] = None,
            stopping_condition: MixStoppingCondition = MixStoppingCondition.STOP_ON_LONGEST_DROP) -> Any:
        """Interleave this dataset with ``other`` datasets toward target row ratios (Ray Data's
        ``mix``), streaming: each output block is one whole block of one input.

        ``weights`` (one per dataset, this one first; default equal) are normalized, so they need
        not sum to 1. The next block always comes from the input furthest below its share of the
        rows emitted so far (ties: the larger weight, then the earlier dataset), and the mix waits
        for that input rather than taking another's block: the order depends only on the inputs'
        blocks, not on timing, and there is no randomness (and no seed). Each input's row count
        stays within one of its blocks of ``share * total``. ``stopping_condition``
        (:class:`~streamscope.MixStoppingCondition`) says when it ends: ``STOP_ON_LONGEST_DROP``
        (default) keeps going until every input is exhausted, inputs that run out dropping out;
        ``STOP_ON_SHORTEST`` stops as soon as one input is exhausted. The datasets should share a
        schema; the mix's schema is theirs unified (types promoted), blocks are not cast.

        Raises ValueError when the number of weights differs from the number of datasets, a weight
        is not positive, or ``stopping_condition`` is not a ``MixStoppingCondition``.

        Examples:
            >>> a = streamscope.from_items([{"x": 1}, {"x": 2}, {"x": 3}, {"x": 4}], override_num_blocks=2)
            >>> b = streamscope.from_items([{"x": 5}, {"x": 6}, {"x": 7}, {"x": 8}], override_num_blocks=2)
            >>> [row["x"] for row in a.mix(b, weights=[0.5, 0.5]).take_all()]
            [1, 2, 5, 6, 3, 4, 7, 8]
            >>> stop = streamscope.MixStoppingCondition.STOP_ON_SHORTEST
            >>> [row["x"] for row in a.mix(b, weights=[3, 1], stopping_condition=stop).take_all()]
            [1, 2, 5, 6, 3, 4]
        """
        inputs = self._others("mix", other)
        return self._derive(L.Mix(inputs, weights, stopping_condition))
