"""ResultRouter, RunChannel and FairTaskQueue on their own: results reach the run that submitted
them and no other, cancelled and orphaned results are freed, and free workers go to the run with
the fewest tasks running."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from streamscope.engine.runtime.base import FunctionHandle, TaskHandle, TaskResult, TaskSpec
from streamscope.engine.runtime.fair_queue import FairTaskQueue
from streamscope.engine.runtime.result_router import DEFAULT_RUN, ResultRouter

FN = FunctionHandle("fn-1", "f")


def handle(task_id: int, run_id: str) -> TaskHandle:
    return TaskHandle(task_id, TaskSpec(FN, run_id=run_id))


def result(*refs: str, partial: bool = False) -> TaskResult:
    return TaskResult(outputs=[(ref, None) for ref in refs], partial=partial)


class FakeSource:
    """Stands in for a runtime's ``_collect``: results queued by the test come out in one batch."""

    def __init__(self):
        self.pending: list = []
        self.freed: list = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)

    def add(self, *items):
        with self.lock:
            self.pending.extend(items)
            self.arrived.notify_all()

    def collect(self, timeout):
        with self.lock:
            if not self.pending:
                self.arrived.wait(timeout)
            out, self.pending = self.pending, []
            return out

    def free(self, refs):
        self.freed.extend(refs)


def test_each_run_gets_only_its_own_results():
    src = FakeSource()
    router = ResultRouter(src.collect, src.free)
    router.open("a")
    router.open("b")
    src.add((handle(1, "a"), result("a1")), (handle(2, "b"), result("b2")), (handle(3, "a"), result("a3")))
    got_a = router.wait("a", 1.0)
    assert [h.task_id for h, _ in got_a] == [1, 3]
    got_b = router.wait("b", 1.0)  # dealt while "a" collected
    assert [h.task_id for h, _ in got_b] == [2]
    assert src.freed == []


def test_waiters_in_threads_each_receive_their_results():
    src = FakeSource()
    router = ResultRouter(src.collect, src.free)
    runs = [f"r{i}" for i in range(4)]
    for r in runs:
        router.open(r)
    received: dict[str, list[int]] = {r: [] for r in runs}

    def consume(run_id: str, expect: int) -> None:
        while len(received[run_id]) < expect:
            received[run_id].extend(h.task_id for h, _ in router.wait(run_id, 0.05))

    threads = [threading.Thread(target=consume, args=(r, 25)) for r in runs]
    for t in threads:
        t.start()
    for task_id in range(100):
        src.add((handle(task_id, runs[task_id % 4]), result(f"x{task_id}")))
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    for i, r in enumerate(runs):
        assert received[r] == list(range(i, 100, 4))


def test_closed_run_frees_undelivered_and_late_results():
    src = FakeSource()
    router = ResultRouter(src.collect, src.free)
    router.open("a")
    router.open("b")
    src.add((handle(1, "a"), result("a1")))
    router.wait("b", 0.01)  # "b" collects and deals a1 into a's mailbox
    router.close("a")
    assert src.freed == ["a1"]
    src.add((handle(2, "a"), result("a2", "a2b")))  # arrives after "a" closed: nobody's
    assert router.wait("b", 0.01) == []
    assert src.freed == ["a1", "a2", "a2b"]
    with pytest.raises(KeyError, match="not open"):
        router.wait("a", 0.01)


def test_discarded_tasks_are_freed_whenever_their_results_come():
    src = FakeSource()
    router = ResultRouter(src.collect, src.free)
    router.open("a")
    src.add((handle(1, "a"), result("p1", partial=True)))
    router.wait(DEFAULT_RUN, 0.01)  # dealt to "a", not taken yet
    router.discard("a", [1, 2])
    assert src.freed == ["p1"]
    src.add((handle(2, "a"), result("late")), (handle(3, "a"), result("kept")))
    got = router.wait("a", 1.0)
    assert [h.task_id for h, _ in got] == [3]
    assert src.freed == ["p1", "late"]


def test_opening_a_run_twice_is_an_error():
    router = ResultRouter(lambda t: [], lambda refs: None)
    router.open("a")
    with pytest.raises(ValueError, match="already open"):
        router.open("a")


class FakeRuntime:
    def __init__(self, router):
        self.router = router
        self.ids = iter(range(1, 10_000))
        self.cancelled: list[int] = []

    def submit(self, spec):
        return TaskHandle(next(self.ids), spec)

    def cancel(self, handles):
        self.cancelled.extend(h.task_id for h in handles)


def test_channel_refuses_foreign_handles_and_cancels_what_is_left_at_close():
    from streamscope.engine.runtime.run_channel import RunChannel

    src = FakeSource()
    router = ResultRouter(src.collect, src.free)
    rt = FakeRuntime(router)
    a = RunChannel(rt, router, "a")
    b = RunChannel(rt, router, "b")
    ha = [a.submit(TaskSpec(FN)) for _ in range(3)]
    hb = b.submit(TaskSpec(FN))
    assert {h.spec.run_id for h in ha} == {"a"} and hb.spec.run_id == "b"
    with pytest.raises(ValueError, match="another run"):
        a.cancel([hb])
    src.add((ha[0], result("done0")))
    assert [h.task_id for h, _ in a.wait(1.0)] == [ha[0].task_id]
    assert a.in_flight == 2
    a.close()
    assert sorted(rt.cancelled) == sorted(h.task_id for h in ha[1:])
    assert not router.is_open("a") and router.is_open("b")
    with pytest.raises(RuntimeError, match="closed"):
        a.submit(TaskSpec(FN))


def test_fair_queue_serves_the_run_with_fewest_running_then_longest_waiting():
    q = FairTaskQueue()
    for i in range(4):
        q.push(handle(i, "bg"), 1)
    q.push(handle(10, "fg"), 1)
    q.push(handle(11, "fg"), 1)
    assert len(q) == 6
    first = q.pop_next(Counter({"bg": 2}))
    assert first[0].task_id == 10  # fg has nothing running
    second = q.pop_next(Counter({"bg": 1, "fg": 1}))
    assert second[0].task_id == 0  # tie: bg was served longest ago
    third = q.pop_next(Counter({"bg": 1, "fg": 1}))
    assert third[0].task_id == 11
    assert q.remove(2) is not None and q.remove(2) is None
    q.push(handle(7, "bg"), 2, front=True)  # a retry goes to the front of its run's line
    assert [q.pop_next(Counter())[0].task_id for _ in range(3)] == [7, 1, 3]
    assert not q


def test_fair_queue_skips_runs_waiting_for_devices():
    q = FairTaskQueue()
    q.push(handle(1, "gpu-run"), 1)
    q.push(handle(2, "cpu-run"), 1)
    assert q.pop_next(Counter(), skip={"gpu-run"})[0].task_id == 2
    assert q.pop_next(Counter(), skip={"gpu-run"}) is None
    assert q.pop_next(Counter())[0].task_id == 1


def test_the_store_budget_is_split_between_the_runs_open_on_a_runtime():
    from streamscope.engine.context import DataContext
    from streamscope.engine.execution.resource_manager import ResourceManager
    from streamscope.engine.runtime.inprocess import InProcessRuntime

    rt = InProcessRuntime(num_threads=1)
    ctx = DataContext().copy()
    ctx.execution_options.resource_limits.object_store_memory = 120 << 20
    rm = ResourceManager(rt, ctx)
    assert rm.store_share() == 120 << 20  # no run open: the whole budget
    channels = [rt.open_run(f"r{i}") for i in range(3)]
    assert rm.store_share() == 40 << 20
    channels[0].close()
    assert rm.store_share() == 60 << 20
    for ch in channels[1:]:
        ch.close()
    rt.shutdown()
