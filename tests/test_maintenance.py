"""Planner statistics that the worker refreshes."""

import pytest
from django.db import connection

from orders.maintenance import optimize_database
from orders.models import Team

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
def test_optimize_database_writes_statistics():
    Team.objects.bulk_create(Team(name=f"Team {n}") for n in range(20))

    optimize_database()

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'orders_team'")
        (rows,) = cursor.fetchone()
    assert rows >= 1
