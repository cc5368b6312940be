"""Equality filters answered from a table's indexes instead of a scan of a company's rows.

A connector that looks records up one at a time (`dataAreaId eq 'usmf' and ContactPersonId eq 'CP-1'`), or a
batch's worth at once (`dataAreaId eq 'usmf' and (ContactPersonId eq 'CP-1' or ContactPersonId eq 'CP-2')`), would
otherwise cost a scan per lookup. When the filter's top level is a conjunction whose `Property eq literal` terms,
with each branch of at most one parenthesized disjunction of such equalities, cover the primary key, a unique index
or a non-unique index of the table, the rows come from that index (one read per branch) and the whole filter is
still applied to them, so the result is the scan's, row for row, in key order.
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
    """Which index answers a filter, and with which values, a tuple of them per branch of the filter's
    disjunction (one when it has none): `kind` is "primary", "unique" or "multi"."""

    kind: str
    index: str | None
    values: tuple[tuple, ...]


def alternatives(entity_set: EntitySet, text: str) -> list[dict[str, object]]:
    """The filter's equalities as alternatives, stored column -> value, one of which every matching row satisfies:
    one for a conjunction, one per branch when a term of it is a parenthesized disjunction whose every branch is a
    conjunction of equalities (the other terms joined to each). Empty when nothing can be read from an index: an
    `or` at the top level, no equality."""
    terms = _split(tokenize(text)[:-1], "and", refuse="or")
    if terms is None:
        return []
    common: dict[str, object] = {}
    branches: list[dict[str, object]] | None = None
    for term in terms:
        equality = _equality(entity_set, term)
        if equality is not None:
            common.setdefault(*equality)
        elif branches is None and (inner := _parenthesized(term)) is not None:
            parsed = [_conjunction(entity_set, branch) for branch in _split(inner, "or") or []]
            if parsed and all(branch is not None for branch in parsed):
                branches = parsed
    if branches is None:
        return [common] if common else []
    joined = []
    for branch in branches:
        if all(common.get(column, value) == value for column, value in branch.items()):  # else it matches nothing
            joined.append({**common, **branch})
    return joined


def _split(tokens: list[Token], word: str, *, refuse: str = "") -> list[list[Token]] | None:
    """The tokens split at `word` where no parenthesis is open; None when `refuse` stands there too."""
    parts: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.kind == "punct" and token.text in "()":
            depth += 1 if token.text == "(" else -1
        elif depth == 0 and token.kind == "name" and token.text == refuse:
            return None
        elif depth == 0 and token.kind == "name" and token.text == word:
            parts.append([])
            continue
        parts[-1].append(token)
    return parts


def _parenthesized(term: list[Token]) -> list[Token] | None:
    """What a term wholly wrapped in one pair of parentheses holds, else None."""
    if len(term) < 2 or term[0].text != "(" or term[-1].text != ")" or term[0].kind != "punct":
        return None
    depth = 0
    for position, token in enumerate(term):
        if token.kind == "punct" and token.text in "()":
            depth += 1 if token.text == "(" else -1
            if depth == 0 and position != len(term) - 1:
                return None  # `(a) and (b)`: the first pair closes early
    return term[1:-1]


def _conjunction(entity_set: EntitySet, tokens: list[Token]) -> dict[str, object] | None:
    """A branch that is only equalities joined by `and` (in parentheses or not), as column -> value; else None."""
    inner = _parenthesized(tokens)
    terms = _split(inner if inner is not None else tokens, "and", refuse="or")
    found: dict[str, object] = {}
    for term in terms or []:
        equality = _equality(entity_set, term)
        if equality is None:
            return None
        found.setdefault(*equality)
    return found or None


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
    branches = alternatives(entity_set, text)
    if company is not None and entity_set.per_company:
        branches = [{**branch, COMPANY: branch.get(COMPANY, company)} for branch in branches or [{}]]
    if not branches:
        return None
    table = entity_set.table
    candidates = [("primary", None, table.key), *(("unique", name, fields) for name, fields in table.unique.items()),
                  *(("multi", name, fields) for name, fields in table.multi.items())]
    for kind, index, fields in candidates:
        if all(field in branch for branch in branches for field in fields):
            return IndexRead(kind, index, tuple(tuple(branch[field] for field in fields) for branch in branches))
    return None


def read(table: Table, index_read: IndexRead) -> list[Mapping[str, object]]:
    """The rows the index holds for the values of every branch, once each, in key order."""
    rows: dict[int, dict] = {}
    for values in index_read.values:
        if index_read.kind == "multi":
            found = table.find_all(index_read.index, values)
        else:
            row = table.get(values) if index_read.kind == "primary" else table.find(index_read.index, values)
            found = [] if row is None else [row]
        for row in found:
            rows.setdefault(id(row), row)
    return table.in_key_order(rows.values()) if len(index_read.values) > 1 else list(rows.values())
