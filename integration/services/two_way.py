"""Two-way flows: a pair of records kept in step by two entity maps, one each way (`EntityMap.reverse_map`), such
as Sales orders to F&O and F&O's orders back to Sales.

No echoes. After p2c writes a record through one map, it reads the record back as the reverse map reads it and
keeps that on the link (`KeyLink.written`). When the reverse map later reads the very same data, it is p2c's own
write coming back, not a change: it is not synced (planning leaves it out and counts it; a record given alone, by a
webhook, ends as unchanged). OCA's connector flags its own writes in the other system; a copy of what was read back
needs no column there, and it also catches what the other system did on the write (an F&O order's totals going
stale, a Sales plug-in's columns). Anything else, a user's edit or the other system's own work, differs from it.

Conflicts. Before a map updates a record of a two-way flow, it reads that record as it is now and compares it with
the latest state of it p2c knows: what p2c read back after its own last write there, or what the reverse map last
synced from it, whichever is later. A field this map writes whose value changed since means the record changed on
both sides: the system of record wins (`EntityMap.system_of_record`). Either this map writes over the other side's
values, or it writes nothing and the reverse map brings the other side's values here; the record's row names the
fields with both values and is marked (`RecordSync.conflict`), and the run's message counts them. Fields this map
does not write (totals Sales computes from its lines, a flag a plug-in keeps) are no conflict, and nothing flips
back and forth: the winner's write comes back to it as an echo.

Create only. A create-only map writes a record only while the destination does not have it: not when it is linked,
nor when it is the counterpart of a record the reverse map wrote (an order born in F&O and landed in Sales is not
sent back to F&O as new).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from integration import mapping, storable
from integration.models import Conflict, EntityMap, KeyLink, RecordStatus, RecordSync, System
from integration.services import adapter, binder
from integration.services.contexts import map_context

LABELS = {System.DATAVERSE: "Sales", System.FINOPS: "F&O"}


@dataclass(frozen=True)
class Resolution:
    """A record changed on both sides: `conflict` says who won, `note` names the fields and both values."""

    conflict: str
    note: str

    @property
    def writes(self) -> bool:
        return self.conflict == Conflict.OVERWROTE


def system_of_record(entity_map: EntityMap) -> str:
    """The pair's system of record: the map's own choice, else its reverse map's. Assumption: F&O when neither
    says, as in Prospect to cash an order activated in Sales is F&O's from then on (UO-SO2)."""
    reverse = entity_map.reverse_map
    return entity_map.system_of_record or (reverse.system_of_record if reverse else "") or System.FINOPS


# --- echoes --------------------------------------------------------------------------------------------------
def echoes(*, entity_map: EntityMap, records: Mapping[str, Mapping]) -> set[str]:
    """The keys among `records` (source key -> the record as read) whose data is exactly what p2c wrote there
    through the reverse map: one query for all of them."""
    reverse = entity_map.reverse_map
    if reverse is None or not records:
        return set()
    by_counterpart: dict[str, list[str]] = {}
    for key, record in records.items():
        counterpart = _counterpart_key(reverse, record)
        if counterpart:
            by_counterpart.setdefault(counterpart, []).append(key)
    written = binder.written_by_destination(entity_map=reverse, destination_keys=list(by_counterpart))
    return {key for counterpart, snapshot in written.items() if snapshot
            for key in by_counterpart[counterpart]
            if mapping.record_hash(snapshot) == mapping.record_hash(records[key])}


def is_echo(*, entity_map: EntityMap, record: Mapping) -> bool:
    return bool(echoes(entity_map=entity_map, records={"": record}))


def counterpart_link(*, entity_map: EntityMap, record: Mapping) -> KeyLink | None:
    """The reverse map's link whose destination is this source record: it came from the other side."""
    reverse = entity_map.reverse_map
    key = _counterpart_key(reverse, record) if reverse is not None else ""
    return binder.link_by_destination(entity_map=reverse, destination_key=key) if key else None


def _counterpart_key(reverse: EntityMap, record: Mapping) -> str:
    """The key under which the reverse map's links name this record (their destination key)."""
    return mapping.lookup_value({"match": "destination_key", "key_fields": list(reverse.destination_key_fields)},
                                record) or ""


# --- what p2c wrote ------------------------------------------------------------------------------------------
def written_snapshot(*, entity_map: EntityMap, run_id: int, result: adapter.Written) -> dict:
    """The record p2c just wrote, read back as the reverse map reads it ({} for a one-way map)."""
    reverse = entity_map.reverse_map
    if reverse is None:
        return {}
    row = adapter.read_destination(entity_map, key=result.key, destination_id=result.destination_id,
                                   select=reverse.source_select)
    return _as_read(reverse, run_id, row)


def _as_read(reverse: EntityMap, run_id: int, row: Mapping | None) -> dict:
    """The row as the reverse map's planning would store it (unstorable characters removed)."""
    if row is None:
        return {}
    return storable.prepare(map_context(reverse.pk, run_id).definition, row).record


# --- conflicts -----------------------------------------------------------------------------------------------
def resolution(*, record: RecordSync, mapped: mapping.MappedRecord, link: KeyLink | None,
               counterpart: KeyLink | None) -> Resolution | None:
    """Whether the destination record changed, in a field this map writes, since p2c last knew it; None when it
    did not (or p2c never knew it). `counterpart`: the reverse map's link when the destination record is the one
    that map read to create this record (no link of this map yet)."""
    entity_map = record.entity_map
    reverse = entity_map.reverse_map
    if reverse is None or (link is None and counterpart is None):
        return None
    if link is not None:
        row = adapter.read_destination(entity_map, key=link.destination_key_values,
                                       destination_id=link.destination_id, select=reverse.source_select)
    else:
        row = adapter.read_destination(entity_map, key=mapped.destination_key, destination_id="",
                                       select=reverse.source_select)
    now = _as_read(reverse, record.run_id, row)
    if not now:
        return None
    baseline = _latest_known(reverse, now, link)
    if not baseline:
        return None
    changed = {name: (baseline[name], now[name]) for name in dict.fromkeys(map(_read_name, mapped.payload))
               if name in baseline and name in now and baseline[name] != now[name]}
    if not changed:
        return None
    destination = adapter.destination_connection(entity_map).system
    winner = system_of_record(entity_map)
    fields = "; ".join(f"{name} {before!r} -> {after!r}" for name, (before, after) in changed.items())
    said = (f"changed on both sides since the last sync: {LABELS[destination]} changed {fields}; "
            f"{LABELS[winner]} is the system of record")
    if winner == destination:
        return Resolution(Conflict.YIELDED, f"{said}, so this change is not written ({reverse.name} brings "
                                            f"{LABELS[destination]}'s values back)")
    return Resolution(Conflict.OVERWROTE, f"{said}, so its values were written over {LABELS[destination]}'s")


def _latest_known(reverse: EntityMap, now: Mapping, link: KeyLink | None) -> Mapping:
    """What p2c last knew of the record: read back after its own write (the link's), or synced from it by the
    reverse map (that map's last row that wrote it on or found it unchanged), whichever is later."""
    key = mapping.lookup_value({"match": "source_key", "key_fields": list(reverse.source_key_fields)}, now)
    row = (RecordSync.objects.filter(entity_map=reverse, source_key=key, snapshot__isnull=False,
                                     status__in=(RecordStatus.SUCCEEDED, RecordStatus.UNCHANGED))
           .order_by("-finished_at").values("snapshot", "finished_at").first()) if key else None
    if link is not None and link.written and (row is None or row["finished_at"] <= link.synced_at):
        return link.written
    return row["snapshot"] if row else {}


def _read_name(field: str) -> str:
    """The column a payload field is read back as. Assumption: a bind's navigation property is named after its
    lookup column, with the target's table after an underscore for polymorphic lookups (customerid_account ->
    _customerid_value), as Dataverse names them; navigation names in capitals (SalesOrderDetailId) lowercased."""
    if not field.endswith("@odata.bind"):
        return field
    return f"_{field.removesuffix('@odata.bind').split('_')[0].lower()}_value"
