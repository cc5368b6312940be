"""The closures a type-checked `$filter` compiles to: built once per request, then called once per stored row.

The common shape `Property op literal` gets its own closure (one dict lookup, one comparison); everything else
goes through per-operand getters. Null follows OData: `eq null` holds only for null, `ne` holds when exactly
one side is null, and an ordering comparison or string function with a null operand is false. A null Boolean
property is the one null truth value: `and`, `or` and `not` over it use three-valued logic, and a row whose
filter ends up null is left out.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal

from connectors.emulators.odata.values import family, normalizer

Row = Mapping[str, object]
Predicate = Callable[[Row], bool]

BOOLEAN = "Edm.Boolean"
NULL = "null"
OPERATORS = {"eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "ge": operator.ge, "lt": operator.lt,
             "le": operator.le}
_FLIPPED = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}
STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "contains": lambda text, part: part in text, "startswith": str.startswith, "endswith": str.endswith
}


@dataclass(frozen=True, slots=True)
class Operand:
    """A parsed sub-expression: a property, a literal (already in comparable form) or a boolean predicate."""

    edm_type: str
    pos: int
    prop: str | None = None
    value: object = None
    fn: Predicate | None = None
    nullable: bool = False  # `fn` may return None: it reads a Boolean property that may be null

    @property
    def is_literal(self) -> bool:
        return self.prop is None and self.fn is None

    @property
    def three_valued(self) -> bool:
        return self.nullable or (self.prop is not None and self.edm_type == BOOLEAN)


def enum_name(edm_type: str) -> str | None:
    """The short enum type name in "Enum:NoYes" (or "Enum:Microsoft.Dynamics.DataEntities.NoYes"), else None."""
    if not edm_type.startswith("Enum:"):
        return None
    return edm_type.rpartition(".")[2].removeprefix("Enum:")


def promoted(literal: Operand, edm_type: str) -> Operand:
    """A Date literal compared with a DateTimeOffset means midnight UTC of that day."""
    if literal.is_literal and literal.edm_type == "Edm.Date" and edm_type != NULL and family(edm_type) == "datetime":
        day: date = literal.value
        return replace(literal, edm_type=edm_type, value=datetime(day.year, day.month, day.day, tzinfo=UTC))
    return literal


def as_predicate(operand: Operand) -> Predicate:
    """A boolean operand as a row test; a null boolean property is not true, so its row is left out."""
    if operand.prop is not None:
        name = operand.prop
        return lambda row: row.get(name) is True
    if operand.is_literal:
        result = operand.value is True
        return lambda row: result
    if operand.nullable:
        fn = operand.fn
        return lambda row: fn(row) is True
    return operand.fn


def negate(operand: Operand, pos: int) -> Operand:
    if operand.is_literal:
        return Operand(BOOLEAN, pos, value=operand.value is False)
    if not operand.three_valued:
        inner = operand.fn
        return Operand(BOOLEAN, pos, fn=lambda row: not inner(row))
    get = _getter(operand)
    return Operand(BOOLEAN, pos, fn=lambda row: None if (v := get(row)) is None else not v, nullable=True)


def logical(op: str, left: Operand, right: Operand, pos: int) -> Operand:
    if not (left.three_valued or right.three_valued):
        a, b = as_predicate(left), as_predicate(right)
        if op == "and":
            return Operand(BOOLEAN, pos, fn=lambda row: a(row) and b(row))
        return Operand(BOOLEAN, pos, fn=lambda row: a(row) or b(row))
    get_a, get_b, decisive = _getter(left), _getter(right), op == "or"  # true decides an `or`, false an `and`

    def kleene(row: Row) -> bool | None:
        a = get_a(row)
        if a is decisive:
            return decisive
        b = get_b(row)
        if b is decisive:
            return decisive
        return None if a is None or b is None else not decisive

    return Operand(BOOLEAN, pos, fn=kleene, nullable=True)


def compare(op: str, left: Operand, right: Operand, pos: int, *, wildcard: bool) -> Operand:
    """`left op right`, already type-checked; `wildcard` makes `*` in a string literal match any run (F&O)."""
    if left.is_literal and not right.is_literal:
        left, right, op = right, left, _FLIPPED[op]
    left, right = promoted(left, right.edm_type), promoted(right, left.edm_type)
    if left.is_literal:  # two literals: decide now
        return Operand(BOOLEAN, pos, value=_null_aware(op, left.value, right.value))
    if right.edm_type == NULL:
        if op not in ("eq", "ne"):
            return Operand(BOOLEAN, pos, value=False)
        get, want_null = _getter(left), op == "eq"
        return Operand(BOOLEAN, pos, fn=lambda row: (get(row) is None) is want_null)
    if left.prop is not None and right.is_literal:
        return Operand(BOOLEAN, pos, fn=_property_vs_literal(op, left, right, wildcard))
    get_a, get_b = _getter(left), _getter(right)
    return Operand(BOOLEAN, pos, fn=lambda row: _null_aware(op, get_a(row), get_b(row)))


def string_test(function: str, subject: Operand, part: Operand, pos: int) -> Operand:
    """contains/startswith/endswith, case-insensitive; false when either side is null."""
    test = STRING_TESTS[function]
    if subject.prop is not None and part.is_literal:
        name, value = subject.prop, part.value
        if function == "contains":
            return Operand(BOOLEAN, pos, fn=lambda row: (v := row.get(name)) is not None and value in v.casefold())
        return Operand(BOOLEAN, pos, fn=lambda row: (v := row.get(name)) is not None and test(v.casefold(), value))
    get_a, get_b = _getter(subject), _getter(part)

    def generic(row: Row) -> bool:
        a, b = get_a(row), get_b(row)
        return a is not None and b is not None and test(a, b)

    return Operand(BOOLEAN, pos, fn=generic)


def membership(left: Operand, items: list[Operand], pos: int) -> Operand:
    """`left in (literal, ...)`: one set lookup per row; a null in the list matches a null value."""
    items = [promoted(item, left.edm_type) for item in items]
    wanted = frozenset(item.value for item in items if item.edm_type != NULL)
    with_null = any(item.edm_type == NULL for item in items)
    get = _getter(left)

    def member(row: Row) -> bool:
        value = get(row)
        return with_null if value is None else value in wanted

    return Operand(BOOLEAN, pos, fn=member)


def has_flag(left: Operand, flag: Operand, pos: int) -> Operand:
    """`Flags has Namespace.Enum'Member'`: a flags value is stored as its member names joined by commas."""
    get, wanted = _getter(left), flag.value

    def has(row: Row) -> bool:
        value = get(row)
        return value is not None and wanted in {part.strip() for part in value.split(",")}

    return Operand(BOOLEAN, pos, fn=has)


def _number_key(value: object) -> object:
    # A float read from JSON compares by its shortest decimal form, so 1.1 equals the literal 1.1m.
    return Decimal(repr(value)) if value.__class__ is float else value


def _getter(operand: Operand) -> Callable[[Row], object]:
    """What reads an operand's comparable value from a row (None for null)."""
    if operand.fn is not None:
        return operand.fn
    if operand.is_literal:
        value = operand.value
        return lambda row: value
    name = operand.prop
    norm = _number_key if family(operand.edm_type) == "number" else normalizer(operand.edm_type)
    if norm is None:
        return lambda row: row.get(name)
    return lambda row: None if (v := row.get(name)) is None else norm(v)


def _null_aware(op: str, a: object, b: object) -> bool:
    if a is None or b is None:
        if op == "eq":
            return a is None and b is None
        return op == "ne" and (a is None) != (b is None)
    return OPERATORS[op](a, b)


def _property_vs_literal(op: str, prop: Operand, literal: Operand, wildcard: bool) -> Predicate:
    """The common case, specialised: one dict lookup and one comparison per row."""
    name, value, test, if_null = prop.prop, literal.value, OPERATORS[op], op == "ne"
    kind = family(prop.edm_type)
    if kind == "string" and wildcard and op in ("eq", "ne") and "*" in value:
        return _wildcard(name, value, matches=op == "eq")
    if kind == "number":
        as_float = float(value)

        def number(row: Row) -> bool:
            v = row.get(name)
            if v is None:
                return if_null
            return test(v, as_float if v.__class__ is float else value)

        return number
    norm = normalizer(prop.edm_type)
    if norm is None:
        return lambda row: if_null if (v := row.get(name)) is None else test(v, value)
    return lambda row: if_null if (v := row.get(name)) is None else test(norm(v), value)


def _wildcard(name: str, pattern: str, *, matches: bool) -> Predicate:
    """F&O's `Field eq '*text*'`: `*` is any run of characters; anchored and case-insensitive."""
    fullmatch = re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL).fullmatch
    if matches:
        return lambda row: (v := row.get(name)) is not None and fullmatch(v.casefold()) is not None
    return lambda row: (v := row.get(name)) is None or fullmatch(v.casefold()) is None
