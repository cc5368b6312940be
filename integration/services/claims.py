"""Claiming records: a conditional update that takes the rows no one else holds, naming this process, and hands
them back as read in the same statement (`UPDATE ... RETURNING`), for the single-record path and for a batch.

A claim that the one-writer constraint refuses (another run writes the same source record now) raises
IntegrityError, rolled back to a savepoint, for the caller to handle. On an SQLite older than 3.35, which cannot
return rows from an update, the claimed rows are read by a second query, by the claim's time and process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from integration.heartbeat import process_name
from integration.models import RecordStatus, RecordSync

_FIELDS = [field for field in RecordSync._meta.concrete_fields if field.name != "payload"]  # written, never read


def claim(record_ids: Sequence[int], *, take_expired_leases: bool = False) -> list[RecordSync]:
    """Claim the claimable records among `record_ids` (pending, or waiting and due; with `take_expired_leases`
    also running under a lease that is over: its worker died mid-record), each read as claimed, without
    its payload. Records not claimable now are left alone and not returned."""
    if not record_ids:
        return []
    now = timezone.now()
    with _savepoint():
        if connection.features.can_return_columns_from_insert:  # the same SQLite version brought both
            return list(RecordSync.objects.raw(*_update_returning(record_ids, now, take_expired_leases)))
        RecordSync.objects.filter(Q(pk__in=list(record_ids)) & _claimable(now, take_expired_leases)).update(
            status=RecordStatus.RUNNING, claimed_at=now, claimed_by=process_name(), attempts=F("attempts") + 1)
    return list(RecordSync.objects.defer("payload").filter(pk__in=list(record_ids), status=RecordStatus.RUNNING,
                                                          claimed_at=now, claimed_by=process_name()))


def _savepoint():
    """Inside a caller's transaction, a savepoint keeps it usable after a unique violation. Outside one (a task),
    the statement commits on its own; a BEGIN and COMMIT around it would cost two more round trips per claim."""
    if connection.in_atomic_block:
        return transaction.atomic()
    return contextlib.nullcontext()


def _claimable(now: datetime, take_expired_leases: bool) -> Q:
    claimable = Q(status=RecordStatus.PENDING) | Q(status=RecordStatus.WAITING,
                                                    next_attempt_at__lte=now + timedelta(seconds=1))
    if take_expired_leases:
        claimable |= Q(status=RecordStatus.RUNNING, claimed_at__lt=_lease_start(now))
    return claimable


def _lease_start(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.P2C_RECORD_LEASE_SECONDS)


def _update_returning(record_ids: Sequence[int], now: datetime, take_expired_leases: bool) -> tuple[str, list]:
    """The claim as one statement, the same conditions as `_claimable` (which the fallback filters on)."""
    quote = connection.ops.quote_name
    column = {field.name: quote(field.column) for field in RecordSync._meta.concrete_fields}
    moment = RecordSync._meta.get_field("claimed_at")

    def at(value: datetime):
        return moment.get_db_prep_value(value, connection)

    conditions = [f"{column['status']} = %s", f"({column['status']} = %s AND {column['next_attempt_at']} <= %s)"]
    params: list = [RecordStatus.PENDING, RecordStatus.WAITING, at(now + timedelta(seconds=1))]
    if take_expired_leases:
        conditions.append(f"({column['status']} = %s AND {column['claimed_at']} < %s)")
        params += [RecordStatus.RUNNING, at(_lease_start(now))]
    ids = ", ".join(["%s"] * len(record_ids))
    claimed = (f"{column['status']} = %s, {column['claimed_at']} = %s, {column['claimed_by']} = %s, "
               f"{column['attempts']} = {column['attempts']} + 1")
    where = f"{column['id']} IN ({ids}) AND ({' OR '.join(conditions)})"
    returned = ", ".join(quote(field.column) for field in _FIELDS)
    # Only the model's own table and column names are in the text; every value is a parameter.
    sql = " ".join(("UPDATE", quote(RecordSync._meta.db_table), "SET", claimed, "WHERE", where, "RETURNING", returned))
    return sql, [RecordStatus.RUNNING, at(now), process_name(), *record_ids, *params]
