"""The same task code on Redis: django-tasks-rq with an RQ worker and its scheduler.

The test starts its own ``redis-server`` on a free loopback port with
persistence off, runs ``manage.py run_worker`` with TASKS_BACKEND=rq, and
checks that a paid order reaches order_placed with tracking.
"""

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from django.test import override_settings

from orders.models import Order, PollerHeartbeat, TrackingNumber
from tests.poller_helpers import (
    FAST_POLLING,
    make_paid_order,
    make_requester,
    reload,
    running_worker,
    wait_for,
    worker_env,
)

REDIS_SERVER = shutil.which("redis-server")

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
    pytest.mark.skipif(
        REDIS_SERVER is None,
        reason="redis-server is not installed (Debian package redis-server)",
    ),
]

Status = Order.Status
STEP = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path) -> Iterator[str]:
    assert REDIS_SERVER is not None
    port = free_port()
    process = subprocess.Popen(
        [
            REDIS_SERVER,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_rq_worker_places_order_with_tracking(sandbox, redis_url, tmp_path):
    with override_settings(**FAST_POLLING):
        order = make_paid_order(make_requester(), "test-split-shipment")
    env = worker_env(sandbox, TASKS_BACKEND="rq", REDIS_URL=redis_url)

    with running_worker(env, tmp_path / "rq-worker.log"):
        sandbox.advance(2 * STEP)
        placed = wait_for(
            lambda: (o := reload(order)).status == Status.ORDER_PLACED and o,
            timeout=45,
            describe="order_placed through RQ",
        )
        sandbox.advance(STEP)
        wait_for(
            lambda: TrackingNumber.objects.filter(order=order).count() == 2,
            timeout=45,
            describe="two tracking numbers through RQ",
        )
        # Several chain runs mean the scheduler moved delayed runs to the queue.
        wait_for(
            lambda: PollerHeartbeat.objects.get().runs >= 3,
            timeout=30,
            describe="three chain runs",
        )

    assert placed.total_cents == 4900
    assert len(placed.merchant_order_ids) == 2
    assert reload(order).first_tracking_at is not None
