"""Reading tens of thousands of records page by page, in both APIs, with memory that does not grow."""

from __future__ import annotations

import tracemalloc

import pytest

from connectors import DataverseClient, FinOpsClient

SETS = {"dataverse": ("accounts", "accountid"), "finops": ("CustomersV3", "CustomerAccount")}


def test_dataverse_reads_every_account_through_next_links(dataverse, dv_config):
    dataverse.seed(accounts=20_000)
    client = DataverseClient(dv_config(page_size=2000))
    dataverse.control("DELETE", "stats")
    ids, pages = set(), 0
    for page in client.pages("accounts", select=["accountid", "accountnumber"]):
        pages += 1
        assert len(page.rows) <= 2000
        ids.update(row["accountid"] for row in page.rows)
    assert len(ids) >= 20_000
    assert pages == -(-len(ids) // 2000)
    stats = dataverse.stats()
    assert stats["requests"] == pages  # every nextLink was accepted as sent: no retry, no error
    assert stats["responses_by_status"] == {"200": pages}


def test_finops_reads_every_customer_of_every_company(finops, fo_config):
    finops.seed(CustomersV3=20_000)
    client = FinOpsClient(fo_config(page_size=5000))
    keys = [(row["dataAreaId"], row["CustomerAccount"])
            for row in client.rows("CustomersV3", select=["dataAreaId", "CustomerAccount"])]
    assert len(keys) == len(set(keys))
    assert len(keys) >= 20_000
    companies = {company for company, _ in keys}
    assert companies == {"usmf", "demf"}


def test_finops_reads_one_company_across_companies_but_only_the_default_without_cross_company(finops, fo_config):
    finops.seed(CustomersV3=300)
    client = FinOpsClient(fo_config())
    demf = [change.key for page in client.company_scan("CustomersV3", key_fields=("dataAreaId", "CustomerAccount"),
                                                       companies=["demf"]) for change in page]
    assert demf
    assert {key["dataAreaId"] for key in demf} == {"demf"}
    # The trap the client avoids: without cross-company=true only the user's default company is visible.
    plain = finops.session.get(finops.api_url + "CustomersV3?$select=dataAreaId", headers=finops.auth_headers())
    assert {row["dataAreaId"] for row in plain.json()["value"]} == {"usmf"}


@pytest.mark.parametrize("system", ["dataverse", "finops"])
def test_memory_stays_flat_whatever_the_number_of_records(system, request):
    handle = request.getfixturevalue(system)
    entity_set, _ = SETS[system]
    handle.seed(**{entity_set: 10_000})
    config = request.getfixturevalue("dv_config" if system == "dataverse" else "fo_config")
    client = (DataverseClient if system == "dataverse" else FinOpsClient)(config(page_size=500))

    def peak_while_reading(limit: int) -> int:
        tracemalloc.start()
        try:
            for count, _ in enumerate(client.rows(entity_set), start=1):
                if count == limit:
                    break
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak_for_few = peak_while_reading(1_000)
    peak_for_many = peak_while_reading(10_000)
    assert peak_for_many < peak_for_few * 1.5, (peak_for_few, peak_for_many)
