"""The store's non-unique indexes (a core change made for the F&O emulator's header -> lines lookups)."""

from __future__ import annotations

import pytest

from connectors.emulators.store import Store


@pytest.fixture
def lines():
    store = Store()
    table = store.table("Lines", ("company", "lot"), multi={"order": ("company", "order")})
    for lot, order in (("3", "A"), ("1", "A"), ("2", "B")):
        table.insert({"company": "usmf", "lot": lot, "order": order})
    return store, table


def test_find_all_returns_a_groups_rows_in_key_order_ignoring_case(lines):
    _, table = lines
    assert [row["lot"] for row in table.find_all("order", ("USMF", "a"))] == ["1", "3"]
    assert table.find_all("order", ("usmf", "missing")) == []


def test_groups_follow_replace_and_delete(lines):
    _, table = lines
    table.replace({"company": "usmf", "lot": "1", "order": "B"})
    table.delete(("usmf", "3"))
    assert table.find_all("order", ("usmf", "A")) == []
    assert [row["lot"] for row in table.find_all("order", ("usmf", "B"))] == ["1", "2"]


def test_groups_are_restored_when_a_transaction_fails(lines):
    store, table = lines

    def write_then_fail():
        with store.transaction():
            table.replace({"company": "usmf", "lot": "1", "order": "B"})
            table.insert({"company": "usmf", "lot": "4", "order": "A"})
            table.delete(("usmf", "3"))
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert [row["lot"] for row in table.find_all("order", ("usmf", "A"))] == ["1", "3"]
    assert [row["lot"] for row in table.find_all("order", ("usmf", "B"))] == ["2"]
