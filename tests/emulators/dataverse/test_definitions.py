"""The metadata endpoints a pre-flight check reads: `$metadata` (CSDL) and `EntityDefinitions`, both from the
served tables and the environment's keys and change tracking."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import pytest

from tests.emulators.dataverse.client import error_of

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def environment(dv, body: dict) -> None:
    dv.handle.control("PUT", "environment", body)


def csdl(dv) -> ET.Element:
    response = dv.get("$metadata")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml"
    return ET.fromstring(response.content)  # noqa: S314 - the emulator's own document, over loopback


def entity_type(root: ET.Element, name: str) -> ET.Element:
    found = root.find(f".//{EDM}EntityType[@Name='{name}']")
    assert found is not None, name
    return found


def alternate_keys(element: ET.Element) -> list[list[str]]:
    annotation = element.find(f"{EDM}Annotation[@Term='OData.Community.Keys.V1.AlternateKeys']")
    if annotation is None:
        return []
    return [[ref.get("PropertyPath") for ref in key.iter(f"{EDM}PropertyValue") if ref.get("Property") == "Name"]
            for key in annotation.find(f"{EDM}Collection")]


def change_tracking(root: ET.Element, entity_set: str) -> str:
    found = root.find(f".//{EDM}EntitySet[@Name='{entity_set}']/{EDM}Annotation"
                      f"[@Term='Org.OData.Capabilities.V1.ChangeTracking']/{EDM}Record/{EDM}PropertyValue"
                      "[@Property='Supported']")
    return found.get("Bool")


def test_csdl_declares_keys_properties_and_navigation_from_the_metadata(dv):
    root = csdl(dv)
    account = entity_type(root, "account")
    assert [ref.get("Name") for ref in account.find(f"{EDM}Key")] == ["accountid"]
    properties = {p.get("Name"): p for p in account.findall(f"{EDM}Property")}
    assert (properties["accountnumber"].get("Type"), properties["accountnumber"].get("MaxLength")) == ("Edm.String",
                                                                                                        "20")
    assert properties["_parentaccountid_value"].get("Type") == "Edm.Guid"
    assert properties["creditlimit"].get("Type") == "Edm.Decimal"
    assert properties["versionnumber"].get("Type") == "Edm.Int64"
    assert properties["entityimage"].get("Type") == "Edm.Binary"
    assert properties["adx_createdbyusername"].get("Type") == "Edm.String"  # type unknown in the metadata
    assert "parentaccountid" not in properties
    assert "createdbyname" not in properties
    navigation = {n.get("Name"): n for n in account.findall(f"{EDM}NavigationProperty")}
    parent = navigation["parentaccountid"]
    assert parent.get("Type") == "mscrm.account"
    constraint = parent.find(f"{EDM}ReferentialConstraint")
    assert (constraint.get("Property"), constraint.get("ReferencedProperty")) == ("_parentaccountid_value",
                                                                                  "accountid")
    assert navigation["contact_customer_accounts"].get("Type") == "Collection(mscrm.contact)"
    assert "createdby" not in navigation  # systemuser is not served
    contact = {n.get("Name"): n.get("Type") for n in entity_type(root, "contact").findall(f"{EDM}NavigationProperty")}
    assert (contact["parentcustomerid_account"], contact["parentcustomerid_contact"]) == ("mscrm.account",
                                                                                          "mscrm.contact")
    order_line = {n.get("Name") for n in entity_type(root, "salesorderdetail").findall(f"{EDM}NavigationProperty")}
    assert "QuoteDetailId" in order_line
    assert "quotedetailid" not in order_line
    quote = {n.get("Name"): n.get("Type") for n in entity_type(root, "quote").findall(f"{EDM}NavigationProperty")}
    assert quote["quote_details"] == "Collection(mscrm.quotedetail)"


def test_csdl_annotates_active_alternate_keys_and_change_tracking_per_entity_set(dv):
    root = csdl(dv)
    assert alternate_keys(entity_type(root, "contact")) == [["msdynce_contactnumber"]]
    assert alternate_keys(entity_type(root, "product")) == [["productnumber"]]
    assert alternate_keys(entity_type(root, "pricelevel")) == []
    assert (change_tracking(root, "accounts"), change_tracking(root, "pricelevels")) == ("true", "false")
    environment(dv, {"alternate_keys": {"products": {"productnumber": {"status": "Pending"},
                                                     "pair": {"columns": ["name", "productnumber"]}}},
                     "change_tracking": {"accounts": False, "pricelevels": True}})
    root = csdl(dv)
    assert alternate_keys(entity_type(root, "product")) == [["name", "productnumber"]]
    assert (change_tracking(root, "accounts"), change_tracking(root, "pricelevels")) == ("false", "true")


def test_entity_definition_by_logical_name_has_the_documented_properties(dv):
    body = dv.get("EntityDefinitions(LogicalName='account')").json()
    assert body["@odata.context"] == f"{dv.api}$metadata#EntityDefinitions/$entity"
    assert {key: body[key] for key in ("LogicalName", "EntitySetName", "PrimaryIdAttribute", "PrimaryNameAttribute",
                                       "ChangeTrackingEnabled")} == {
        "LogicalName": "account", "EntitySetName": "accounts", "PrimaryIdAttribute": "accountid",
        "PrimaryNameAttribute": "name", "ChangeTrackingEnabled": True}
    assert uuid.UUID(body["MetadataId"])
    by_id = dv.get(f"EntityDefinitions({body['MetadataId']})?$select=LogicalName").json()
    assert by_id["LogicalName"] == "account"
    selected = dv.get("EntityDefinitions(LogicalName='pricelevel')?$select=EntitySetName,ChangeTrackingEnabled").json()
    assert set(selected) == {"@odata.context", "EntitySetName", "ChangeTrackingEnabled", "MetadataId"}
    assert selected["ChangeTrackingEnabled"] is False


def test_attributes_carry_types_required_levels_validity_lengths_and_targets(dv):
    body = dv.get("EntityDefinitions(LogicalName='product')?$select=LogicalName&$expand=Attributes").json()
    assert body["@odata.context"] == f"{dv.api}$metadata#EntityDefinitions(LogicalName,Attributes)/$entity"
    attributes = {item["LogicalName"]: item for item in body["Attributes"]}
    number = attributes["productnumber"]
    assert number["@odata.type"] == "#Microsoft.Dynamics.CRM.StringAttributeMetadata"
    assert (number["AttributeType"], number["AttributeTypeName"], number["MaxLength"]) == (
        "String", {"Value": "StringType"}, 100)
    assert number["RequiredLevel"]["Value"] == "SystemRequired"
    assert attributes["name"]["RequiredLevel"]["Value"] == "ApplicationRequired"
    assert (number["IsValidForCreate"], number["IsValidForUpdate"], number["IsValidForRead"]) == (True, True, True)
    price_list = attributes["pricelevelid"]
    assert price_list["@odata.type"] == "#Microsoft.Dynamics.CRM.LookupAttributeMetadata"
    assert (price_list["IsValidForCreate"], price_list["IsValidForUpdate"], price_list["Targets"]) == (
        False, True, ["pricelevel"])
    assert attributes["productid"]["IsPrimaryId"] is True
    assert attributes["msdynce_ismaintainedexternally"]["AttributeType"] == "Boolean"
    assert attributes["statecode"]["@odata.type"] == "#Microsoft.Dynamics.CRM.StateAttributeMetadata"


def test_expanded_attributes_take_a_nested_select_and_filter(dv):
    body = dv.get("EntityDefinitions(LogicalName='contact')?$select=LogicalName&$expand=Attributes($select="
                  "LogicalName,AttributeType;$filter=AttributeType eq Microsoft.Dynamics.CRM.AttributeTypeCode"
                  "'Customer')").json()
    assert body["Attributes"] == [{"@odata.type": "#Microsoft.Dynamics.CRM.LookupAttributeMetadata",
                                   "LogicalName": "parentcustomerid", "AttributeType": "Customer",
                                   "MetadataId": body["Attributes"][0]["MetadataId"]}]
    refused = dv.get("EntityDefinitions(LogicalName='contact')?$expand=Attributes($select=MaxLength)")
    assert refused.status_code == 400
    assert error_of(refused)["message"] == ("Could not find a property named 'MaxLength' on type "
                                            "'Microsoft.Dynamics.CRM.AttributeMetadata'.")


def test_keys_show_their_index_status(dv):
    environment(dv, {"alternate_keys": {"products": {"productnumber": {"status": "Pending"}}}})
    body = dv.get("EntityDefinitions(LogicalName='product')?$select=LogicalName&$expand=Keys").json()
    assert [(key["LogicalName"], key["KeyAttributes"], key["EntityKeyIndexStatus"]) for key in body["Keys"]] == [
        ("productnumber", ["productnumber"], "Pending")]
    keys = dv.get("EntityDefinitions(LogicalName='contact')/Keys").json()
    assert keys["@odata.context"].endswith("/Keys")
    assert [(key["SchemaName"], key["EntityKeyIndexStatus"], key["IsManaged"]) for key in keys["value"]] == [
        ("msdynce_contactnumber", "Active", True)]
    assert dv.get("EntityDefinitions(LogicalName='pricelevel')/Keys").json()["value"] == []


def test_attributes_cast_to_a_type_bring_its_own_properties(dv):
    body = dv.get("EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata"
                  "?$select=LogicalName,MaxLength&$filter=LogicalName eq 'accountnumber'").json()
    assert body["@odata.context"].endswith("/Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata"
                                           "(LogicalName,MaxLength)")
    assert [(item["LogicalName"], item["MaxLength"]) for item in body["value"]] == [("accountnumber", 20)]
    one = dv.get("EntityDefinitions(LogicalName='account')/Attributes(LogicalName='name')").json()
    assert (one["LogicalName"], one["MaxLength"], one["IsPrimaryName"]) == ("name", 160, True)


def test_the_definitions_collection_filters_on_primitive_properties(dv):
    body = dv.get("EntityDefinitions?$select=LogicalName,EntitySetName&$filter=ChangeTrackingEnabled eq false").json()
    assert {row["EntitySetName"] for row in body["value"]} == {
        "pricelevels", "productpricelevels", "uoms", "uomschedules", "transactioncurrencies", "businessunits"}


@pytest.mark.parametrize("path", ["EntityDefinitions(LogicalName='widget')",
                                  "EntityDefinitions(LogicalName='widget')/Attributes"])
def test_an_unknown_table_definition_is_404(dv, path):
    response = dv.get(path)
    assert response.status_code == 404
    assert error_of(response) == {"code": "0x80040217", "message": "Could not find an entity with name widget and "
                                  "id 00000000-0000-0000-0000-000000000000."}


def test_selecting_a_property_entity_metadata_lacks_is_400(dv):
    response = dv.get("EntityDefinitions(LogicalName='account')?$select=Nonsense")
    assert response.status_code == 400
    assert error_of(response)["message"] == ("Could not find a property named 'Nonsense' on type "
                                             "'Microsoft.Dynamics.CRM.EntityMetadata'.")
