"""Planning-time resource checks: impossible actor CPU reservations are an error, not a hang."""

import pytest

import streamscope
from streamscope.engine.execution.resource_check import ResourceRequestError, check_actor_cpu_reservations
from streamscope.engine.logical.optimizer import optimize
from streamscope.engine.physical.planner import plan_physical
from streamscope.engine.runtime.base import Resources


class Model:
    def __call__(self, batch):
        return batch


class _Runtime:
    def __init__(self, cpus, reserve):
        self._cpus = cpus
        self.actors_reserve_cpus = reserve

    def total_resources(self):
        return Resources(cpu=self._cpus)


def _physical(num_cpus, size):
    ds = streamscope.range(100).map_batches(lambda b: b).map_batches(
        Model, compute=streamscope.ActorPoolStrategy(size=size), num_cpus=num_cpus)
    return plan_physical(optimize(ds._plan).plan)


def test_actor_pool_taking_every_cpu_of_a_reserving_runtime_is_rejected():
    with pytest.raises(ResourceRequestError) as info:
        check_actor_cpu_reservations(_physical(num_cpus=1, size=2), _Runtime(2, reserve=True))
    message = str(info.value)
    assert "MapBatches(Model)" in message and "fractional num_cpus" in message


def test_fractional_actors_leave_room_and_pass():
    check_actor_cpu_reservations(_physical(num_cpus=0.5, size=2), _Runtime(2, reserve=True))


def test_runtimes_that_keep_an_upstream_slot_are_not_checked():
    check_actor_cpu_reservations(_physical(num_cpus=1, size=2), _Runtime(2, reserve=False))
