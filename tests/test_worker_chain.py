"""The poll chain: one chain at a time, rescheduled by each run, restarted when dead.

These tests use the test settings' DummyBackend, which records enqueued tasks
without running them, and call the task functions directly.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.tasks import default_task_backend
from django.test import override_settings
from django.utils import timezone

from orders import tasks
from orders.models import PollerHeartbeat

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


@pytest.fixture(autouse=True)
def empty_queue():
    default_task_backend.clear()
    yield
    default_task_backend.clear()


def enqueued(task_name: str) -> list:
    return [
        result
        for result in default_task_backend.results
        if result.task.name == task_name
    ]


def test_ensure_chain_starts_one_chain():
    chain_id = tasks.ensure_poll_chain()

    heartbeat = PollerHeartbeat.objects.get()
    runs = enqueued("poll_due_orders")
    assert chain_id is not None
    assert heartbeat.chain_id == chain_id
    assert len(runs) == 1
    assert runs[0].kwargs == {"chain_id": chain_id}
    assert tasks.ensure_poll_chain() is None
    assert len(enqueued("poll_due_orders")) == 1


def test_concurrent_sweepers_start_one_chain():
    barrier = threading.Barrier(4)
    started: list[str | None] = []

    def sweep() -> None:
        try:
            barrier.wait(timeout=10)
            started.append(tasks.ensure_poll_chain())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Each thread has its own DummyBackend, so the heartbeat shows the winner.
    winners = [chain_id for chain_id in started if chain_id]
    assert len(started) == 4
    assert len(winners) == 1
    assert PollerHeartbeat.objects.get().chain_id == winners[0]


def test_chain_run_reschedules_itself():
    chain_id = tasks.ensure_poll_chain()
    default_task_backend.clear()
    before = timezone.now()

    with override_settings(POLL_CHAIN_INTERVAL_SECONDS=15):
        outcome = tasks.poll_due_orders.call(chain_id=chain_id)

    runs = enqueued("poll_due_orders")
    assert outcome == {"chain_id": chain_id, "replaced": False, "polled": 0}
    assert len(runs) == 1
    assert runs[0].kwargs == {"chain_id": chain_id}
    assert runs[0].task.run_after >= before + timedelta(seconds=15)
    assert PollerHeartbeat.objects.get().runs == 1


def test_stale_heartbeat_replaces_chain():
    old_chain = tasks.ensure_poll_chain()
    PollerHeartbeat.objects.update(beat_at=timezone.now() - timedelta(minutes=5))
    default_task_backend.clear()

    new_chain = tasks.ensure_poll_chain()
    old_run = tasks.poll_due_orders.call(chain_id=old_chain)

    assert new_chain not in (None, old_chain)
    assert old_run == {"chain_id": old_chain, "replaced": True, "polled": 0}
    # Only the new chain's first run is queued; the old chain ended.
    assert [run.kwargs for run in enqueued("poll_due_orders")] == [
        {"chain_id": new_chain}
    ]


def test_helper_run_does_not_reschedule():
    outcome = tasks.poll_due_orders.call()

    assert outcome == {"chain_id": "", "replaced": False, "polled": 0}
    assert enqueued("poll_due_orders") == []
