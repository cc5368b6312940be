"""The binder: every read and write of the key links (`KeyLink`) that bind a source record to the destination record
it was written to, as OCA's connector keeps bindings in one place. A link holds the source's key and id, the
destination's natural key, the API's own key, what was last written (its hash) and the destination values later
lookups need.

Reads for a whole batch (links of many records, lookup targets of many parents) are one query each.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.db.models import Case, Q, When
from django.utils import timezone

from integration.models import EntityMap, KeyLink

# What a lookup matches on, and the link's column that holds it.
MATCH_FIELDS = {"source_id": "source_id", "source_key": "source_key", "destination_id": "destination_id",
                "destination_key": "destination_key"}
_TARGET_FIELDS = ("entity_map_id", "source_key", "source_id", "destination_key", "destination_key_values",
                  "destination_id", "attributes")


# --- one record ------------------------------------------------------------------------------------------------
def link_of(*, entity_map: EntityMap, source_key: str, source_id: str = "") -> KeyLink | None:
    """The record's link: by its source key, else (its key changed) by its source id, in one query."""
    by_key = Q(source_key=source_key)
    return KeyLink.objects.filter(by_key | Q(source_id=source_id) if source_id else by_key,
                                  entity_map=entity_map).annotate(
        other_key=Case(When(by_key, then=0), default=1)).order_by("other_key", "-synced_at").first()


def link_by_key(*, entity_map: EntityMap, source_key: str) -> KeyLink | None:
    return KeyLink.objects.filter(entity_map=entity_map, source_key=source_key).first()


def link_by_destination(*, entity_map: EntityMap, destination_key: str) -> KeyLink | None:
    """The map's live link to this destination record (its natural key's text)."""
    return KeyLink.objects.filter(entity_map=entity_map, destination_key=destination_key,
                                  source_deleted_at__isnull=True).first()


def source_key_of(*, entity_map: EntityMap, source_id: str) -> str | None:
    """The key a source record was linked under, found by its id (a webhook names only the id)."""
    return KeyLink.objects.filter(entity_map=entity_map, source_id=source_id).values_list(
        "source_key", flat=True).first()


def bind(*, entity_map: EntityMap, link: KeyLink | None, values: Mapping[str, Any]) -> None:
    """Write a record's link: update the one it had, or create it. A unique violation (another record holds
    the destination, or a concurrent sync of this one won) raises IntegrityError for the caller to handle."""
    if link is None or not KeyLink.objects.filter(pk=link.pk).update(**values):
        KeyLink.objects.create(entity_map=entity_map, **values)


def rebind_unchanged(*, link: KeyLink, source_key: str, source_hash: str) -> None:
    """Nothing was written, but the source's own data (or key) moved: the link remembers it."""
    if link.source_hash != source_hash or link.source_key != source_key:
        KeyLink.objects.filter(pk=link.pk).update(source_hash=source_hash, source_key=source_key)


def unbind(*, link: KeyLink) -> None:
    link.delete()


def note_source_deleted(*, link: KeyLink) -> None:
    KeyLink.objects.filter(pk=link.pk).update(source_deleted_at=timezone.now())


# --- many records (a batch, a page being planned) --------------------------------------------------------------
def links_of(*, entity_map: EntityMap, records: Collection[tuple[str, str]]) -> dict[str, KeyLink]:
    """Source key -> link, for many (source key, source id) records in one query: by key, else (the key changed)
    by id, as `link_of` finds one record's."""
    keys = [key for key, _ in records]
    ids = [source_id for _, source_id in records if source_id]
    found = list(KeyLink.objects.filter(Q(source_key__in=keys) | Q(source_id__in=ids), entity_map=entity_map))
    by_key = {link.source_key: link for link in found}
    by_id: dict[str, KeyLink] = {}
    for link in sorted(found, key=lambda link: link.synced_at):
        if link.source_id:
            by_id[link.source_id] = link  # the latest synced wins, as in link_of
    return {key: by_key.get(key) or by_id.get(source_id) for key, source_id in records
            if key in by_key or source_id in by_id}


def bind_many(*, entity_map: EntityMap, values: Sequence[Mapping[str, Any]]) -> None:
    """Write many records' links in one statement (INSERT ... ON CONFLICT on the source key): each `values`
    holds every column of its link. A unique violation on the destination key raises IntegrityError."""
    KeyLink.objects.bulk_create(
        [KeyLink(entity_map=entity_map, **row) for row in values], update_conflicts=True,
        unique_fields=["entity_map", "source_key"],
        update_fields=[name for name in values[0] if name != "source_key"] if values else None)


def source_hashes(*, entity_map: EntityMap, source_keys: Collection[str]) -> dict[str, str]:
    """Source key -> the hash of the source record as last synced, for live links among `source_keys`."""
    return dict(KeyLink.objects.filter(entity_map=entity_map, source_key__in=list(source_keys),
                                       source_deleted_at__isnull=True).values_list("source_key", "source_hash"))


def linked_by_source_ids(*, entity_map: EntityMap, source_ids: Collection[str]) -> list[tuple[str, str]]:
    """(source key, source id) of the links of these source ids: records deleted at the source."""
    return list(KeyLink.objects.filter(entity_map=entity_map, source_id__in=list(source_ids)).values_list(
        "source_key", "source_id"))


def live_links(*, entity_map: EntityMap) -> Iterator[tuple[str, str]]:
    """(source key, source id) of every live link, streamed: after a full scan, those not seen were deleted."""
    return KeyLink.objects.filter(entity_map=entity_map, source_deleted_at__isnull=True).values_list(
        "source_key", "source_id").iterator()


def written_by_destination(*, entity_map: EntityMap, destination_keys: Collection[str]) -> dict[str, dict]:
    """Destination key -> the record as read back after p2c wrote it, for these destination records (two-way
    flows), in one query."""
    if not destination_keys:
        return {}
    return dict(KeyLink.objects.filter(entity_map=entity_map, destination_key__in=list(destination_keys)).exclude(
        written={}).values_list("destination_key", "written"))


def destination_keys(*, entity_map: EntityMap) -> dict[str, str]:
    """Source key -> destination key of every link of the map."""
    return dict(KeyLink.objects.filter(entity_map=entity_map).values_list("source_key", "destination_key"))


# --- lookups through other entity maps' links ------------------------------------------------------------------
def lookup_targets(*, map_ids: Sequence[int], match: str, values: Iterable[str]) -> dict[tuple[int, str], KeyLink]:
    """(entity map id, value) -> the live link of that map whose `match` field holds the value, for many values
    in one query (a batch's parents); ids are compared in lowercase, as the links store them."""
    field = MATCH_FIELDS[match]
    wanted = {value.lower() if match in ("source_id", "destination_id") else value for value in values}
    if not wanted:
        return {}
    return {(link.entity_map_id, getattr(link, field)): link for link in KeyLink.objects.filter(
        entity_map_id__in=list(map_ids), source_deleted_at__isnull=True, **{f"{field}__in": list(wanted)}).only(
        *_TARGET_FIELDS)}
