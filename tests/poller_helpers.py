"""Shared pieces of the poller and worker tests: paid orders and worker processes.

A paid order comes from the real placement service against the sandbox. A
worker is a real ``manage.py run_worker`` subprocess on the test database
file, with the POLL_* cadence in seconds.
"""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.contrib.auth import get_user_model
from django.db import connection

from orders.models import Address, Order, OrderItem, PaymentAttempt, Team
from orders.services import placement

ROOT = Path(__file__).resolve().parent.parent
SHOP = "https://zinc.com/shop/products/"

# Cadence for worker subprocesses and for the test process, in seconds.
FAST_POLLING = {
    "POLL_FIRST_DELAY_SECONDS": 1,
    "POLL_OPEN_INTERVAL_SECONDS": 1,
    "POLL_PLACED_INTERVAL_SECONDS": 1,
    "POLL_CHAIN_INTERVAL_SECONDS": 1,
    "POLL_RETRY_BASE_SECONDS": 1,
    "POLL_RETRY_MAX_SECONDS": 4,
    "POLL_MAX_AGE_SECONDS": 3600,
}


def make_requester(name: str = "olivia") -> Any:
    return get_user_model().objects.create_user(
        name, email=f"{name}@example.com", password=f"pw-{name}-123"
    )


def make_paid_order(
    requester: Any, product: str = "test-success", *, max_price_cents: int = 5000
) -> Order:
    """Draft an order, pay its Stripe challenge in the sandbox and return it pending."""
    team, _ = Team.objects.get_or_create(name="Facilities")
    address = Address.objects.create(
        team=team,
        first_name="Olivia",
        last_name="Ops",
        address_line1="1 Market St",
        city="San Francisco",
        state="CA",
        postal_code="94105",
        phone_number="+14155550100",
        country="US",
    )
    order = Order.objects.create(
        team=team,
        created_by=requester,
        address=address,
        shipping_address=address.to_zinc(),
        max_price_cents=max_price_cents,
    )
    OrderItem.objects.create(order=order, url=SHOP + product, quantity=1)

    submitted = placement.submit_order(order, actor=requester)
    assert submitted.accepted, submitted.message

    attempt = order.payment_attempts.get(
        method="stripe", state=PaymentAttempt.State.OFFERED
    )
    settled = placement.settle_payment(
        order, attempt.pk, "pm_card_visa", actor=requester
    )
    assert settled.outcome == "placed", settled.message
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    return order


def wait_for(
    condition: Callable[[], Any], *, timeout: float = 30, describe: str = ""
) -> Any:
    """Call ``condition`` until it returns something truthy or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {describe}")
        time.sleep(0.1)


def reload(order: Order) -> Order:
    return Order.objects.get(pk=order.pk)


def subprocess_database_url() -> str:
    """Return a DATABASE_URL for the test database, for subprocesses."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    if connection.vendor == "postgresql":
        credentials = quote(settings["USER"] or "", safe="")
        if settings["PASSWORD"]:
            credentials += ":" + quote(settings["PASSWORD"], safe="")
        host = f"{settings['HOST'] or 'localhost'}:{settings['PORT'] or 5432}"
        return f"postgres://{credentials}@{host}/{settings['NAME']}"
    raise NotImplementedError(f"no DATABASE_URL for {connection.vendor}")


def worker_env(sandbox: Any, **extra: str) -> dict[str, str]:
    """Return the environment of a worker subprocess aimed at the test database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "zincdash.settings",
        "DATABASE_URL": subprocess_database_url(),
        "ZINC_API_URL": sandbox.zinc_url,
        "STRIPE_API_URL": sandbox.stripe_url,
        "STRIPE_JS_URL": f"{sandbox.stripe_url}/stripe.js",
        "TASKS_BACKEND": "db",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "INFO",
        **{name: str(value) for name, value in FAST_POLLING.items()},
    }
    env.update(extra)
    return env


@contextmanager
def running_worker(
    env: dict[str, str], log_path: Path, *worker_args: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``manage.py run_worker`` until the block ends; print its log on failure."""
    command = [sys.executable, "manage.py", "run_worker", "--", *worker_args]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield process
        except BaseException:
            print(log_path.read_text(errors="replace")[-6000:])
            raise
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
