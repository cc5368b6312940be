"""The resolver's cache of reference sets (currencies, units...), read from the Dataverse emulator over HTTPS."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.utils import timezone

from integration.definitions import map_definition
from integration.models import KeyLink
from integration.services.resolver import DatabaseResolver, ReferenceCache
from tests.support.factories import template_project
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


@pytest.mark.django_db
def test_a_batch_s_parents_are_read_in_one_query_and_asked_for_without_another(django_assert_num_queries):
    """Contacts look their account up by the Dataverse id, which a webhook or a page may spell in capitals: the
    prefetch and the later ask must agree on the value, or each record would read its parent again."""
    project = template_project()
    accounts = project.entity_maps.get(name="Accounts")
    contacts = project.entity_maps.get(name="Contacts")
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for number, source_id in enumerate(ids):
        KeyLink.objects.create(entity_map=accounts, source_key=f"A{number}", source_id=source_id,
                               destination_key=f"usmf|A{number}", synced_at=timezone.now(),
                               destination_key_values={"dataAreaId": "usmf", "CustomerAccount": f"A{number}"})
    resolver = DatabaseResolver(entity_map=contacts, organization_mappings=(),
                                map_ids=dict(project.entity_maps.values_list("name", "id")))
    records = [{"_parentcustomerid_value": source_id.upper()} for source_id in ids]
    records.append({"_parentcustomerid_value": str(uuid.uuid4())})  # an account not synced yet
    definition = map_definition(contacts)

    with django_assert_num_queries(1):
        resolver.prefetch(definition, records)
    with django_assert_num_queries(0):
        found = [resolver.link(["Accounts"], "source_id", record["_parentcustomerid_value"]) for record in records]

    assert [target.destination_key["CustomerAccount"] for target in found[:3]] == ["A0", "A1", "A2"]
    assert found[3] is None
