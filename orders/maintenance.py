"""Database upkeep that the worker runs, so that query plans stay good."""

import logging

from django.db import connection

logger = logging.getLogger(__name__)

# Rows sampled per index; keeps ANALYZE under about 0.1 s at 100,000 orders
# (benchmarks/bench.py on this project's 2-core test machine).
SQLITE_ANALYSIS_LIMIT = 1000


def optimize_database() -> None:
    """Refresh SQLite's planner statistics.

    Without them SQLite picks the status index for the month-bounded report
    queries and reads most of the orders table instead of the paid_at index.
    PostgreSQL's autovacuum keeps its own statistics, so nothing runs there.
    """
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
        cursor.execute("ANALYZE")
    logger.info("Refreshed SQLite planner statistics")
