"""Write the audit log: who did what to which object, with before/after values.

The log is ``AuditEntry``, a model of our own, rather than django-simple-history:

- one table covers every object type, so "everything that happened in this team"
  or "everything that happened to this order" is one indexed query;
- entries are business actions (approve, reject, payment, member changes) with
  only the fields that changed, not full row snapshots;
- no history table is added per audited model;
- django-simple-history 3.13.0 declares support up to Django 6.0, and this
  project runs Django 6.1.

Services call ``record`` next to the change they make, inside the same
transaction, instead of signal handlers, so the acting user is always known.
Secret fields are dropped from ``changes`` before anything is stored.
"""

import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models

from orders.models import AuditEntry, Team

logger = logging.getLogger(__name__)

Action = AuditEntry.Action

# Encrypted keys and tokens, payment receipts, and the frozen request body
# are never copied into the log.
SECRET_FIELDS = frozenset(
    {"api_key_encrypted", "spt_encrypted", "request_body", "receipt_reference"}
)
# Bookkeeping fields that change with every save and mean nothing to a reader.
IGNORED_FIELDS = frozenset({"updated_at"})


def json_value(value: Any) -> Any:
    """Convert a model field value into something JSON can store.

    A related object becomes its primary key; dates and decimals become text.
    """
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """Return ``{field: value}`` for ``fields`` of ``obj``, foreign keys as ids."""
    values: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        attname = getattr(field, "attname", name)
        values[name] = json_value(getattr(obj, attname))
    return values


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Return ``{field: [before, after]}`` for every field whose value changed.

    A field present on one side only counts as changed from or to None.
    Secret fields are left out.
    """
    changes: dict[str, list[Any]] = {}
    for name in sorted(set(before) | set(after)):
        if name in SECRET_FIELDS:
            continue
        old = json_value(before.get(name))
        new = json_value(after.get(name))
        if old != new:
            changes[name] = [old, new]
    return changes


def record(
    actor: Any,
    action: str,
    obj: models.Model,
    changes: Mapping[str, Any] | None = None,
    team: Team | None = None,
) -> AuditEntry:
    """Append one audit entry for ``action`` on ``obj`` by ``actor``.

    ``changes`` maps field names to ``[before, after]`` pairs. The team
    defaults to ``obj`` itself for a Team and to ``obj.team`` otherwise, when
    the object has one. An anonymous or missing actor is stored as empty,
    which marks a change made by the system.
    """
    team_id = team.pk if team is not None else _team_id_of(obj)
    safe_changes = {
        name: [json_value(value) for value in pair]
        for name, pair in (changes or {}).items()
        if name not in SECRET_FIELDS
    }
    entry = AuditEntry.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        team_id=team_id,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        changes=safe_changes,
    )
    logger.info(
        "Audit: %s %s %s by user %s",
        action,
        entry.object_type,
        entry.object_id,
        entry.actor_id,
    )
    return entry


def _team_id_of(obj: models.Model) -> int | None:
    if isinstance(obj, Team):
        return obj.pk
    return getattr(obj, "team_id", None)


def record_create(
    actor: Any, obj: models.Model, fields: Iterable[str], team: Team | None = None
) -> AuditEntry:
    """Append a create entry with ``fields`` of the new ``obj`` as after-values."""
    changes = {name: [None, value] for name, value in snapshot(obj, fields).items()}
    return record(actor, Action.CREATE, obj, changes, team=team)


def record_change(
    actor: Any,
    obj: models.Model,
    before: Mapping[str, Any],
    team: Team | None = None,
) -> AuditEntry | None:
    """Append a change entry comparing ``before`` with ``obj``'s saved values.

    ``before`` comes from ``snapshot`` taken before the change, with the same
    fields. Returns None, and writes nothing, when no field changed.
    """
    changes = diff(before, snapshot(obj, before.keys()))
    if not changes:
        return None
    return record(actor, Action.CHANGE, obj, changes, team=team)


def record_delete(
    actor: Any, obj: models.Model, fields: Iterable[str], team: Team | None = None
) -> AuditEntry:
    """Append a delete entry with ``fields`` of ``obj`` as before-values.

    Call it before deleting, while ``obj`` still has its primary key.
    """
    changes = {name: [value, None] for name, value in snapshot(obj, fields).items()}
    return record(actor, Action.DELETE, obj, changes, team=team)


def record_transition(
    order: models.Model,
    *,
    actor: Any,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> AuditEntry:
    """Append the entry for an order's status change, called by transition_to.

    The change that records a payment (``paid_at`` set for the first time) is
    audited as a payment, every other one as a status change.
    """
    paid = after.get("paid_at") is not None and before.get("paid_at") is None
    changes = diff(
        {name: value for name, value in before.items() if name not in IGNORED_FIELDS},
        {name: value for name, value in after.items() if name not in IGNORED_FIELDS},
    )
    return record(actor, Action.PAYMENT if paid else Action.STATUS, order, changes)


def entries_for(obj: models.Model) -> models.QuerySet[AuditEntry]:
    """Return the audit entries of ``obj``, oldest first, with their actors."""
    return (
        AuditEntry.objects.filter(
            object_type=obj._meta.label_lower, object_id=str(obj.pk)
        )
        .select_related("actor")
        .order_by("created_at", "id")
    )
