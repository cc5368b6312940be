"""Addressing one entity: every key field by name, company scoping, quoting and encoding, date keys."""

from __future__ import annotations

from urllib.parse import quote

from tests.emulators.finops.conftest import ODATA_JSON

KEY_MISMATCH = ("The key in the request URI is not valid for resource 'Microsoft.Dynamics.DataEntities.CustomerV3'. "
                "Ensure that the names and number of key properties match the declared or alternate key properties "
                "for the resource 'Microsoft.Dynamics.DataEntities.CustomerV3'.")


def _bad_key(response) -> None:
    assert response.status_code == 400
    assert response.headers["Content-Type"] == ODATA_JSON
    assert response.json() == {"error": {"code": "", "message": KEY_MISMATCH, "innererror": {
        "message": KEY_MISMATCH, "type": "Microsoft.OData.ODataException", "stacktrace": ""}}}


def test_read_by_full_composite_key(fo):
    created = fo.customer("US-900")
    response = fo.get("CustomersV3(dataAreaId='usmf',CustomerAccount='US-900')")
    assert response.status_code == 200
    assert response.headers["ETag"] == created["@odata.etag"]
    body = response.json()
    assert body["@odata.context"] == f"{fo.api}$metadata#CustomersV3/$entity"
    assert body == {"@odata.context": body["@odata.context"], **created}


def test_company_id_compares_without_case(fo):
    fo.customer("US-900")
    assert fo.get("CustomersV3(dataAreaId='USMF',CustomerAccount='us-900')").status_code == 200


def test_partial_unknown_or_positional_key_is_400(fo):
    fo.customer("US-900")
    _bad_key(fo.get("CustomersV3(dataAreaId='usmf')"))
    _bad_key(fo.get("CustomersV3(CustomerAccount='US-900')"))
    _bad_key(fo.get("CustomersV3(dataAreaId='usmf',CustomerAccount='US-900',Extra='x')"))
    _bad_key(fo.get("CustomersV3(dataAreaId='usmf',Account='US-900')"))
    _bad_key(fo.get("CustomersV3('US-900')"))


def test_missing_key_is_404(fo):
    response = fo.get("CustomersV3(dataAreaId='usmf',CustomerAccount='NOPE')")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "", "message": "Resource not found for the segment 'CustomersV3'."}}


def test_another_company_needs_cross_company(fo):
    fo.customer("DE-900", company="demf")
    path = "CustomersV3(dataAreaId='demf',CustomerAccount='DE-900')"
    assert fo.get(path).status_code == 404
    assert fo.get(path + "?cross-company=true").json()["CustomerAccount"] == "DE-900"
    assert fo.patch(path, {"CreditLimit": 5}).status_code == 404
    assert fo.patch(path + "?cross-company=true", {"CreditLimit": 5}).status_code == 204


def test_quoted_and_percent_encoded_key_values(fo):
    for account in ("O'Brien", "A/B C&D", "50%+(x)"):
        created = fo.customer(account)
        literal = account.replace("'", "''")
        response = fo.get(f"CustomersV3(dataAreaId='usmf',CustomerAccount='{quote(literal, safe='')}')")
        assert response.status_code == 200, account
        assert response.json()["CustomerAccount"] == account
        assert fo.get(f"CustomersV3(dataAreaId='usmf',CustomerAccount='{literal}')".replace("&", "%26")
                      .replace("%+", "%25%2B")).json()["@odata.etag"] == created["@odata.etag"]


def test_location_header_is_a_working_key_url(fo):
    response = fo.post("CustomersV3", {"dataAreaId": "usmf", "CustomerAccount": "O'Neil & Co", "OrganizationName": "x",
                                       "CustomerGroupId": "10"})
    location = response.headers["Location"]
    assert location == f"{fo.api}CustomersV3(dataAreaId='usmf',CustomerAccount='O''Neil%20%26%20Co')"
    assert response.headers["OData-EntityId"] == location
    assert fo.get(location).json()["CustomerAccount"] == "O'Neil & Co"


def test_invoice_keys_take_a_datetime_literal(fo):
    fo.handle.seed(SalesInvoiceHeadersV2=1)
    invoice = fo.get("SalesInvoiceHeadersV2?cross-company=true").json()["value"][0]
    keys = (f"dataAreaId='{invoice['dataAreaId']}',InvoiceNumber='{invoice['InvoiceNumber']}',"
            f"InvoiceDate={invoice['InvoiceDate']},LedgerVoucher='{invoice['LedgerVoucher']}'")
    response = fo.get(f"SalesInvoiceHeadersV2({keys})?cross-company=true")
    assert response.status_code == 200
    assert response.json()["InvoiceNumber"] == invoice["InvoiceNumber"]
    midnight = keys.replace("T12:00:00Z", "T00:00:00Z")
    assert fo.get(f"SalesInvoiceHeadersV2({midnight})?cross-company=true").status_code == 200  # a date is a day
    line = fo.get(f"SalesInvoiceLines(dataAreaId='{invoice['dataAreaId']}',InvoiceNumber='{invoice['InvoiceNumber']}',"
                  f"LineCreationSequenceNumber=1,InvoiceDate={invoice['InvoiceDate']})?cross-company=true")
    assert line.status_code == 200
    assert line.json()["LineCreationSequenceNumber"] == 1
    v2_line = fo.get(f"SalesInvoiceV2Lines({keys.replace(',InvoiceDate', ',LineCreationSequenceNumber=1,InvoiceDate')})"
                     "?cross-company=true")
    assert v2_line.json()["LedgerVoucher"] == invoice["LedgerVoucher"]
    v1 = fo.get(f"SalesInvoiceHeaders({keys.rpartition(',LedgerVoucher')[0]})?cross-company=true")
    assert v1.json()["InvoiceNumber"] == invoice["InvoiceNumber"]
    assert "LedgerVoucher" not in v1.json()


def test_sellable_products_are_keyed_by_product_number(fo):
    fo.handle.seed(SellableReleasedProducts=2)
    response = fo.get("SellableReleasedProducts(dataAreaId='usmf',ProductNumber='P00002')")
    assert response.json()["ProductNumber"] == "P00002"
    assert fo.get("LegalEntities('demf')").json()["LegalEntityId"] == "demf"  # a single key may be positional


def test_unknown_entity_set_is_404(fo):
    response = fo.get("Vendors")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "", "message": "No HTTP resource was found that matches the "
                                         f"request URI '{fo.api}Vendors'."}}
