"""Create, update and delete: F&O's status codes, headers and bodies, its validation errors and its ETags."""

from __future__ import annotations

import pytest

from tests.emulators.finops.conftest import ODATA_JSON, infolog

CUSTOMER = "CustomersV3(dataAreaId='usmf',CustomerAccount='C-1')"


def _bad_request(response, message: str) -> None:
    assert response.status_code == 400
    assert response.headers["Content-Type"] == ODATA_JSON
    assert response.json() == {"error": {"code": "", "message": message, "innererror": {
        "message": message, "type": "Microsoft.OData.ODataException", "stacktrace": ""}}}


def test_create_answers_201_with_the_full_entity_and_its_urls(fo):
    response = fo.post("CustomersV3", {"@odata.type": "#Microsoft.Dynamics.DataEntities.CustomerV3",
                                       "dataAreaId": "usmf", "CustomerAccount": "C-1", "OrganizationName": "Fabrikam",
                                       "CustomerGroupId": "10", "IsExternallyMaintained": "Yes"})
    assert response.status_code == 201
    location = f"{fo.api}{CUSTOMER}"
    assert response.headers["Location"] == location
    assert response.headers["OData-EntityId"] == location
    assert response.headers["Content-Type"] == ODATA_JSON
    body = response.json()
    assert response.headers["ETag"] == body["@odata.etag"]
    assert body["@odata.context"] == f"{fo.api}$metadata#CustomersV3/$entity"
    assert len(body["PartyNumber"]) == 9
    assert body["PartyNumber"].isdigit()  # from the party number sequence
    assert body["SalesCurrencyCode"] == "USD"  # the company's currency by default
    assert body["NameAlias"] == "Fabrikam"
    assert body["PartyType"] == "Organization"
    assert body["IsExternallyMaintained"] == "Yes"
    assert body["CreditLimit"] == 0
    assert body["PaymentTerms"] == ""  # no nulls in F&O


def test_create_lands_in_the_bodys_company_or_the_default_one(fo):
    assert fo.customer("D-1", company="DEMF")["dataAreaId"] == "demf"
    default = fo.post("CustomersV3", {"CustomerAccount": "C-2", "OrganizationName": "x", "CustomerGroupId": "10"})
    assert default.json()["dataAreaId"] == "usmf"
    assert fo.get("CustomersV3(dataAreaId='demf',CustomerAccount='D-1')?cross-company=true").json()[
        "SalesCurrencyCode"] == "EUR"


def test_create_without_an_account_takes_the_next_number(fo):
    fo.handle.seed(CustomersV3=4)
    body = fo.post("CustomersV3", {"OrganizationName": "Numbered", "CustomerGroupId": "20"}).json()
    assert body["CustomerAccount"] == "US-003"


def test_update_answers_204_and_changes_the_etag(fo):
    before = fo.customer("C-1")
    response = fo.patch(CUSTOMER, {"CreditLimit": 2500.5, "OnHoldStatus": "Invoice"})
    assert response.status_code == 204
    assert response.content == b""
    after = fo.get(CUSTOMER).json()
    assert after["CreditLimit"] == 2500.5
    assert after["OnHoldStatus"] == "Invoice"
    assert after["@odata.etag"] != before["@odata.etag"]


def test_put_is_a_partial_update_as_in_fo(fo):
    fo.customer("C-1", PrimaryContactEmail="a@example.com")
    response = fo.handle.session.put(f"{fo.api}{CUSTOMER}", json={"CreditLimit": 7}, headers=fo.headers())
    assert response.status_code == 204
    after = fo.get(CUSTOMER).json()
    assert (after["CreditLimit"], after["PrimaryContactEmail"]) == (7, "a@example.com")


def test_update_of_a_missing_key_is_404_not_an_upsert(fo):
    response = fo.patch(CUSTOMER, {"OrganizationName": "Ghost"})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Resource not found for the segment 'CustomersV3'."
    assert fo.get("CustomersV3/$count").text == "0"


def test_delete_answers_204_then_404(fo):
    fo.customer("C-1")
    response = fo.delete(CUSTOMER)
    assert response.status_code == 204
    assert response.content == b""
    assert fo.get(CUSTOMER).status_code == 404
    assert fo.delete(CUSTOMER).status_code == 404


def test_if_match_star_or_current_etag_passes_and_a_stale_one_is_412(fo):
    etag = fo.customer("C-1")["@odata.etag"]
    assert fo.patch(CUSTOMER, {"CreditLimit": 1}, **{"If-Match": etag}).status_code == 204
    stale = fo.patch(CUSTOMER, {"CreditLimit": 2}, **{"If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["Content-Type"] == ODATA_JSON
    assert set(stale.json()["error"]) == {"code", "message"}
    assert fo.delete(CUSTOMER, **{"If-Match": etag}).status_code == 412
    assert fo.patch(CUSTOMER, {"CreditLimit": 3}, **{"If-Match": "*"}).status_code == 204
    assert fo.get(CUSTOMER).json()["CreditLimit"] == 3


def test_unknown_customer_group_is_500_with_the_infolog(fo):
    response = fo.post("CustomersV3", {"dataAreaId": "usmf", "CustomerAccount": "C-1", "OrganizationName": "x",
                                       "CustomerGroupId": "Local"})
    assert infolog(response) == (
        "Write failed for table row of type 'CustCustomerV3Entity'. Infolog: Warning: The value 'Local' in field "
        "'Customer group' is not found in the related table 'Customer groups'.; Warning: validateField failed on "
        "field 'CustCustomerV3Entity.CustomerGroupId'.")
    assert fo.get("CustomersV3/$count").text == "0"


def test_customer_group_must_exist_in_the_same_company(fo):
    fo.post("CustomerGroups", {"dataAreaId": "demf", "CustomerGroupId": "DE1", "Description": "German only"})
    assert "'DE1' in field 'Customer group'" in infolog(fo.post("CustomersV3", {
        "dataAreaId": "usmf", "CustomerAccount": "C-1", "OrganizationName": "x", "CustomerGroupId": "DE1"}))


def test_duplicate_create_is_500_record_already_exists(fo):
    fo.customer("C-1")
    response = fo.post("CustomersV3", {"dataAreaId": "usmf", "CustomerAccount": "c-1", "OrganizationName": "x",
                                       "CustomerGroupId": "10"})
    assert infolog(response) == ("Write failed for table row of type 'CustCustomerV3Entity'. Infolog: Info: Cannot "
                                 "create a record in Customers (CustTable). Customer account: c-1.\n"
                                 "The record already exists..")


@pytest.mark.parametrize(("fields", "expected"), [
    ({"CustomerGroupId": ""}, "Warning: Field 'Customer group' must be filled in."),
    ({"IsExternallyMaintained": "Maybe"}, "Warning: 'Maybe' is not a valid value of the enumeration 'NoYes' for "
                                          "field 'Is externally maintained'.; Warning: validateField failed on field "
                                          "'CustCustomerV3Entity.IsExternallyMaintained'."),
    ({"NameAlias": "x" * 21}, "Warning: The value '" + "x" * 21 + "' in field 'Search name' is too long; the "
                              "maximum length is 20 characters."),
    ({"SalesCurrencyCode": "XYZ"}, "Warning: The value 'XYZ' in field 'Currency' is not found in the related table "
                                   "'Currencies'."),
    ({"dataAreaId": "zzzz"}, "Warning: Company 'zzzz' does not exist."),
])
def test_validation_failures_are_500_naming_field_and_value(fo, fields, expected):
    body = {"dataAreaId": "usmf", "CustomerAccount": "C-1", "OrganizationName": "x", "CustomerGroupId": "10", **fields}
    assert expected in infolog(fo.post("CustomersV3", body))


def test_enum_names_are_read_and_written_as_strings(fo):
    assert fo.customer("C-1", OnHoldStatus="All", IsExternallyMaintained="Yes")["OnHoldStatus"] == "All"
    assert fo.get(CUSTOMER).json()["IsExternallyMaintained"] == "Yes"


def test_malformed_json_unknown_fields_and_wrong_types_are_400(fo):
    raw = fo.handle.session.post(f"{fo.api}CustomersV3", data=b"{not json",
                                 headers=fo.headers(**{"Content-Type": "application/json"}))
    assert raw.status_code == 400
    assert raw.json()["error"]["innererror"]["type"] == "Microsoft.OData.ODataException"
    _bad_request(fo.post("CustomersV3", {"CustomerAccount": "C-1", "Nickname": "x"}),
                 "The property 'Nickname' does not exist on type 'Microsoft.Dynamics.DataEntities.CustomerV3'. Make "
                 "sure to only use property names that are defined by the type.")
    _bad_request(fo.post("CustomersV3", {"CustomerAccount": "C-1", "CreditLimit": "lots"}),
                 "Cannot convert the literal 'lots' to the expected type 'Edm.Decimal'.")
    _bad_request(fo.post("CustomersV3", ["C-1"]), "The request body must be a JSON object describing a "
                                                  "'Microsoft.Dynamics.DataEntities.CustomerV3' entity.")


def test_key_fields_cannot_change_on_update(fo):
    fo.customer("C-1")
    assert "is part of the key and cannot be changed" in infolog(fo.patch(CUSTOMER, {"CustomerAccount": "C-2"}))
    assert fo.patch(CUSTOMER, {"CustomerAccount": "c-1", "CreditLimit": 1}).status_code == 204  # same key


def test_dates_are_days_at_noon_and_empty_ones_read_as_1900(fo):
    fo.customer("C-1")
    quote = fo.post("CDSSalesQuotationHeaders", {"RequestingCustomerAccountNumber": "C-1"}).json()
    assert quote["SalesQuotationExpiryDate"].endswith("T12:00:00Z")  # defaulted by the entity
    assert quote["SalesQuotationFollowUpDate"] == "1900-01-01T12:00:00Z"  # never written
    path = f"CDSSalesQuotationHeaders(dataAreaId='usmf',SalesQuotationNumber='{quote['SalesQuotationNumber']}')"
    assert fo.patch(path, {"RequestedShippingDate": "2025-03-04T22:30:00-05:00",
                           "SalesQuotationFollowUpDate": "2025-04-01T00:00:00Z"}).status_code == 204
    read = fo.get(path).json()
    assert read["RequestedShippingDate"] == "2025-03-05T12:00:00Z"
    assert read["SalesQuotationFollowUpDate"] == "2025-04-01T12:00:00Z"


def test_read_only_entity_sets_refuse_writes_with_405(fo):
    fo.handle.seed(SellableReleasedProducts=1)
    response = fo.post("SellableReleasedProducts", {"ProductNumber": "P9"})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert response.json() == {"error": {"code": "", "message": "The requested resource does not support http method "
                                                                "'POST'."}}
    assert fo.patch("SellableReleasedProducts(dataAreaId='usmf',ProductNumber='P00001')",
                    {"SalesPrice": 1}).status_code == 405
    assert fo.delete("SalesInvoiceHeadersV2(dataAreaId='usmf',InvoiceNumber='X',InvoiceDate=2024-01-01T12:00:00Z,"
                     "LedgerVoucher='V')").status_code == 405
