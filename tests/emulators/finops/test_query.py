"""Collection queries: the OData options F&O supports, its `$filter` dialect, and its refusals."""

from __future__ import annotations

import pytest

from tests.emulators.finops.conftest import ODATA_JSON

QUERY_ERROR = "Microsoft.OData.ODataException"


@pytest.fixture
def customers(fo):
    for n, (group, maintained) in enumerate([("10", "Yes"), ("20", "No"), ("10", "No"), ("30", "Yes")], start=1):
        fo.customer(f"C-{n}", CustomerGroupId=group, IsExternallyMaintained=maintained, CreditLimit=n * 1000,
                    OrganizationName=("Fabrikam", "Contoso Retail", "Northwind", "Contoso Pharma")[n - 1])
    fo.customer("D-1", company="demf", OrganizationName="Contoso GmbH")
    return fo


def _accounts(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["CustomerAccount"] for row in response.json()["value"]]


def _query_error(response, message: str) -> None:
    assert response.status_code == 400
    assert response.headers["Content-Type"] == ODATA_JSON
    assert response.json() == {"error": {
        "code": "", "message": f"The query specified in the URI is not valid. {message}",
        "innererror": {"message": message, "type": QUERY_ERROR, "stacktrace": ""}}}


def test_collection_has_context_etags_and_only_the_default_company(customers):
    response = customers.get("CustomersV3")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == ODATA_JSON
    assert response.headers["OData-Version"] == "4.0"
    body = response.json()
    assert list(body) == ["@odata.context", "value"]
    assert body["@odata.context"] == f"{customers.api}$metadata#CustomersV3"
    assert [row["CustomerAccount"] for row in body["value"]] == ["C-1", "C-2", "C-3", "C-4"]
    first = body["value"][0]
    assert list(first)[:3] == ["@odata.etag", "dataAreaId", "CustomerAccount"]
    assert first["@odata.etag"].startswith('W/"')
    assert "ModifiedDateTime" not in first


def test_cross_company_reads_every_company(customers):
    assert _accounts(customers.get("CustomersV3?cross-company=true")) == ["D-1", "C-1", "C-2", "C-3", "C-4"]
    assert _accounts(customers.get("CustomersV3?cross-company=true&$filter=dataAreaId eq 'DEMF'")) == ["D-1"]


def test_select_projects_fields_and_names_them_in_the_context(customers):
    body = customers.get("CustomersV3?$select=CustomerAccount,CreditLimit&$top=1").json()
    assert body["@odata.context"] == f"{customers.api}$metadata#CustomersV3(CustomerAccount,CreditLimit)"
    assert body["value"] == [{"@odata.etag": body["value"][0]["@odata.etag"], "CustomerAccount": "C-1",
                              "CreditLimit": 1000}]


def test_filter_compares_and_combines(customers):
    assert _accounts(customers.get("CustomersV3?$filter=CreditLimit ge 2000 and CustomerGroupId eq '10'")) == ["C-3"]
    assert _accounts(customers.get("CustomersV3?$filter=not (CustomerGroupId eq '10') or CreditLimit lt 1500")) \
        == ["C-1", "C-2", "C-4"]
    assert _accounts(customers.get("CustomersV3?$filter=OrganizationName eq 'fabrikam'")) == ["C-1"]


def test_filter_takes_enum_literals_with_eq_and_ne_only(customers):
    literal = "Microsoft.Dynamics.DataEntities.NoYes'Yes'"
    assert _accounts(customers.get(f"CustomersV3?$filter=IsExternallyMaintained eq {literal}")) == ["C-1", "C-4"]
    assert _accounts(customers.get(f"CustomersV3?$filter=IsExternallyMaintained ne {literal}")) == ["C-2", "C-3"]
    response = customers.get(f"CustomersV3?$filter=IsExternallyMaintained gt {literal}")
    assert response.status_code == 400
    assert "only eq and ne" in response.json()["error"]["innererror"]["message"]


def test_filter_wildcard_is_fo_contains(customers):
    assert _accounts(customers.get("CustomersV3?$filter=OrganizationName eq '*contoso*'")) == ["C-2", "C-4"]
    assert _accounts(customers.get("CustomersV3?$filter=OrganizationName eq 'north*'")) == ["C-3"]


@pytest.mark.parametrize("expression", ["contains(OrganizationName,'Contoso')", "CustomerGroupId in ('10','20')",
                                        "IsExternallyMaintained has Microsoft.Dynamics.DataEntities.NoYes'Yes'"])
def test_filter_rejects_functions_in_and_has(customers, expression):
    response = customers.get(f"CustomersV3?$filter={expression}")
    assert response.status_code == 400
    assert "not supported" in response.json()["error"]["innererror"]["message"]


def test_filter_compares_dates_as_instants(fo):
    fo.handle.seed(SalesInvoiceHeadersV2=6)
    invoices = fo.all_pages("SalesInvoiceHeadersV2?cross-company=true&$select=InvoiceDate,InvoiceNumber")
    middle = sorted(invoice["InvoiceDate"] for invoice in invoices)[3]
    later = fo.get(f"SalesInvoiceHeadersV2?cross-company=true&$filter=InvoiceDate ge {middle[:10]}T00:00:00Z")
    assert sorted(row["InvoiceNumber"] for row in later.json()["value"]) == sorted(
        invoice["InvoiceNumber"] for invoice in invoices if invoice["InvoiceDate"] >= middle)


def test_orderby_top_skip_and_count(customers):
    response = customers.get("CustomersV3?$orderby=CreditLimit desc&$top=2&$skip=1&$count=true")
    body = response.json()
    assert body["@odata.count"] == 4
    assert [row["CustomerAccount"] for row in body["value"]] == ["C-3", "C-2"]
    assert "@odata.nextLink" not in body
    assert _accounts(customers.get("CustomersV3?$orderby=CustomerGroupId,OrganizationName desc")) \
        == ["C-3", "C-1", "C-2", "C-4"]


def test_count_segment_is_a_plain_number(customers):
    response = customers.get("CustomersV3/$count?$filter=CustomerGroupId eq '10'")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.text == "2"
    assert customers.get("CustomersV3/$count?cross-company=true").text == "5"


def test_unknown_property_is_fo_query_error(customers):
    message = "Could not find a property named '{}' on type 'Microsoft.Dynamics.DataEntities.CustomerV3'."
    _query_error(customers.get("CustomersV3?$select=CustomerAccount,Nope"), message.format("Nope"))
    _query_error(customers.get("CustomersV3?$filter=Nope eq 1"), message.format("Nope"))
    _query_error(customers.get("CustomersV3?$orderby=ModifiedDateTime"), message.format("ModifiedDateTime"))


def test_unsupported_system_option_is_refused(customers):
    _query_error(customers.get("CustomersV3?$search=contoso"), "The query parameter '$search' is not supported.")
    _query_error(customers.get("CustomersV3?$skiptoken=abc"), "The query parameter '$skiptoken' is not supported.")


def test_expand_headers_to_lines_with_nested_select(fo):
    fo.handle.seed(CDSSalesOrderHeaders=2)
    response = fo.get("CDSSalesOrderHeaders?$select=SalesOrderNumber&$top=1"
                      "&$expand=CDSSalesOrderLines($select=ProductNumber,LineAmount)")
    body = response.json()
    assert body["@odata.context"] == (f"{fo.api}$metadata#CDSSalesOrderHeaders(SalesOrderNumber,"
                                      "CDSSalesOrderLines())")
    header = body["value"][0]
    assert list(header) == ["@odata.etag", "SalesOrderNumber", "CDSSalesOrderLines"]
    assert header["CDSSalesOrderLines"]
    assert all(list(line) == ["@odata.etag", "LineAmount", "ProductNumber"] for line in header["CDSSalesOrderLines"])


def test_expand_line_to_its_header(fo):
    fo.handle.seed(CDSSalesQuotationHeaders=1)
    line = fo.get("CDSSalesQuotationLines?$top=1&$expand=CDSSalesQuotationHeader($select=SalesQuotationNumber)") \
        .json()["value"][0]
    assert line["CDSSalesQuotationHeader"]["SalesQuotationNumber"] == line["SalesQuotationNumber"]


def test_expand_is_first_level_only_and_names_known_navigations(fo):
    response = fo.get("CDSSalesOrderHeaders?$expand=CDSSalesOrderLines($expand=CDSSalesOrderHeader)")
    assert response.status_code == 400
    assert "first level only" in response.json()["error"]["innererror"]["message"]
    _query_error(fo.get("CustomersV3?$expand=Contacts"),
                 "Could not find a property named 'Contacts' on type 'Microsoft.Dynamics.DataEntities.CustomerV3'.")
    _query_error(fo.get("CDSSalesOrderHeaders?$expand=SalesOrderLines"),  # the name on SalesOrderHeadersV2 only
                 "Could not find a property named 'SalesOrderLines' on type "
                 "'Microsoft.Dynamics.DataEntities.CDSSalesOrderHeader'.")
    _query_error(fo.get("CDSContactPersonsV2?$expand=Party"),  # its target, CDSParties, is not served
                 "Could not find a property named 'Party' on type "
                 "'Microsoft.Dynamics.DataEntities.CDSContactPersonV2'.")


def test_navigation_path_lists_a_headers_lines(fo):
    fo.handle.seed(CDSSalesQuotationHeaders=1)
    header = fo.get("CDSSalesQuotationHeaders").json()["value"][0]
    response = fo.get(f"CDSSalesQuotationHeaders(dataAreaId='usmf',SalesQuotationNumber="
                      f"'{header['SalesQuotationNumber']}')/CDSSalesQuotationLines?$select=InventoryLotId")
    body = response.json()
    assert body["@odata.context"] == f"{fo.api}$metadata#CDSSalesQuotationLines(InventoryLotId)"
    assert len(body["value"]) >= 1


def test_service_document_and_metadata(fo):
    body = fo.get("").json()
    assert body["@odata.context"] == f"{fo.api}$metadata"
    assert {"name": "CustomersV3", "kind": "EntitySet", "url": "CustomersV3"} in body["value"]
    metadata = fo.get("$metadata")
    assert metadata.status_code == 200
    assert metadata.headers["Content-Type"] == "application/xml"
    assert '<EntityType Name="CustomerV3"><Key><PropertyRef Name="dataAreaId" />' in metadata.text
    assert '<EnumType Name="NoYes"><Member Name="No" Value="0" />' in metadata.text
