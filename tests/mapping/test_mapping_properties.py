"""Properties of the transforms that must hold for every input, not just the examples."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from integration.mapping import FieldRule, MapDefinition, MappingError, map_record, payload_hash, source_key
from tests.mapping.resolver import DictResolver

non_blank = st.text(min_size=1).filter(lambda s: s.strip())
json_values = st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False)


def map_one(rule: FieldRule, value) -> object:
    definition = MapDefinition("Things", ("id",), "", ("key",), (FieldRule("key", "id"), rule))
    return map_record(definition, {"id": "T1", "value": value}, DictResolver()).payload[rule.destination]


@given(value=non_blank, max_length=st.integers(min_value=1, max_value=50))
def test_truncation_never_exceeds_max_length_and_keeps_a_prefix(value, max_length):
    result = map_one(FieldRule("Out", "value", max_length=max_length), value)
    assert len(result) <= max_length
    assert value.startswith(result)


@given(entries=st.dictionaries(non_blank, st.text(), max_size=8), value=non_blank, default=st.text())
def test_a_value_map_with_a_default_is_total(entries, value, default):
    rule = FieldRule("Out", "value", ("value_map",), value_map=entries, value_map_default=default)
    result = map_one(rule, value)
    assert result is None or result in entries.values() or result == default


@given(entries=st.dictionaries(non_blank, non_blank, min_size=1, max_size=8), value=non_blank)
def test_a_value_map_without_a_default_raises_for_unmapped_values(entries, value):
    assume(value.strip().casefold() not in {key.casefold() for key in entries})
    rule = FieldRule("Out", "value", ("value_map",), value_map=entries)
    with pytest.raises(MappingError, match="no value map entry"):
        map_one(rule, value)


@given(flag=st.booleans())
def test_bool_to_noyes_and_back_round_trips(flag):
    noyes = map_one(FieldRule("Out", "value", ("convert",), options={"convert": {"to": "noyes"}}), flag)
    assert noyes in ("Yes", "No")
    assert map_one(FieldRule("Out", "value", ("convert",), options={"convert": {"to": "boolean"}}), noyes) is flag


@given(number=st.decimals(min_value=-10**12, max_value=10**12, places=2, allow_nan=False, allow_infinity=False))
def test_a_decimal_string_converts_to_the_same_decimal(number):
    rule = FieldRule("Out", "value", ("convert",), options={"convert": {"to": "decimal", "places": 2}})
    assert Decimal(str(map_one(rule, str(number)))) == number


@given(payload=st.dictionaries(st.text(), json_values, min_size=1, max_size=10), seed=st.integers())
def test_payload_hash_is_stable_under_key_order(payload, seed):
    items = list(payload.items())
    random.Random(seed).shuffle(items)
    assert payload_hash(dict(items)) == payload_hash(payload)


@given(payload=st.dictionaries(st.text(), json_values, min_size=1, max_size=10), data=st.data())
def test_payload_hash_changes_when_any_value_changes(payload, data):
    name = data.draw(st.sampled_from(sorted(payload)))
    new_value = data.draw(json_values.filter(lambda v: repr(v) != repr(payload[name])))
    assert payload_hash({**payload, name: new_value}) != payload_hash(payload)


key_parts = st.one_of(non_blank, st.integers())


@given(size=st.integers(min_value=1, max_value=3), data=st.data())
def test_source_key_is_injective(size, data):
    fields = tuple(f"k{n}" for n in range(size))
    first = data.draw(st.tuples(*[key_parts] * size))
    second = data.draw(st.tuples(*[key_parts] * size))
    assume(tuple(map(str, first)) != tuple(map(str, second)))  # a key's parts are compared as text
    definition = MapDefinition("Things", fields, "", ("key",), ())
    assert source_key(definition, dict(zip(fields, first, strict=True))) != \
        source_key(definition, dict(zip(fields, second, strict=True)))
