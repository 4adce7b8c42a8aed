"""MixOperator: interleaves whole bundles of several inputs toward target row ratios.

How it picks (Ray Data's rule): it counts the rows it has emitted from each input; the next bundle
comes from the input furthest below its share of the total, ``share_i * emitted - rows_i`` (ties:
the larger weight, then the earlier input). If that input has nothing queued yet it waits for it
rather than taking another input's bundle, so the order depends only on the inputs' blocks and
never on arrival timing. No task is run: bundles are forwarded by reference, so it streams and
works on every runtime.

Exhausted inputs (finished upstream, nothing queued): under ``STOP_ON_LONGEST_DROP`` they drop
out of the choice; under ``STOP_ON_SHORTEST`` the mix stops as soon as any input is exhausted,
frees what it had queued and needs no more input, so the executor stops the upstream operators.
To stop at a point that does not depend on timing, it emits under ``STOP_ON_SHORTEST`` only once
every input either has a bundle queued or is known to be finished (Ray Data may emit a few more
bundles when it learns late that an input finished; this is the earliest stop Ray can make).
"""

from __future__ import annotations

from typing import Optional

from streamscope.engine.logical.operators.mix import MixStoppingCondition
from streamscope.engine.physical.operators.base import PhysicalOperator, RefBundle, TaskInfo


class MixOperator(PhysicalOperator[TaskInfo]):
    kind = "MixOperator"

    def __init__(self, inputs: list[PhysicalOperator], weights: list[float],
                 stopping_condition: MixStoppingCondition, logical_name: str = "Mix"):
        super().__init__("Mix", inputs, (logical_name,))
        total = sum(weights)
        self.shares = [w / total for w in weights]
        self.stopping_condition = stopping_condition
        self.rows_emitted = [0] * len(inputs)
        self._emitted = 0
        self._stopped = False

    # ---- data flow ---------------------------------------------------------------------------
    def add_input(self, bundle: RefBundle, index: int = 0) -> None:
        self.metrics.rows_in += bundle.num_rows
        self.metrics.bytes_in += bundle.size_bytes
        self.input_queues[index].append(bundle)
        self._advance()

    def mark_input_done(self, index: int = 0) -> None:
        super().mark_input_done(index)
        self._advance()

    def progress_tick(self) -> None:
        self._advance()

    def needs_more_input(self) -> bool:
        return not self._stopped and super().needs_more_input()

    def is_finished(self) -> bool:
        return self._stopped or super().is_finished()

    def estimated_output_rows(self) -> Optional[int]:
        if self.stopping_condition is not MixStoppingCondition.STOP_ON_LONGEST_DROP:
            return None
        rows = [op.estimated_output_rows() for op in self.inputs]
        return None if any(r is None for r in rows) else sum(rows)  # type: ignore[misc]

    # ---- choosing ------------------------------------------------------------------------------
    def _exhausted(self, i: int) -> bool:
        return self.inputs_done[i] and not self.input_queues[i]

    def _most_behind(self) -> Optional[int]:
        """The input furthest below its share (None when every input is exhausted)."""
        total = sum(self.rows_emitted)
        best: Optional[int] = None
        best_key = (float("-inf"), float("-inf"))
        for i, share in enumerate(self.shares):
            if self._exhausted(i):
                continue
            key = (share * total - self.rows_emitted[i], share)
            if key > best_key:  # strictly greater: on a full tie the earlier input stays
                best, best_key = i, key
        return best

    def _advance(self) -> None:
        shortest = self.stopping_condition is MixStoppingCondition.STOP_ON_SHORTEST
        while not self._stopped and not self.completed_early:
            if shortest:
                if any(not q and not done for q, done in zip(self.input_queues, self.inputs_done)):
                    return  # an input may yet be exhausted: wait until it delivers or finishes
                if any(self._exhausted(i) for i in range(len(self.shares))):
                    self._stop()
                    return
            i = self._most_behind()
            if i is None or not self.input_queues[i]:
                return  # all exhausted, or wait for the input whose turn it is
            bundle = self.input_queues[i].popleft()
            self.rows_emitted[i] += bundle.num_rows
            self.emit(RefBundle(bundle.blocks, bundle.owned, seq=(self._emitted,)))
            self._emitted += 1

    def _stop(self) -> None:
        """STOP_ON_SHORTEST reached: free what is queued; the executor stops the inputs."""
        self._stopped = True
        dropped = self.clear_inputs()
        if self.services is not None:
            self.services.free([r for b in dropped if b.owned for r in b.refs])
