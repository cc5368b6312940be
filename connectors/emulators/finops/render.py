"""Stored rows as F&O renders them: `@odata.etag` first, then every property of the entity in the metadata's
order; a property the row does not hold renders as its empty X++ value."""

from __future__ import annotations

import base64
from collections.abc import Mapping

from connectors.emulators.finops.schema import NAMESPACE
from connectors.emulators.finops.surface import EntitySet


def etag(row: Mapping[str, object]) -> str:
    """F&O's weak ETag: base64 of the quoted "recversion,recid" pair; the row version changes on every write."""
    token = base64.b64encode(f"'0,{row['_version']}'".encode()).decode()
    return f'W/"{token}"'


def entity(entity_set: EntitySet, row: Mapping[str, object], select: list[str] | None = None, *,
           full: bool = False) -> dict[str, object]:
    """With `full` (`Accept: ...;odata.metadata=full`), the entity's type and each enum property's type are
    annotated, as F&O does (dynamics-apis 2.3): a JSON string does not say it is an enum member otherwise."""
    out: dict[str, object] = {"@odata.etag": etag(row)}
    if full:
        out["@odata.type"] = f"#{entity_set.qualified_type}"
    get = row.get
    wanted = None if select is None else set(select)
    for name, column, empty in entity_set.layout:
        if wanted is None or name in wanted:
            if full and name in entity_set.enum_types:
                out[f"{name}@odata.type"] = f"#{NAMESPACE}.{entity_set.enum_types[name]}"
            out[name] = get(column, empty)
    return out


def full_metadata(accept: str | None) -> bool:
    """Whether the client asked for full metadata (`Accept: application/json;odata.metadata=full`)."""
    return "odata.metadata=full" in (accept or "").replace(" ", "").lower()


def context_url(api_url: str, entity_set: EntitySet, select: list[str] | None, expand: list[str] | None = None,
                *, single: bool = False) -> str:
    """`…/$metadata#CustomersV3(Name,…)` for a projection; `/$entity` for one entity."""
    items = [name for name in entity_set.properties if name in select] if select else []
    items += [f"{name}()" for name in expand or ()]
    suffix = f"({','.join(items)})" if items else ""
    return f"{api_url}$metadata#{entity_set.name}{suffix}{'/$entity' if single else ''}"
