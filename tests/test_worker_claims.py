"""Several workers on one database claim each due order exactly once."""

import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from orders.models import Order, Team
from orders.services import refresh
from tests.poller_helpers import ROOT, make_requester, subprocess_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

DUE_ORDERS = 40


@pytest.fixture
def due_order_ids() -> list[int]:
    team = Team.objects.create(name="Facilities")
    requester = make_requester()
    due = timezone.now() - timedelta(seconds=5)
    orders = Order.objects.bulk_create(
        Order(
            team=team,
            created_by=requester,
            status=Order.Status.PENDING,
            max_price_cents=5000,
            zinc_order_id=f"zinc-{number}",
            next_poll_at=due,
        )
        for number in range(DUE_ORDERS)
    )
    return sorted(order.pk for order in orders)


def claim_until_empty(batch_size: int) -> list[int]:
    claimed: list[int] = []
    while batch := refresh.claim_due_orders(batch_size):
        claimed.extend(batch)
    return claimed


def test_two_threads_claim_each_order_once(due_order_ids):
    barrier = threading.Barrier(2)
    results: dict[str, list[int]] = {}

    def worker(name: str) -> None:
        try:
            barrier.wait(timeout=10)
            results[name] = claim_until_empty(batch_size=3)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert set(results) == {"a", "b"}
    assert set(results["a"]).isdisjoint(results["b"])
    assert len(results["a"]) + len(results["b"]) == DUE_ORDERS
    assert sorted(results["a"] + results["b"]) == due_order_ids


# Runs in a separate Python process, so the two claimers share nothing but the
# database file.
CLAIM_SCRIPT = """
import sys, django
django.setup()
from orders.services import refresh
claimed = []
while batch := refresh.claim_due_orders(int(sys.argv[1])):
    claimed.extend(batch)
print(",".join(map(str, claimed)))
"""


def test_two_processes_claim_each_order_once(due_order_ids):
    env = {
        "DJANGO_SETTINGS_MODULE": "zincdash.settings",
        "DATABASE_URL": subprocess_database_url(),
        "PATH": "/usr/bin:/bin",
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIM_SCRIPT, "2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]

    claimed = []
    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
        claimed.append([int(pk) for pk in stdout.strip().split(",") if pk])
    assert set(claimed[0]).isdisjoint(claimed[1])
    assert sorted(claimed[0] + claimed[1]) == due_order_ids


def test_claim_leases_the_order(due_order_ids):
    now = timezone.now()

    claimed = refresh.claim_due_orders(5, now=now)

    leased = Order.objects.filter(pk__in=claimed)
    assert len(claimed) == 5
    assert all(order.next_poll_at > now for order in leased)
    assert refresh.claim_due_orders(DUE_ORDERS, now=now) == due_order_ids[5:]
    assert refresh.claim_due_orders(DUE_ORDERS, now=now) == []


def test_claim_skips_untrackable_and_final_orders(due_order_ids):
    Order.objects.filter(pk=due_order_ids[0]).update(trackable=False)
    Order.objects.filter(pk=due_order_ids[1]).update(status=Order.Status.ORDER_FAILED)

    claimed = refresh.claim_due_orders(DUE_ORDERS)

    assert claimed == due_order_ids[2:]
