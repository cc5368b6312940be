"""The served surface is Microsoft's: `$metadata` is generated from the published metadata, every entity set
renders exactly its properties, and a hand-declared column that disagrees with the metadata fails at import."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from connectors.emulators.finops.entities import ENTITY_SETS
from connectors.emulators.finops.schema import TableSpec, amount, text
from connectors.emulators.finops.surface import EntitySet, Join, SchemaError, check
from connectors.emulators.finops.tables import CUSTOMER, QUOTATION, QUOTATION_LINE
from connectors.emulators.microsoft_metadata import finops_entities, finops_enums

NS = {"edmx": "http://docs.oasis-open.org/odata/ns/edmx", "edm": "http://docs.oasis-open.org/odata/ns/edm"}
REQUIRED = ("CustomersV3", "CDSContactPersons", "CDSContactPersonsV2", "ContactPersons", "CDSSalesQuotationHeaders",
            "CDSSalesQuotationLines", "SellableReleasedProducts", "ReleasedProductsV2", "CDSSalesOrderHeaders",
            "CDSSalesOrderLines", "SalesOrderHeadersV2", "SalesOrderLines", "SalesInvoiceHeadersV2",
            "SalesInvoiceV2Lines", "CustomerGroups", "LegalEntities", "UnitsOfMeasure", "PaymentTerms")


@pytest.fixture
def schema(fo) -> ET.Element:
    response = fo.get("$metadata")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml"
    root = ET.fromstring(response.content)  # noqa: S314 - our own emulator's document
    assert root.tag == f"{{{NS['edmx']}}}Edmx"
    [found] = root.findall("edmx:DataServices/edm:Schema[@Namespace='Microsoft.Dynamics.DataEntities']", NS)
    return found


def _entity_type(schema: ET.Element, name: str) -> ET.Element:
    [found] = schema.findall(f"edm:EntityType[@Name='{name}']", NS)
    return found


def test_every_served_entity_set_is_in_the_metadata_and_the_container(fo, schema):
    served = {element.get("Name"): element.get("EntityType")
              for element in schema.findall("edm:EntityContainer/edm:EntitySet", NS)}
    assert set(REQUIRED) <= set(served) <= set(finops_entities())
    assert served == {name: entity.qualified_type for name, entity in finops_entities().items() if name in served}
    listed = {row["name"] for row in fo.get("").json()["value"]}
    assert listed == set(served)


def test_entity_types_have_the_metadatas_keys_types_and_nullability(schema):
    for name in ("CDSSalesQuotationLines", "CDSSalesOrderLines", "SalesOrderLines", "CDSContactPersonsV2",
                 "CDSContactPersons", "ContactPersons", "CustomersV3"):
        entity = finops_entities()[name]
        element = _entity_type(schema, entity.type_name)
        assert tuple(ref.get("Name") for ref in element.findall("edm:Key/edm:PropertyRef", NS)) == entity.key
        properties = {p.get("Name"): (p.get("Type"), p.get("Nullable")) for p in element.findall("edm:Property", NS)}
        assert properties == {p.name: (p.qualified_type, None if p.nullable else "false")
                              for p in entity.properties.values()}
    line = _entity_type(schema, "CDSSalesQuotationLine")
    assert [ref.get("Name") for ref in line.findall("edm:Key/edm:PropertyRef", NS)] == [
        "dataAreaId", "LineCreationSequenceNumber", "SalesQuotationNumber"]
    assert line.find("edm:Property[@Name='SalesPrice']", NS).get("Nullable") == "false"


def test_navigation_properties_keep_microsofts_names_and_lead_to_served_sets(schema):
    header = _entity_type(schema, "CDSSalesQuotationHeader")
    navigations = {n.get("Name"): n.get("Type") for n in header.findall("edm:NavigationProperty", NS)}
    assert navigations == {
        "CDSSalesQuotationLines": "Collection(Microsoft.Dynamics.DataEntities.CDSSalesQuotationLine)",
        "CDSSalesOrderHeader": "Microsoft.Dynamics.DataEntities.CDSSalesOrderHeader"}
    line = _entity_type(schema, "CDSSalesQuotationLine")
    assert [n.get("Name") for n in line.findall("edm:NavigationProperty", NS)] == ["CDSSalesQuotationHeader"]
    assert _entity_type(schema, "CDSContactPersonV2").findall("edm:NavigationProperty", NS) == []  # CDSParties
    [binding] = schema.findall("edm:EntityContainer/edm:EntitySet[@Name='CDSSalesQuotationLines']"
                               "/edm:NavigationPropertyBinding", NS)
    assert (binding.get("Path"), binding.get("Target")) == ("CDSSalesQuotationHeader", "CDSSalesQuotationHeaders")


def test_enum_types_list_their_members_and_values(schema):
    [element] = schema.findall("edm:EnumType[@Name='smmContactPersonCDSAssociatedContactType']", NS)
    members = {m.get("Name"): int(m.get("Value")) for m in element.findall("edm:Member", NS)}
    assert members == finops_enums()["smmContactPersonCDSAssociatedContactType"] == {
        "Customer": 0, "Vendor": 1, "Contact": 2, "NotSupported": 3, "Prospect": 4}
    [status] = schema.findall("edm:EnumType[@Name='SalesOrderProcessingStatus']", NS)
    assert "None" not in {m.get("Name") for m in status.findall("edm:Member", NS)}


def test_every_property_renders_and_unwritten_ones_hold_their_empty_value(fo):
    created = fo.customer("C-1")
    assert list(created) == ["@odata.context", "@odata.etag", *finops_entities()["CustomersV3"].properties]
    assert len(created) == 2 + 305
    assert (created["SalesSegmentId"], created["IsFinalUser"], created["DeliveryAddressLongitude"],
            created["DeliveryAddressValidFrom"]) == ("", "No", 0, "1900-01-01T12:00:00Z")


def _customers_with(*fields, **aliases) -> EntitySet:
    table = TableSpec("CustTable", "Customers", CUSTOMER.key, (*CUSTOMER.fields[:2], *fields))
    return EntitySet("CustomersV3", table, "CustCustomerV3Entity", aliases=aliases)


@pytest.mark.parametrize(("entity_set", "problem"), [
    (_customers_with(text("Name", 100)), "CustTable.Name is exposed by no entity set"),
    (_customers_with(amount("CustomerGroupId")), "CustomersV3.CustomerGroupId is Edm.String in Microsoft's metadata"),
    (_customers_with(text("Nickname", 20), Nickname="OrganizationName"),
     "alias of 'Nickname', which is not a property"),
    (EntitySet("Currencies", CUSTOMER, "CurrencyEntity"), "Currencies is not an entity set in Microsoft's metadata"),
    (EntitySet("CDSSalesQuotationLines", QUOTATION_LINE.__class__(
        "SalesQuotationLine", "Quotation lines", QUOTATION_LINE.key, QUOTATION_LINE.fields), "X"),
     "no primary key or unique index"),
])
def test_a_declaration_that_disagrees_with_the_metadata_fails(entity_set, problem):
    with pytest.raises(SchemaError, match=problem):
        check([entity_set])


def test_a_join_must_name_a_navigation_of_the_metadata_with_a_served_target():
    header = EntitySet("CDSSalesQuotationHeaders", QUOTATION, "X",
                       joins={"SalesQuotationLines": Join(("dataAreaId", "SalesQuotationNumber"), "quotation")})
    with pytest.raises(SchemaError, match="'SalesQuotationLines' is not a navigation property"):
        check([header, ENTITY_SETS["CDSSalesQuotationLines"]])
    alone = EntitySet("CDSSalesQuotationHeaders", QUOTATION, "X",
                      joins={"CDSSalesQuotationLines": Join(("dataAreaId", "SalesQuotationNumber"), "quotation")})
    with pytest.raises(SchemaError, match="leads to CDSSalesQuotationLines, which is not served"):
        check([alone])
