"""Pure mapping: a source record and an entity map's definition in, the destination payload out.

Nothing here does I/O. Links to other entity maps and reference data come through a `Resolver` the caller
supplies, so every rule can be tested exhaustively and fast, and a failure is a `MappingError` that names the
record, the destination field and the reason.
"""

from __future__ import annotations

import ast
import enum
import hashlib
import json
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol

from integration.conversions import CONVERSIONS, as_bool, blank, convert, fold, text


class _Missing(enum.Enum):
    NO_DEFAULT = "NO_DEFAULT"


NO_DEFAULT = _Missing.NO_DEFAULT  # a value map without a default: an unmapped value is an error

TRANSFORMS = ("copy", "constant", "value_map", "lookup", "reference", "legal_entity", "format", "convert", "per_unit")
PER_UNIT_PARTS = ("unit", "rounding")
CONDITION_OPS = ("eq", "ne", "in", "not_in", "blank", "not_blank", "true", "false")
LOOKUP_MATCHES = ("source_id", "source_key", "destination_id")
WHEN_MISSING = ("wait", "skip")
_VERSION_FIELDS = frozenset({"versionnumber", "etag", "rowversion"})


def error_text(field: str, reason: str) -> str:
    """How a record's failure reads wherever it is shown: the field it is about, once, then why."""
    return f"{field}: {reason}" if field else reason


class MappingError(Exception):
    """A record that cannot be mapped as it is: fixing the source data (or the map) is the way out."""

    def __init__(self, record_key: str, field: str, reason: str):
        super().__init__(f"{record_key}: {error_text(field, reason)}")
        self.record_key = record_key
        self.field = field
        self.reason = reason

    def __reduce__(self):  # exceptions cross process boundaries (Celery results); keep them picklable
        return (self.__class__, (self.record_key, self.field, self.reason))


class MissingLink(MappingError):
    """A lookup's target record is not linked (yet): "wait" retries later, "skip" leaves the record out."""

    def __init__(self, record_key: str, field: str, entity_maps: Sequence[str], value: str, when_missing: str):
        names = " or ".join(entity_maps)
        super().__init__(record_key, field, f"{value} is not linked in {names} yet")
        self.entity_maps = tuple(entity_maps)
        self.value = value
        self.when_missing = when_missing

    def __reduce__(self):
        return (self.__class__, (self.record_key, self.field, self.entity_maps, self.value, self.when_missing))


@dataclass(frozen=True)
class Condition:
    """An eligibility rule on a source field; string comparisons ignore case, as OData string filters do."""

    field: str
    op: str
    value: object = None

    def __post_init__(self):
        if self.op not in CONDITION_OPS:
            raise ValueError(f"condition on {self.field}: unknown op {self.op!r}")
        if self.op in ("in", "not_in"):
            if not isinstance(self.value, list | tuple):
                raise ValueError(f"condition on {self.field}: {self.op} needs a list of values")
            object.__setattr__(self, "value", tuple(self.value))


@dataclass(frozen=True)
class FieldRule:
    """One destination field: its source, the transforms it goes through in order, and the checks after them."""

    destination: str
    source: str = ""
    transforms: tuple[str, ...] = ()
    options: Mapping[str, Mapping] = field(default_factory=dict)
    default: object = None
    max_length: int | None = None
    required: bool = False
    value_map: Mapping[str, object] = field(default_factory=dict)
    value_map_default: object = NO_DEFAULT
    omit_blank: bool = False  # a blank value is left out of the payload instead of sent as null

    def __post_init__(self):
        object.__setattr__(self, "transforms", tuple(self.transforms))
        object.__setattr__(self, "value_map", {str(k): v for k, v in self.value_map.items()})
        for name in self.transforms:
            if name not in TRANSFORMS:
                raise ValueError(f"{self.destination}: unknown transform {name!r}")
        for name in self.options:
            if name not in self.transforms:
                raise ValueError(f"{self.destination}: options for {name!r}, which is not among its transforms")
        for name in ("constant", "lookup", "reference", "format", "convert", "per_unit"):
            if name in self.transforms:
                _check_options(self.destination, name, self.options.get(name, {}))
        if "value_map" in self.transforms and not self.value_map and self.value_map_default is NO_DEFAULT:
            raise ValueError(f"{self.destination}: a value map needs entries or a default")
        if self.max_length is not None and self.max_length < 1:
            raise ValueError(f"{self.destination}: max_length must be positive")


def _check_options(destination: str, name: str, options: Mapping) -> None:
    """Reject a malformed definition when it is built, not when the first record meets it."""
    needed = {"constant": ("value",), "lookup": ("entity_maps",), "format": ("template",), "convert": ("to",),
              "reference": ("system", "entity_set", "match_field", "return_field"),
              "per_unit": ("quantity_field", "part")}[name]
    missing = [key for key in needed if key not in options]
    if missing:
        raise ValueError(f"{destination}: {name} needs {', '.join(missing)}")
    if name == "lookup":
        returns = options.get("return", "destination_id")
        if (options.get("match", "source_id") not in LOOKUP_MATCHES
                or options.get("when_missing", "wait") not in WHEN_MISSING or not options["entity_maps"]
                or not (returns in ("source_key", "destination_id")
                        or returns.startswith(("destination_key.", "attributes.")))):
            raise ValueError(f"{destination}: invalid lookup options {dict(options)!r}")
    elif name == "reference":
        if options["system"] not in ("source", "destination"):
            raise ValueError(f"{destination}: reference system must be 'source' or 'destination'")
        for field_name, condition in options.get("where", {}).items():
            if isinstance(condition, Mapping) and not {"entity_set", "match_field", "value",
                                                        "return_field"} <= set(condition):
                raise ValueError(f"{destination}: reference where {field_name} needs a value, or entity_set, "
                                 "match_field, value and return_field to look it up")
    elif name == "per_unit" and (options["part"] not in PER_UNIT_PARTS
                                 or not isinstance(options.get("places", 2), int)):
        raise ValueError(f"{destination}: per_unit part must be one of {', '.join(PER_UNIT_PARTS)}")
    elif name == "convert" and options["to"] not in CONVERSIONS:
        raise ValueError(f"{destination}: unknown conversion {options['to']!r}")
    elif name == "format" and not all(part.isidentifier() for part in _template_fields(options["template"])):
        raise ValueError(f"{destination}: format template fields must be plain field names")


@dataclass(frozen=True)
class MapDefinition:
    name: str
    source_key_fields: tuple[str, ...]
    source_id_field: str
    destination_key_fields: tuple[str, ...]
    fields: tuple[FieldRule, ...]
    conditions: tuple[Condition, ...] = ()

    def __post_init__(self):
        for name in ("source_key_fields", "destination_key_fields", "fields", "conditions"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.source_key_fields or not self.destination_key_fields:
            raise ValueError(f"{self.name}: source and destination key fields are required")
        destinations = [rule.destination for rule in self.fields]
        if len(set(destinations)) != len(destinations):
            raise ValueError(f"{self.name}: a destination field is mapped twice")


@dataclass(frozen=True)
class MappedRecord:
    payload: dict[str, object]
    destination_key: dict[str, object]


@dataclass(frozen=True)
class LinkTarget:
    """What a link offers to a lookup: the keys on both sides and the destination values kept with it."""

    source_key: str
    destination_key: Mapping[str, object]
    destination_id: str
    attributes: Mapping[str, object]


class Resolver(Protocol):
    def link(self, entity_maps: Sequence[str], match: str, value: str) -> LinkTarget | None: ...

    def reference(self, system: str, entity_set: str, match_field: str, value: object,
                  return_field: str, where: Mapping[str, object]) -> object | None: ...

    def legal_entity(self, business_unit: str | None) -> str | None: ...


class _Reject(Exception):
    """A transform's failure before the record key and field are known; map_record turns it into MappingError."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Unlinked(Exception):
    def __init__(self, entity_maps: tuple[str, ...], value: str, when_missing: str):
        super().__init__(value)
        self.entity_maps, self.value, self.when_missing = entity_maps, value, when_missing


def _template_fields(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name is not None)


# --- transforms ------------------------------------------------------------------------------------------------

def _copy(value, rule, record, resolver):
    return record.get(rule.source) if rule.source else value


def _constant(value, rule, record, resolver):
    return rule.options["constant"]["value"]


def _value_map(value, rule, record, resolver):
    key = "" if blank(value) else text(value).strip()
    if key in rule.value_map:
        return rule.value_map[key]
    folded = key.casefold()
    for candidate, mapped in rule.value_map.items():
        if candidate.casefold() == folded:
            return mapped
    if key == "":  # blank means something only when the map says what
        return None
    if rule.value_map_default is not NO_DEFAULT:
        return rule.value_map_default
    raise _Reject(f"{_UNMAPPED}{key!r}")


_UNMAPPED = "no value map entry for "


def unmapped_value(reason: str) -> str | None:
    """The value a value map had no entry for, from a failure's reason (None for any other failure)."""
    if not reason.startswith(_UNMAPPED):
        return None
    try:
        value = ast.literal_eval(reason[len(_UNMAPPED):])
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


def _lookup(value, rule, record, resolver):
    if blank(value):
        return None
    options = rule.options["lookup"]
    entity_maps = tuple(options["entity_maps"])
    target = resolver.link(entity_maps, options.get("match", "source_id"), text(value))
    if target is None:
        raise _Unlinked(entity_maps, text(value), options.get("when_missing", "wait"))
    returns = options.get("return", "destination_id")
    if returns == "source_key":
        result = target.source_key
    elif returns == "destination_id":
        result = target.destination_id
    else:
        part, name = returns.split(".", 1)
        result = (target.destination_key if part == "destination_key" else target.attributes).get(name)
    if blank(result):
        raise _Reject(f"the linked record {target.source_key} has no {returns}")
    return result


def _reference(value, rule, record, resolver):
    if blank(value):
        return None
    options = rule.options["reference"]
    where = {name: _where_value(condition, options["system"], resolver)
             for name, condition in options.get("where", {}).items()}
    result = resolver.reference(options["system"], options["entity_set"], options["match_field"], value,
                                options["return_field"], where)
    if blank(result):
        within = "".join(f" and {name} {text(v)!r}" for name, v in where.items())
        raise _Reject(f"no {options['entity_set']} record with {options['match_field']} {text(value)!r}{within}")
    return result


def _where_value(condition: object, system: str, resolver: Resolver) -> object:
    """A reference's scope: a constant, or the field of another reference record (a unit group by its name)."""
    if not isinstance(condition, Mapping):
        return condition
    found = resolver.reference(system, condition["entity_set"], condition["match_field"], condition["value"],
                               condition["return_field"], {})
    if blank(found):
        raise _Reject(f"no {condition['entity_set']} record with {condition['match_field']} "
                      f"{text(condition['value'])!r}")
    return found


def _legal_entity(value, rule, record, resolver):
    business_unit = None if blank(value) else text(value)
    legal_entity = resolver.legal_entity(business_unit)
    if blank(legal_entity):
        raise _Reject(f"no organization mapping for business unit {business_unit or '(blank)'}")
    return legal_entity


def _format(value, rule, record, resolver):
    template = rule.options["format"]["template"]
    names = _template_fields(template)
    if "value" in names and blank(value):
        return None
    values = {name: value if name == "value" else record.get(name) for name in names}
    return template.format_map({name: "" if blank(v) else v for name, v in values.items()}).strip()


def _convert(value, rule, record, resolver):
    options = rule.options["convert"]
    if blank(value):
        return None
    try:
        return convert(value, options["to"], places=options.get("places"))
    except (ValueError, TypeError, ArithmeticError):
        raise _Reject(f"cannot convert {value!r} to {options['to']}") from None


def _per_unit(value, rule, record, resolver):
    """A line amount (a discount for the whole line) spread over the line's quantity, as F&O applies it per unit.

    Rounding the unit amount loses cents (10.00 over 3 is 3.33, which makes 9.99), so Microsoft's sales order
    template books the difference as a charge on the line: part "unit" is the rounded unit amount, part
    "rounding" that charge (9.99 - 10.00 = -0.01), and together they give back the line amount exactly."""
    options = rule.options["per_unit"]
    total = Decimal(0) if blank(value) else _decimal(value)
    quantity_value = record.get(options["quantity_field"])
    quantity = Decimal(0) if blank(quantity_value) else _decimal(quantity_value)
    places = Decimal(1).scaleb(-int(options.get("places", 2)))
    if quantity == 0:
        if total == 0:
            return 0.0
        raise _Reject(f"{text(value)} cannot be spread over a quantity of {text(quantity_value)}")
    unit = (total / quantity).quantize(places, rounding=ROUND_HALF_EVEN)
    if options["part"] == "unit":
        return float(unit)
    return float((unit * quantity - total).quantize(places, rounding=ROUND_HALF_EVEN))


def _decimal(value: object) -> Decimal:
    try:
        number = Decimal(text(value).strip())
    except ArithmeticError:
        raise _Reject(f"{value!r} is not a number") from None
    if isinstance(value, bool) or not number.is_finite():
        raise _Reject(f"{value!r} is not a number")
    return number


_TRANSFORM_FUNCTIONS = {"copy": _copy, "constant": _constant, "value_map": _value_map, "lookup": _lookup,
                        "reference": _reference, "legal_entity": _legal_entity, "format": _format,
                        "convert": _convert, "per_unit": _per_unit}


# --- records ---------------------------------------------------------------------------------------------------

def _field_value(rule: FieldRule, record: Mapping, resolver: Resolver) -> object:
    value = record.get(rule.source) if rule.source else None
    for name in rule.transforms:
        value = _TRANSFORM_FUNCTIONS[name](value, rule, record, resolver)
    if blank(value):
        value = rule.default
    if isinstance(value, str) and rule.max_length is not None:
        value = value[:rule.max_length]
    if rule.required and blank(value):
        raise _Reject("is required but blank")
    return value


def source_id(definition: MapDefinition, record: Mapping) -> str:
    """The source's primary id, which other maps' lookups match on; empty when the map has none."""
    value = record.get(definition.source_id_field) if definition.source_id_field else None
    return "" if blank(value) else text(value)


def source_key(definition: MapDefinition, record: Mapping) -> str:
    """One field: its value as text; several: a JSON list of their texts, so distinct keys never collide."""
    values = []
    for name in definition.source_key_fields:
        value = record.get(name)
        if blank(value):
            raise MappingError(source_id(definition, record) or "(no key)", name, "is part of the key but blank")
        values.append(text(value))
    if len(values) == 1:
        return values[0]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def _condition_failure(condition: Condition, value: object) -> str | None:
    name, op, expected = condition.field, condition.op, condition.value
    if op in ("eq", "ne"):
        equal = fold(value) == fold(expected)
        if equal != (op == "eq"):
            return f"{name} is {value!r}, not {expected!r}" if op == "eq" else f"{name} is {expected!r}"
    elif op in ("in", "not_in"):
        inside = fold(value) in {fold(item) for item in expected}
        if inside != (op == "in"):
            return f"{name} is {value!r}, not one of {list(expected)!r}" if op == "in" else f"{name} is {value!r}"
    elif op in ("blank", "not_blank"):
        if blank(value) != (op == "blank"):
            return f"{name} is {'not ' if op == 'blank' else ''}blank"
    else:
        # A blank flag counts as false: Dataverse two-option columns added by a solution are null on old rows.
        try:
            truth = False if blank(value) else as_bool(value)
        except ValueError:
            truth = None
        if truth is not (op == "true"):
            return f"{name} is {value!r}, not {op}"
    return None


def ineligibility(definition: MapDefinition, record: Mapping) -> str | None:
    """None when every condition holds; else why the record is not for this map (it is left out, not failed)."""
    for condition in definition.conditions:
        reason = _condition_failure(condition, record.get(condition.field))
        if reason:
            return reason
    return None


def map_record(definition: MapDefinition, record: Mapping, resolver: Resolver) -> MappedRecord:
    """The destination payload and key; fields are mapped in order, so the first missing link decides."""
    key = source_key(definition, record)
    payload: dict[str, object] = {}
    for rule in definition.fields:
        try:
            value = _field_value(rule, record, resolver)
        except _Unlinked as missing:
            raise MissingLink(key, rule.destination, missing.entity_maps, missing.value,
                              missing.when_missing) from None
        except _Reject as rejected:
            raise MappingError(key, rule.destination, rejected.reason) from None
        if blank(value) and (rule.omit_blank or rule.destination.endswith("@odata.bind")):
            # Left out, the destination keeps (or defaults) the value: Dataverse rejects a null bind, and F&O a
            # null for a property its metadata declares Nullable="false".
            continue
        payload[rule.destination] = value
    destination_key = {}
    for name in definition.destination_key_fields:
        if blank(payload.get(name)):
            raise MappingError(key, name, "is part of the destination key but blank")
        destination_key[name] = payload[name]
    return MappedRecord(payload, destination_key)


def source_fields(definition: MapDefinition) -> tuple[str, ...]:
    """Every source field the definition reads, in first-use order: what to `$select`."""
    names = [*definition.source_key_fields, definition.source_id_field]
    names += [condition.field for condition in definition.conditions]
    for rule in definition.fields:
        names.append(rule.source)
        if "format" in rule.transforms:
            names += [n for n in _template_fields(rule.options["format"]["template"]) if n != "value"]
        if "per_unit" in rule.transforms:
            names.append(rule.options["per_unit"]["quantity_field"])
    return tuple(dict.fromkeys(name for name in names if name))


# --- keys and hashes -------------------------------------------------------------------------------------------

def _canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def destination_key_text(key: Mapping) -> str:
    """One field: its value as text; several: a JSON object of texts with sorted names."""
    if len(key) == 1:
        return text(next(iter(key.values())))
    return _canonical_json({name: text(value) for name, value in key.items()})


def payload_hash(payload: Mapping) -> str:
    return hashlib.sha256(_canonical_json(payload).encode()).hexdigest()


def record_hash(record: Mapping) -> str:
    """A hash of the data alone: annotations and row versions change without the data changing."""
    data = {name: value for name, value in record.items()
            if "@" not in name and name.casefold() not in _VERSION_FIELDS}
    return payload_hash(data)
