"""Stored rows as F&O renders them: `@odata.etag` first, then every property of the entity in the metadata's
order; a property the row does not hold renders as its empty X++ value."""

from __future__ import annotations

import base64
from collections.abc import Mapping

from connectors.emulators.finops.surface import EntitySet


def etag(row: Mapping[str, object]) -> str:
    """F&O's weak ETag: base64 of the quoted "recversion,recid" pair; the row version changes on every write."""
    token = base64.b64encode(f"'0,{row['_version']}'".encode()).decode()
    return f'W/"{token}"'


def entity(entity_set: EntitySet, row: Mapping[str, object], select: list[str] | None = None) -> dict[str, object]:
    out: dict[str, object] = {"@odata.etag": etag(row)}
    get = row.get
    if select is None:
        for name, column, empty in entity_set.layout:
            out[name] = get(column, empty)
    else:
        wanted = set(select)
        for name, column, empty in entity_set.layout:
            if name in wanted:
                out[name] = get(column, empty)
    return out


def context_url(api_url: str, entity_set: EntitySet, select: list[str] | None, expand: list[str] | None = None,
                *, single: bool = False) -> str:
    """`…/$metadata#CustomersV3(Name,…)` for a projection; `/$entity` for one entity."""
    items = [name for name in entity_set.properties if name in select] if select else []
    items += [f"{name}()" for name in expand or ()]
    suffix = f"({','.join(items)})" if items else ""
    return f"{api_url}$metadata#{entity_set.name}{suffix}{'/$entity' if single else ''}"
