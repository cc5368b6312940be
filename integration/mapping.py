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
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol

from integration.conversions import CONVERSIONS, as_bool, blank, convert, fold, text


class _Missing(enum.Enum):
    NO_DEFAULT = "NO_DEFAULT"


NO_DEFAULT = _Missing.NO_DEFAULT  # a value map without a default: an unmapped value is an error

TRANSFORMS = ("copy", "constant", "value_map", "lookup", "reference", "legal_entity", "format", "convert", "per_unit",
              "derived_id")
PER_UNIT_PARTS = ("unit", "rounding", "line")
CONDITION_OPS = ("eq", "ne", "in", "not_in", "blank", "not_blank", "true", "false")
LOOKUP_MATCHES = ("source_id", "source_key", "destination_id", "destination_key")
LOOKUP_RETURNS = ("source_key", "source_id", "destination_id")
WHEN_MISSING = ("wait", "skip", "blank")
# The namespace of the ids `derived_id` makes: the same text gives the same GUID in every installation.
DERIVED_ID_NAMESPACE = uuid.UUID("6a1c7c0e-3b7e-5c4e-9f2d-70326320d1d5")
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
    """A lookup's target record is not linked (yet): "wait" retries later, "skip" leaves the record out ("blank",
    the third choice, never raises: the field is blank)."""

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
        for name in ("constant", "lookup", "reference", "format", "convert", "per_unit", "derived_id"):
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
              "per_unit": ("quantity_field", "part"), "derived_id": ("template",)}[name]
    missing = [key for key in needed if key not in options]
    if missing:
        raise ValueError(f"{destination}: {name} needs {', '.join(missing)}")
    if name == "lookup":
        returns = options.get("return", "destination_id")
        match = options.get("match", "source_id")
        key_fields = options.get("key_fields")
        if (match not in LOOKUP_MATCHES
                or options.get("when_missing", "wait") not in WHEN_MISSING or not options["entity_maps"]
                or not (returns in LOOKUP_RETURNS or returns.startswith(("destination_key.", "attributes.")))
                or (key_fields is not None and (match not in ("source_key", "destination_key")
                                                or not _key_field_pairs(key_fields)))
                or (match == "destination_key" and key_fields is None)):
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
                                 or not isinstance(options.get("places", 2), int)
                                 or (options["part"] == "line") != ("rounding_field" in options)):
        raise ValueError(f"{destination}: per_unit part must be one of {', '.join(PER_UNIT_PARTS)}, and part "
                         "line (only) names the rounding_field")
    elif name == "convert" and options["to"] not in CONVERSIONS:
        raise ValueError(f"{destination}: unknown conversion {options['to']!r}")
    elif name in ("format", "derived_id") and not all(part.isidentifier()
                                                      for part in _template_fields(options["template"])):
        raise ValueError(f"{destination}: {name} template fields must be plain field names")


def _key_field_pairs(key_fields: object) -> tuple[tuple[str, str], ...]:
    """A lookup's key_fields as (key field, record field) pairs: a list names fields both sides call alike, a
    mapping pairs the key's field names with the record's (a customer key's CustomerAccount is an order's
    OrderingCustomerAccountNumber). Empty when malformed."""
    if isinstance(key_fields, Mapping):
        pairs = tuple((str(name), field) for name, field in key_fields.items())
    elif isinstance(key_fields, list | tuple):
        pairs = tuple((field, field) for field in key_fields)
    else:
        return ()
    return pairs if pairs and all(isinstance(field, str) and field for _, field in pairs) else ()


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
    source_id: str = ""


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
    options = rule.options["lookup"]
    if "key_fields" in options:
        value = lookup_value(options, record)
    if blank(value):
        return None
    entity_maps = tuple(options["entity_maps"])
    target = resolver.link(entity_maps, options.get("match", "source_id"), text(value))
    if target is None:
        if options.get("when_missing", "wait") == "blank":
            return None
        raise _Unlinked(entity_maps, text(value), options.get("when_missing", "wait"))
    returns = options.get("return", "destination_id")
    if returns in LOOKUP_RETURNS:
        result = getattr(target, returns)
    else:
        part, name = returns.split(".", 1)
        result = (target.destination_key if part == "destination_key" else target.attributes).get(name)
    if blank(result):
        raise _Reject(f"the linked record {target.source_key} has no {returns}")
    return result


def lookup_value(options: Mapping, record: Mapping) -> str | None:
    """What a lookup with key_fields matches: the record's values of those fields, spelled as the other map's
    links spell the key (`source_key` or `destination_key_text`); None when one of them is blank."""
    pairs = _key_field_pairs(options["key_fields"])
    values = {name: record.get(field) for name, field in pairs}
    if any(blank(value) for value in values.values()):
        return None
    if options.get("match") == "destination_key":
        return destination_key_text(values)
    texts = [text(value) for value in values.values()]
    return texts[0] if len(texts) == 1 else json.dumps(texts, ensure_ascii=False, separators=(",", ":"))


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
    "rounding" that charge (9.99 - 10.00 = -0.01), and together they give back the line amount exactly. Part
    "line" goes the other way (F&O to Sales): the unit amount times the quantity less the rounding charge in
    `rounding_field` (3 x 3.33 + 0.01 = 10.00)."""
    options = rule.options["per_unit"]
    total = Decimal(0) if blank(value) else _decimal(value)
    quantity_value = record.get(options["quantity_field"])
    quantity = Decimal(0) if blank(quantity_value) else _decimal(quantity_value)
    places = Decimal(1).scaleb(-int(options.get("places", 2)))
    if options["part"] == "line":
        charge_value = record.get(options["rounding_field"])
        charge = Decimal(0) if blank(charge_value) else _decimal(charge_value)
        return float((total * quantity - charge).quantize(places, rounding=ROUND_HALF_EVEN))
    if quantity == 0:
        if total == 0:
            return 0.0
        raise _Reject(f"{text(value)} cannot be spread over a quantity of {text(quantity_value)}")
    unit = (total / quantity).quantize(places, rounding=ROUND_HALF_EVEN)
    if options["part"] == "unit":
        return float(unit)
    return float((unit * quantity - total).quantize(places, rounding=ROUND_HALF_EVEN))


def _derived_id(value, rule, record, resolver):
    """The id of a record p2c creates in Sales from one that has no GUID (an F&O order line): a name-based GUID
    (UUID 5) of the template filled from the record, the same at every run, so an upsert by primary key finds the
    record it created. A value an earlier transform found (a lookup of the Sales record's own id) is kept."""
    if not blank(value):
        return value
    template = rule.options["derived_id"]["template"]
    names = _template_fields(template)
    empty = [name for name in names if blank(record.get(name))]
    if empty:
        raise _Reject(f"cannot derive an id: {', '.join(empty)} is blank")
    return str(uuid.uuid5(DERIVED_ID_NAMESPACE, template.format_map({name: text(record.get(name))
                                                                       for name in names})))


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
                        "convert": _convert, "per_unit": _per_unit, "derived_id": _derived_id}


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


def _same(value: object, expected: object) -> bool:
    """Numbers compare as numbers (F&O answers 0.0 where a condition says 0), anything else as folded text."""
    numbers = [item for item in (value, expected) if isinstance(item, int | float) and not isinstance(item, bool)]
    if len(numbers) == 2:
        return Decimal(str(value)) == Decimal(str(expected))
    return fold(value) == fold(expected)


def _condition_failure(condition: Condition, value: object) -> str | None:
    name, op, expected = condition.field, condition.op, condition.value
    if op in ("eq", "ne"):
        equal = _same(value, expected)
        if equal != (op == "eq"):
            return f"{name} is {value!r}, not {expected!r}" if op == "eq" else f"{name} is {expected!r}"
    elif op in ("in", "not_in"):
        inside = any(_same(value, item) for item in expected)
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
        for name in ("format", "derived_id"):
            if name in rule.transforms:
                names += [n for n in _template_fields(rule.options[name]["template"]) if n != "value"]
        if "per_unit" in rule.transforms:
            names += [rule.options["per_unit"]["quantity_field"], rule.options["per_unit"].get("rounding_field", "")]
        if "key_fields" in rule.options.get("lookup", {}):
            names += [field for _, field in _key_field_pairs(rule.options["lookup"]["key_fields"])]
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
