"""Start the task worker for the configured backend, with the poll-chain sweeper.

``manage.py run_worker`` makes sure the order poll chain is running, then runs
the worker that matches the TASKS setting in this process:

- django-tasks-db: ``db_worker``
- django-tasks-rq: ``rqworker --job-class django_tasks_rq.Job --with-scheduler``

A daemon thread calls ``ensure_poll_chain`` every POLL_CHAIN_INTERVAL_SECONDS,
so a chain lost to a crash or a flushed queue restarts without a deploy.
Arguments after ``--`` go to the underlying worker unchanged, for example
``manage.py run_worker -- --interval 0.5``.
"""

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connections
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS

from orders.maintenance import optimize_database
from orders.tasks import ensure_poll_chain

logger = logging.getLogger(__name__)

DB_BACKEND = "django_tasks_db.DatabaseBackend"
RQ_BACKEND = "django_tasks_rq.RQBackend"
# The sweeper also refreshes the planner statistics this often.
OPTIMIZE_INTERVAL_SECONDS = 3600


class Command(BaseCommand):
    help = (
        "Start the poll chain if needed, then run the task worker for the "
        "configured TASKS backend (db_worker or rqworker with the scheduler)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--sweep-interval",
            type=float,
            default=None,
            help="Seconds between checks that the poll chain is alive. "
            "Defaults to POLL_CHAIN_INTERVAL_SECONDS; 0 disables the check.",
        )
        parser.add_argument(
            "worker_args",
            nargs="*",
            help="Arguments passed to the worker command; put them after --.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        backend = settings.TASKS[DEFAULT_TASK_BACKEND_ALIAS]["BACKEND"]
        if backend not in (DB_BACKEND, RQ_BACKEND):
            raise CommandError(
                f"run_worker supports {DB_BACKEND} and {RQ_BACKEND}, but the default "
                f"TASKS backend is {backend}; set TASKS_BACKEND=db or rq."
            )

        optimize_database()
        ensure_poll_chain()
        interval = options["sweep_interval"]
        if interval is None:
            interval = float(settings.POLL_CHAIN_INTERVAL_SECONDS)
        if interval > 0:
            start_sweeper(interval)
        # The RQ worker forks a process per job; no connection may cross it.
        connections.close_all()

        worker_args = options["worker_args"]
        if backend == DB_BACKEND:
            call_command("db_worker", *worker_args)
        else:
            queues = settings.TASKS[DEFAULT_TASK_BACKEND_ALIAS].get(
                "QUEUES", ["default"]
            )
            call_command(
                "rqworker",
                "--job-class",
                "django_tasks_rq.Job",
                "--with-scheduler",
                *worker_args,
                *queues,
            )


def start_sweeper(interval: float) -> threading.Thread:
    """Start a daemon thread that re-seeds the poll chain whenever it dies."""
    stop = threading.Event()

    def sweep() -> None:
        last_optimized = time.monotonic()
        while not stop.wait(interval):
            try:
                ensure_poll_chain()
                if time.monotonic() - last_optimized >= OPTIMIZE_INTERVAL_SECONDS:
                    optimize_database()
                    last_optimized = time.monotonic()
            except Exception:
                # A database or queue outage; the next sweep tries again.
                logger.exception("Poll chain check failed")
            finally:
                close_old_connections()
                connections.close_all()

    thread = threading.Thread(target=sweep, name="poll-chain-sweeper", daemon=True)
    thread.start()
    return thread
