"""Background tasks that keep orders fresh, written against django.tasks only.

The same code runs on django-tasks-db (``manage.py db_worker``) and on Redis
with django-tasks-rq (``manage.py rqworker --with-scheduler``); only the TASKS
setting differs. The polling schedule lives on each order row, so the queue
only carries one self-rescheduling chain of ``poll_due_orders`` runs.

The chain can break: a worker crashes mid-run, a deploy drops the queue, an
enqueue fails. Each run therefore beats a heartbeat row, and
``ensure_poll_chain`` (called when a worker starts, then periodically by
``manage.py run_worker``) starts a new chain when the beat is stale.
"""

import logging
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.db.models import F
from django.tasks import task
from django.utils import timezone

from orders.models import PollerHeartbeat
from orders.services import refresh
from orders.zinc import ZincClient

logger = logging.getLogger(__name__)

# A chain whose last beat is older than this many chain intervals is dead.
STALE_CHAIN_INTERVALS = 3


@task()
def poll_due_orders(chain_id: str = "") -> dict[str, Any]:
    """Poll one batch of due orders, then schedule the chain's next run.

    A run with an empty ``chain_id`` is a one-off helper: it polls a batch and
    ends. A chain run that finds another chain registered in the heartbeat
    ends without polling, so a restarted chain replaces the old one.
    """
    if chain_id and not _beat(chain_id):
        logger.info(
            "Poll chain %s was replaced by a newer chain; stopping it", chain_id
        )
        return {"chain_id": chain_id, "replaced": True, "polled": 0}
    try:
        claimed = refresh.claim_due_orders(settings.POLL_BATCH_SIZE)
        if len(claimed) >= settings.POLL_BATCH_SIZE:
            # More orders are due than one batch holds: a helper run lets an
            # idle worker take the next batch while this one polls.
            poll_due_orders.enqueue()
        outcomes = _poll_orders(claimed)
    finally:
        if chain_id:
            _continue_chain(chain_id)
    return {"chain_id": chain_id, "replaced": False, "polled": len(claimed), **outcomes}


@task()
def poll_order_now(order_id: int) -> dict[str, Any]:
    """Poll one order at once, for the order page's Refresh now button."""
    result = refresh.poll_now(order_id)
    return {"order_id": order_id, "outcome": result.outcome if result else "not_polled"}


def ensure_poll_chain() -> str | None:
    """Start a new poll chain unless a live one beat recently.

    Safe to call from any number of processes at once: starting a chain is a
    conditional update of the heartbeat row, so only one caller wins. Returns
    the new chain's id, or None when a chain is alive or another caller won.
    """
    now = timezone.now()
    heartbeat = _heartbeat()
    stale_before = now - timedelta(
        seconds=STALE_CHAIN_INTERVALS * settings.POLL_CHAIN_INTERVAL_SECONDS
    )
    if heartbeat.chain_id and heartbeat.beat_at and heartbeat.beat_at >= stale_before:
        return None
    chain_id = str(uuid.uuid4())
    won = PollerHeartbeat.objects.filter(
        pk=heartbeat.pk, chain_id=heartbeat.chain_id, beat_at=heartbeat.beat_at
    ).update(chain_id=chain_id, beat_at=now, chain_started_at=now)
    if not won:
        return None
    if heartbeat.chain_id:
        logger.warning(
            "Poll chain %s last beat at %s; starting chain %s",
            heartbeat.chain_id,
            heartbeat.beat_at,
            chain_id,
        )
    else:
        logger.info("Starting poll chain %s", chain_id)
    poll_due_orders.enqueue(chain_id=chain_id)
    return chain_id


def _heartbeat() -> PollerHeartbeat:
    try:
        heartbeat, _ = PollerHeartbeat.objects.get_or_create(
            pk=PollerHeartbeat.SINGLETON_PK
        )
    except IntegrityError:
        # Another process created the row between the lookup and the insert.
        heartbeat = PollerHeartbeat.objects.get(pk=PollerHeartbeat.SINGLETON_PK)
    return heartbeat


def _beat(chain_id: str) -> bool:
    """Record that ``chain_id`` is alive. Returns False if another chain replaced it."""
    updated = PollerHeartbeat.objects.filter(
        pk=PollerHeartbeat.SINGLETON_PK, chain_id=chain_id
    ).update(beat_at=timezone.now())
    return updated == 1


def _continue_chain(chain_id: str) -> None:
    if not _beat(chain_id):
        logger.info(
            "Poll chain %s was replaced during its run; not rescheduling", chain_id
        )
        return
    run_after = timezone.now() + timedelta(seconds=settings.POLL_CHAIN_INTERVAL_SECONDS)
    try:
        poll_due_orders.using(run_after=run_after).enqueue(chain_id=chain_id)
    except Exception:
        # The sweeper restarts the chain once the heartbeat goes stale.
        logger.exception("Could not reschedule poll chain %s", chain_id)
        return
    PollerHeartbeat.objects.filter(
        pk=PollerHeartbeat.SINGLETON_PK, chain_id=chain_id
    ).update(runs=F("runs") + 1)


def _poll_orders(order_ids: list[int]) -> dict[str, int]:
    """Poll each claimed order over one shared HTTP client and count the outcomes."""
    counts: dict[str, int] = {}
    if not order_ids:
        return counts
    with ZincClient() as client:
        for order_id in order_ids:
            try:
                result = refresh.poll_order_by_id(order_id, client)
            except Exception:
                # One broken order must not starve the rest of the batch. Its
                # claim lease expires and a later run retries it.
                logger.exception("Polling order %s failed unexpectedly", order_id)
                outcome = "crashed"
            else:
                outcome = result.outcome if result else "missing"
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts
