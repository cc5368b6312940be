"""Equality filters answered from a table's indexes instead of a scan of a company's rows.

A connector that looks records up one at a time (`dataAreaId eq 'usmf' and ContactPersonId eq 'CP-1'`) would
otherwise cost a scan per lookup. When the filter's top level is a conjunction whose `Property eq literal`
terms cover the primary key, a unique index or a non-unique index of the table, the rows come from that index
and the whole filter is still applied to them, so the result is the scan's, row for row, in key order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from connectors.emulators.finops.schema import COMPANY
from connectors.emulators.finops.surface import EntitySet
from connectors.emulators.odata.lexer import Token, tokenize
from connectors.emulators.store import Table

_INDEXABLE = frozenset({"Edm.String", "Edm.Int32", "Edm.Int64"})


@dataclass(frozen=True)
class IndexRead:
    """Which index answers a filter, and with which values: `kind` is "primary", "unique" or "multi"."""

    kind: str
    index: str | None
    values: tuple


def equalities(entity_set: EntitySet, text: str) -> dict[str, object]:
    """Stored column -> value for each `Property eq literal` term of the filter's top-level conjunction; empty
    when the top level is not a conjunction (an `or` there) or no term is a plain equality."""
    tokens = tokenize(text)[:-1]
    terms: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.kind == "punct" and token.text in "()":
            depth += 1 if token.text == "(" else -1
        elif depth == 0 and token.kind == "name" and token.text == "or":
            return {}
        elif depth == 0 and token.kind == "name" and token.text == "and":
            terms.append([])
            continue
        terms[-1].append(token)
    found: dict[str, object] = {}
    for term in terms:
        equality = _equality(entity_set, term)
        if equality is not None:
            found.setdefault(*equality)
    return found


def _equality(entity_set: EntitySet, term: list[Token]) -> tuple[str, object] | None:
    if len(term) != 3 or term[1].kind != "name" or term[1].text != "eq":
        return None
    name, literal = (term[0], term[2]) if term[0].kind == "name" else (term[2], term[0])
    edm = entity_set.properties.get(name.text) if name.kind == "name" else None
    if edm not in _INDEXABLE or literal.edm_type not in _INDEXABLE or (edm == "Edm.String") != (
            literal.edm_type == "Edm.String"):
        return None
    if isinstance(literal.value, str) and "*" in literal.value:  # F&O's wildcard: a pattern, not a value
        return None
    return entity_set.columns[name.text], literal.value


def plan(entity_set: EntitySet, text: str, company: str | None) -> IndexRead | None:
    """The index read that answers the filter (within `company`, when given), or None: then scan."""
    known = equalities(entity_set, text)
    if company is not None and entity_set.per_company:
        known.setdefault(COMPANY, company)
    if not known:
        return None
    table = entity_set.table
    candidates = [("primary", None, table.key), *(("unique", name, fields) for name, fields in table.unique.items()),
                  *(("multi", name, fields) for name, fields in table.multi.items())]
    for kind, index, fields in candidates:
        if all(field in known for field in fields):
            return IndexRead(kind, index, tuple(known[field] for field in fields))
    return None


def read(table: Table, index_read: IndexRead) -> list[Mapping[str, object]]:
    """The rows the index holds for the values, in key order."""
    if index_read.kind == "multi":
        return table.find_all(index_read.index, index_read.values)
    row = table.get(index_read.values) if index_read.kind == "primary" else table.find(index_read.index,
                                                                                         index_read.values)
    return [] if row is None else [row]
