"""The resolver's cache of reference sets (currencies, units...), read from the Dataverse emulator over HTTPS."""

from __future__ import annotations

import threading

import pytest

from integration.services.resolver import ReferenceCache
from tests.support.projects import connection_to

pytestmark = pytest.mark.django_db(transaction=True)


def _currency_reads(dataverse) -> int:
    return dataverse.stats()["requests_by_entity_set"].get("transactioncurrencies", {}).get("GET", 0)


def _look_up_usd_from_many_threads(cache, connection, threads=16) -> list:
    start = threading.Barrier(threads)
    found = []

    def look_up():
        start.wait()
        found.append(cache.lookup(connection, "transactioncurrencies", "isocurrencycode", "USD", "isocurrencycode"))

    workers = [threading.Thread(target=look_up) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return found


def test_threads_missing_the_same_set_read_it_once(dataverse):
    connection = connection_to(dataverse, system="dataverse", name="sales")
    dataverse.control("DELETE", "stats")

    found = _look_up_usd_from_many_threads(ReferenceCache(), connection)

    assert found == ["USD"] * 16
    assert _currency_reads(dataverse) == 1


def test_a_stale_set_is_read_again_and_unknown_values_resolve_to_none(dataverse):
    connection = connection_to(dataverse, system="dataverse", name="sales")
    fresh, stale = ReferenceCache(), ReferenceCache(ttl=0)
    dataverse.control("DELETE", "stats")

    _look_up_usd_from_many_threads(fresh, connection, threads=1)
    _look_up_usd_from_many_threads(fresh, connection, threads=1)
    assert _currency_reads(dataverse) == 1
    _look_up_usd_from_many_threads(stale, connection, threads=1)
    _look_up_usd_from_many_threads(stale, connection, threads=1)
    assert _currency_reads(dataverse) == 3
    assert fresh.lookup(connection, "transactioncurrencies", "isocurrencycode", "XXX", "isocurrencycode") is None
