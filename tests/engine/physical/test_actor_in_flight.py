"""max_tasks_in_flight_per_actor: how many batches wait on one actor (observed in telemetry)."""

import time

import pytest

import streamscope


class SlowIdentity:
    def __call__(self, batch):
        time.sleep(0.15)
        return batch


def _max_active(ds) -> int:
    return max(o.active_tasks for snap in ds._last_run.buffer.history() for o in snap.operators
               if o.name.startswith("MapBatches(SlowIdentity)"))


@pytest.mark.parametrize("in_flight", [1, 3])
def test_batches_queued_per_actor_follow_the_setting(runtime, in_flight):
    ds = streamscope.range(1200, override_num_blocks=12).map_batches(
        SlowIdentity, batch_size=100,
        compute=streamscope.ActorPoolStrategy(size=1, max_tasks_in_flight_per_actor=in_flight))
    assert sorted(r["id"] for r in ds.take_all()) == list(range(1200))
    assert _max_active(ds) == in_flight
