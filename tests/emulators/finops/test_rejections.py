"""What F&O's OData layer refuses, with its status and body: names Microsoft's metadata does not have (the
emulator used to invent some), nulls for non-nullable properties, keys that are not the entity's, enums written
in another case or as numbers."""

from __future__ import annotations

import pytest

from tests.emulators.finops.conftest import ODATA_JSON, infolog

ODATA_ERROR = "Microsoft.OData.ODataException"


def _bad_request(response, message: str, *, query: bool = False) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == ODATA_JSON
    outer = f"The query specified in the URI is not valid. {message}" if query else message
    assert response.json() == {"error": {"code": "", "message": outer, "innererror": {
        "message": message, "type": ODATA_ERROR, "stacktrace": ""}}}


def _no_property(name: str, type_name: str) -> str:
    return (f"The property '{name}' does not exist on type 'Microsoft.Dynamics.DataEntities.{type_name}'. Make sure "
            "to only use property names that are defined by the type.")


@pytest.fixture
def quote(fo):
    fo.customer("C-1")
    return fo.post("CDSSalesQuotationHeaders", {"SalesQuotationNumber": "Q1",
                                                "RequestingCustomerAccountNumber": "C-1"}).json()


@pytest.mark.parametrize(("entity_set", "type_name", "field"), [
    ("CDSSalesQuotationHeaders", "CDSSalesQuotationHeader", "SiteId"),
    ("CDSSalesQuotationHeaders", "CDSSalesQuotationHeader", "WarehouseId"),
    ("CDSSalesOrderHeaders", "CDSSalesOrderHeader", "DeliveryAddressState"),
    ("CDSContactPersons", "CDSContactPerson", "ContactPersonId"),
    ("CDSContactPersons", "CDSContactPerson", "JobTitle"),
    ("CDSSalesQuotationLines", "CDSSalesQuotationLine", "ItemNumber"),
    ("ReleasedProductsV2", "ReleasedProductV2", "ProductName"),
    ("LegalEntities", "LegalEntity", "AccountingCurrency"),
])
def test_a_field_microsoft_does_not_publish_is_refused_in_a_body(fo, entity_set, type_name, field):
    _bad_request(fo.post(entity_set, {field: "x"}), _no_property(field, type_name))


def test_the_real_field_names_are_taken(fo, quote):
    path = "CDSSalesQuotationHeaders(dataAreaId='usmf',SalesQuotationNumber='Q1')"
    assert fo.patch(path, {"DefaultShippingSiteId": "1", "DefaultShippingWarehouseId": "13",
                           "DeliveryAddressStateId": "WA"}).status_code == 204
    read = fo.get(f"{path}?$select=DefaultShippingSiteId,DefaultShippingWarehouseId,DeliveryAddressStateId").json()
    assert (read["DefaultShippingSiteId"], read["DefaultShippingWarehouseId"], read["DeliveryAddressStateId"]) == \
        ("1", "13", "WA")


@pytest.mark.parametrize("query", ["$select=SalesQuotationNumber,SiteId", "$filter=SiteId eq '1'",
                                   "$orderby=SiteId desc", "$expand=SiteId", "$expand=SalesQuotationLines"])
def test_an_unknown_property_in_a_query_names_it_and_the_type(fo, quote, query):
    name = query.split("=")[1].split(",")[-1].split()[0]
    _bad_request(fo.get(f"CDSSalesQuotationHeaders?{query}"),
                 f"Could not find a property named '{name}' on type "
                 "'Microsoft.Dynamics.DataEntities.CDSSalesQuotationHeader'.", query=True)


@pytest.mark.parametrize(("field", "expected_type"), [("CreditLimit", "Edm.Decimal"), ("dataAreaId", "Edm.String"),
                                                      ("DeliveryAddressValidFrom", "Edm.DateTimeOffset")])
def test_null_for_a_non_nullable_property_is_400(fo, field, expected_type):
    expected = f"{expected_type}[Nullable=False]"
    message = (f"A null value was found for the property named '{field}', which has the expected type "
               f"'{expected}'. The expected type '{expected}' does not allow null values.")
    body = {"CustomerAccount": "C-1", "OrganizationName": "x", "CustomerGroupId": "10", field: None}
    _bad_request(fo.post("CustomersV3", body), message)
    fo.customer("C-1")
    _bad_request(fo.patch("CustomersV3(dataAreaId='usmf',CustomerAccount='C-1')", {field: None}), message)


def test_null_for_a_nullable_property_stores_its_empty_value(fo):
    fo.customer("C-1", PrimaryContactEmail="a@example.com", OnHoldStatus="All", SalesSegmentId="SEG")
    path = "CustomersV3(dataAreaId='usmf',CustomerAccount='C-1')"
    assert fo.patch(path, {"PrimaryContactEmail": None, "OnHoldStatus": None, "SalesSegmentId": None}) \
        .status_code == 204
    read = fo.get(path).json()
    assert (read["PrimaryContactEmail"], read["OnHoldStatus"], read["SalesSegmentId"]) == ("", "No", "")


def test_a_key_that_is_not_the_entitys_key_is_400(fo, quote):
    fo.handle.seed(SellableReleasedProducts=1)
    fo.post("CDSSalesQuotationLines", {"SalesQuotationNumber": "Q1", "ProductNumber": "P00001"})
    message = ("The key in the request URI is not valid for resource "
               "'Microsoft.Dynamics.DataEntities.CDSSalesQuotationLine'. Ensure that the names and number of key "
               "properties match the declared or alternate key properties for the resource "
               "'Microsoft.Dynamics.DataEntities.CDSSalesQuotationLine'.")
    _bad_request(fo.get("CDSSalesQuotationLines(dataAreaId='usmf',InventoryLotId='000001')"), message)
    _bad_request(fo.get("CDSSalesQuotationLines(dataAreaId='usmf',SalesQuotationNumber='Q1')"), message)
    assert fo.get("CDSSalesQuotationLines(dataAreaId='usmf',LineCreationSequenceNumber=1,"
                  "SalesQuotationNumber='Q1')").status_code == 200


def test_an_enum_member_in_another_case_is_refused(fo):
    message = infolog(fo.post("CustomersV3", {"CustomerAccount": "C-1", "OrganizationName": "x",
                                              "CustomerGroupId": "10", "IsExternallyMaintained": "yes"}))
    assert message == ("Write failed for table row of type 'CustCustomerV3Entity'. Infolog: Warning: 'yes' is not a "
                       "valid value of the enumeration 'NoYes' for field 'Is externally maintained'.; Warning: "
                       "validateField failed on field 'CustCustomerV3Entity.IsExternallyMaintained'.")
    assert "'customer' is not a valid value of the enumeration 'smmContactPersonCDSAssociatedContactType'" in infolog(
        fo.post("CDSContactPersonsV2", {"AssociatedContactType": "customer", "AssociatedContactNumber": "C-1"}))
    assert fo.get("CustomersV3/$count").text == "0"


def test_an_enum_written_as_a_number_is_400_as_odatalib_reads_it(fo):
    _bad_request(fo.post("CustomersV3", {"CustomerAccount": "C-1", "OrganizationName": "x", "CustomerGroupId": "10",
                                         "IsExternallyMaintained": 1}),
                 "Cannot read the value '1' as a quoted JSON string value.")
