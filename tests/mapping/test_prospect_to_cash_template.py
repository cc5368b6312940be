"""The Prospect-to-cash template's documented rules, each shown by mapping a realistic record through it.

Facts come from reference/p2c-templates.md (sections in the test names' docstrings); field names follow the two
emulators' schemas, which follow the real APIs.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from integration.mapping import MapDefinition, MappingError, MissingLink, ineligibility, map_record
from integration.services.templates import template_definitions, template_read
from tests.mapping.resolver import DictResolver

TEMPLATE = template_read(name="prospect_to_cash")
DEFINITIONS = {d.name: d for d in template_definitions(template=TEMPLATE)}
SPECS = {spec["name"]: spec for spec in TEMPLATE["entity_maps"]}

USD, EUR = "7a6b0d5e-0000-4000-8000-000000000001", "7a6b0d5e-0000-4000-8000-000000000002"
BU_US, BU_DE, BU_ROOT = ("b0000000-0000-4000-8000-00000000000" + n for n in "123")
UNIT_GROUP, OTHER_UNIT_GROUP = "5c000000-0000-4000-8000-000000000001", "5c000000-0000-4000-8000-000000000002"
UOMS = {"ea": "u0000000-0000-4000-8000-000000000001", "pcs": "u0000000-0000-4000-8000-000000000002",
        "box": "u0000000-0000-4000-8000-000000000003", "kg": "u0000000-0000-4000-8000-000000000004",
        "h": "u0000000-0000-4000-8000-000000000005"}
ACCOUNT_US, ACCOUNT_DE = "a0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000002"
CONTACT_CUSTOMER = "c0000000-0000-4000-8000-000000000009"
QUOTE = "q0000000-0000-4000-8000-000000000001"
PRODUCT = "p0000000-0000-4000-8000-000000000001"


@pytest.fixture
def resolver() -> DictResolver:
    """Sales reference data as the Dataverse emulator seeds it, the template's organization mappings, and the
    links earlier stages leave behind."""
    resolver = DictResolver(business_units={"Contoso US": "usmf", BU_US: "usmf", "Contoso DE": "demf",
                                            BU_DE: "demf"}, default_legal_entity="usmf")
    for system in ("source", "destination"):  # Sales is the source of most maps and the destination of Products
        for currency_id, code in ((USD, "USD"), (EUR, "EUR")):
            resolver.add_reference(system, "transactioncurrencies", {"transactioncurrencyid": currency_id,
                                                                     "isocurrencycode": code})
        resolver.add_reference(system, "uomschedules", {"uomscheduleid": OTHER_UNIT_GROUP, "name": "Weights"})
        resolver.add_reference(system, "uoms", {"uomid": "u-other-ea", "name": "ea",
                                                "_uomscheduleid_value": OTHER_UNIT_GROUP})
        resolver.add_reference(system, "uomschedules", {"uomscheduleid": UNIT_GROUP, "name": "Default Unit"})
        for name, uom_id in UOMS.items():
            resolver.add_reference(system, "uoms", {"uomid": uom_id, "name": name, "_uomscheduleid_value": UNIT_GROUP})
    resolver.add_link("Accounts", source_id=ACCOUNT_US, source_key="ACC-01000-BVRCPS",
                      destination_key={"dataAreaId": "usmf", "CustomerAccount": "ACC-01000-BVRCPS"})
    resolver.add_link("Accounts", source_id=ACCOUNT_DE, source_key="ACC-01001-QWERTY",
                      destination_key={"dataAreaId": "demf", "CustomerAccount": "ACC-01001-QWERTY"})
    resolver.add_link("Contacts to customers", source_id=CONTACT_CUSTOMER, source_key="CON-01009-ZXCVBN",
                      destination_key={"dataAreaId": "demf", "CustomerAccount": "CON-01009-ZXCVBN"})
    resolver.add_link("Products", source_key="P00001", destination_key={"productnumber": "P00001"},
                      destination_id=PRODUCT)
    resolver.add_link("Quotes", source_id=QUOTE, source_key="QUO-01000-ABCDEF",
                      destination_key={"dataAreaId": "demf", "SalesQuotationNumber": "QUO-01000-ABCDEF"})
    return resolver


def payload(map_name: str, record: dict, resolver: DictResolver) -> dict:
    definition = DEFINITIONS[map_name]
    assert ineligibility(definition, record) is None
    return map_record(definition, record, resolver).payload


def eligible_maps(record: dict, *names: str) -> list[str]:
    return [name for name in names if ineligibility(DEFINITIONS[name], record) is None]


# --- the template as a whole ---------------------------------------------------------------------------------------

def test_entity_maps_run_products_first_and_quote_lines_after_their_header():
    """DESIGN.md's table; p2c-templates 1.1: Products -> Accounts -> Contacts -> Quotes -> Orders (both ways) ->
    Invoices; lines after headers, price list items before the documents that need them."""
    assert list(DEFINITIONS) == ["Products", "Product price list items", "Accounts", "Contacts",
                                 "Contacts to customers", "Quotes", "Quote lines", "Sales orders", "Sales order lines",
                                 "Sales orders from F&O", "Sales order lines from F&O", "Freight tax lines",
                                 "Sales invoices", "Sales invoice lines"]
    assert [(s["source_entity_set"], s["destination_entity_set"]) for s in TEMPLATE["entity_maps"]] == [
        ("SellableReleasedProducts", "products"), ("SellableReleasedProducts", "productpricelevels"),
        ("accounts", "CustomersV3"), ("contacts", "CDSContactPersonsV2"),
        ("contacts", "CustomersV3"), ("quotes", "CDSSalesQuotationHeaders"),
        ("quotedetails", "CDSSalesQuotationLines"), ("salesorders", "CDSSalesOrderHeaders"),
        ("salesorderdetails", "CDSSalesOrderLines"), ("CDSSalesOrderHeaders", "salesorders"),
        ("CDSSalesOrderLines", "salesorderdetails"), ("CDSSalesOrderHeaders", "salesorderdetails"),
        ("SalesInvoiceHeadersV2", "invoices"), ("SalesInvoiceV2Lines", "invoicedetails")]


def test_the_template_organization_mappings_pick_companies_by_business_unit():
    """p2c-templates 3.1: organization mappings pair F&O legal entities with Sales business units."""
    assert TEMPLATE["organization_mappings"] == [
        {"business_unit": "Contoso US", "legal_entity": "usmf", "is_default": True, "exports_products": True},
        {"business_unit": "Contoso DE", "legal_entity": "demf", "is_default": False, "exports_products": False}]


def test_sales_sources_are_read_by_change_tracking_and_finops_by_full_scan():
    """F&O commercial entities have no modified timestamp (dynamics-apis 2.2)."""
    finops_sources = {name for name, spec in SPECS.items() if spec["direction"] == "finops_to_sales"}
    assert {name: spec["change_detection"] for name, spec in SPECS.items()} == {
        name: "full_scan" if name in finops_sources else "change_tracking" for name in SPECS}
    assert finops_sources == {"Products", "Product price list items", "Sales orders from F&O",
                              "Sales order lines from F&O", "Freight tax lines", "Sales invoices",
                              "Sales invoice lines"}


# --- 1. Products (F&O -> Sales) ------------------------------------------------------------------------------------

def sellable_product(**changes) -> dict:
    return {"@odata.etag": 'W/"JzAsNTYzNzE0NDU3Nic="', "dataAreaId": "usmf", "ProductNumber": "P00001",
            "ItemNumber": "P00001", "ProductName": "Premium Speaker",
            "ProductDescription": "Premium Speaker, model 418",
            "ProductType": "Item", "SalesUnitSymbol": "ea", "SalesUnitDecimalPrecision": 0,
            "InventoryUnitSymbol": "ea", "InventoryUnitDecimalPrecision": 0, "CurrencyCode": "USD",
            "SalesPrice": 1299.995, "UnitCost": 712.4, "IsSalesStopped": "No", "IsStockedProduct": "Yes", **changes}


def test_a_product_maps_to_a_sales_product(resolver):
    """p2c-templates 2.4 and dual-write's product map: number, name, prices, unit, unit group, currency; published
    (Active), as order and invoice lines can use only active products (dynamics-apis 1.3)."""
    assert payload("Products", sellable_product(), resolver) == {
        "productnumber": "P00001", "name": "Premium Speaker", "description": "Premium Speaker, model 418",
        "msdynce_ismaintainedexternally": True, "statecode": 0, "producttypecode": 1, "quantitydecimal": 0,
        "price": 1300.0, "currentcost": 712.4,
        "transactioncurrencyid@odata.bind": f"/transactioncurrencies({USD})",
        "defaultuomscheduleid@odata.bind": f"/uomschedules({UNIT_GROUP})",
        "defaultuomid@odata.bind": f"/uoms({UOMS['ea']})",
    }


def test_products_are_read_from_the_product_company_only():
    """p2c-templates 2.4: one company exports; the service fills in its dataAreaId."""
    assert SPECS["Products"]["source_filter"] == "dataAreaId eq '{product_company}'"
    assert DEFINITIONS["Products"].source_key_fields == ("ProductNumber",)
    assert DEFINITIONS["Products"].destination_key_fields == ("productnumber",)
    assert SPECS["Products"]["destination_id_field"] == "productid"


def test_products_are_marked_as_maintained_externally(resolver):
    """p2c-templates 2.4: Is Externally Maintained defaults to Yes on import."""
    assert payload("Products", sellable_product(), resolver)["msdynce_ismaintainedexternally"] is True


@pytest.mark.parametrize(("product_type", "code"), [("Item", 1), ("Service", 3)])
def test_the_product_type_maps_to_sales_inventory_or_services(resolver, product_type, code):
    """dynamics-apis 1.3: producttypecode 1 Sales Inventory, 3 Services."""
    assert payload("Products", sellable_product(ProductType=product_type), resolver)["producttypecode"] == code


@pytest.mark.parametrize("unit", ["ea", "kg", "h", "PCS"])
def test_the_sales_unit_goes_through_the_value_map_to_the_sales_unit_of_that_name(resolver, unit):
    """p2c-templates 2.4: value map SalesUnitSymbol -> DefaultUnit (Name)."""
    result = payload("Products", sellable_product(SalesUnitSymbol=unit), resolver)
    assert result["defaultuomid@odata.bind"] == f"/uoms({UOMS[unit.lower()]})"


def test_the_sales_unit_is_found_within_the_default_unit_group(resolver):
    """A unit's name is unique only within its unit group, and Sales refuses a default unit outside the product's
    unit group: "ea" of another group is never chosen."""
    result = payload("Products", sellable_product(), resolver)
    assert result["defaultuomid@odata.bind"] == f"/uoms({UOMS['ea']})" != "/uoms(u-other-ea)"


def test_a_unit_only_another_unit_group_has_fails_naming_the_group(resolver):
    resolver.add_reference("destination", "uoms", {"uomid": "u-ton", "name": "t",
                                                   "_uomscheduleid_value": OTHER_UNIT_GROUP})
    definition = DEFINITIONS["Products"]
    *fields, unit_rule = definition.fields
    scoped = replace(definition, fields=(*fields, replace(unit_rule, value_map={"t": "t"})))
    with pytest.raises(MappingError) as caught:
        map_record(scoped, sellable_product(SalesUnitSymbol="t"), resolver)
    assert str(caught.value) == (f"P00001: defaultuomid@odata.bind: no uoms record with name 't' and "
                                 f"_uomscheduleid_value '{UNIT_GROUP}'")


def test_a_sales_unit_missing_from_the_value_map_fails_the_product(resolver):
    """p2c-templates 2.4: every F&O selling unit must exist in Sales."""
    with pytest.raises(MappingError) as caught:
        payload("Products", sellable_product(SalesUnitSymbol="dozen"), resolver)
    assert str(caught.value) == "P00001: defaultuomid@odata.bind: no value map entry for 'dozen'"


def test_the_unit_group_is_default_unit(resolver):
    """p2c-templates 2.4: defaultuomscheduleid.name defaults to "Default unit"."""
    assert payload("Products", sellable_product(), resolver)["defaultuomscheduleid@odata.bind"] == \
        f"/uomschedules({UNIT_GROUP})"


def test_the_currency_is_the_exporting_company_accounting_currency(resolver):
    """p2c-templates 2.4: currency = accounting currency of the exporting legal entity."""
    result = payload("Products", sellable_product(dataAreaId="demf", CurrencyCode="EUR"), resolver)
    assert result["transactioncurrencyid@odata.bind"] == f"/transactioncurrencies({EUR})"


def test_the_product_name_is_cut_to_the_sales_length(resolver):
    """dynamics-apis 1.3: product name max 100."""
    assert payload("Products", sellable_product(ProductName="x" * 130), resolver)["name"] == "x" * 100


def test_quantity_decimals_default_to_zero(resolver):
    """Dual-write's product map: SALESUNITDECIMALPRECISION >> quantitydecimal (default 0)."""
    assert payload("Products", sellable_product(SalesUnitDecimalPrecision=None), resolver)["quantitydecimal"] == 0
    assert payload("Products", sellable_product(SalesUnitDecimalPrecision=3), resolver)["quantitydecimal"] == 3


# --- 2. Accounts (Sales -> F&O customers) --------------------------------------------------------------------------

def account(**changes) -> dict:
    return {"@odata.etag": 'W/"4711"', "accountid": ACCOUNT_DE, "accountnumber": "ACC-01001-QWERTY",
            "name": "Fabrikam GmbH", "telephone1": "+49 30 555 0199", "emailaddress1": "info@fabrikam.example",
            "address1_line1": "12 Hauptstraße", "address1_city": "Berlin", "address1_stateorprovince": "BE",
            "address1_postalcode": "10115", "address1_country": "Germany", "creditlimit": 50000,
            "_transactioncurrencyid_value": EUR, "_owningbusinessunit_value": BU_DE, "statecode": 0, **changes}


def test_an_account_maps_to_a_customer_with_the_documented_defaults(resolver):
    """p2c-templates 2.2: customer group 10, site 1, warehouse 13, language en-us, externally maintained."""
    assert payload("Accounts", account(), resolver) == {
        "dataAreaId": "demf", "CustomerAccount": "ACC-01001-QWERTY", "PartyType": "Organization",
        "OrganizationName": "Fabrikam GmbH", "CustomerGroupId": "10", "LanguageId": "en-us", "SiteId": "1",
        "WarehouseId": "13", "IsExternallyMaintained": "Yes", "SalesCurrencyCode": "EUR", "CreditLimit": 50000.0,
        "PrimaryContactPhone": "+49 30 555 0199", "PrimaryContactEmail": "info@fabrikam.example",
        "AddressStreet": "12 Hauptstraße", "AddressCity": "Berlin", "AddressState": "BE",
        "AddressZipCode": "10115", "AddressCountryRegionId": "DEU",
    }


def test_accounts_are_keyed_by_account_number_within_the_company():
    """p2c-templates 2.1: accountnumber <-> CustomerAccount + dataAreaId."""
    definition: MapDefinition = DEFINITIONS["Accounts"]
    assert (definition.source_key_fields, definition.destination_key_fields) == \
        (("accountnumber",), ("dataAreaId", "CustomerAccount"))
    assert "link_attributes" not in SPECS["Accounts"]  # contacts name the customer by account, not party


@pytest.mark.parametrize("number", [None, "", "  "])
def test_an_account_without_an_account_number_is_not_synced(number):
    """p2c-templates 2.1: "If there is no value in this field, we won't synchronize the records"."""
    assert ineligibility(DEFINITIONS["Accounts"], account(accountnumber=number)) == "accountnumber is blank"


@pytest.mark.parametrize(("business_unit", "company"), [(BU_US, "usmf"), (BU_DE, "demf"), (BU_ROOT, "usmf")])
def test_the_company_comes_from_the_business_unit_or_the_default(resolver, business_unit, company):
    """p2c-templates 3.1: organization mappings; an unmapped business unit goes to the default company."""
    assert payload("Accounts", account(_owningbusinessunit_value=business_unit), resolver)["dataAreaId"] == company


def test_an_account_of_an_unmapped_business_unit_fails_without_a_default():
    resolver = DictResolver(business_units={"Contoso DE": "demf"})
    with pytest.raises(MappingError, match="dataAreaId: no organization mapping for business unit"):
        map_record(DEFINITIONS["Accounts"], account(_owningbusinessunit_value=BU_ROOT), resolver)


@pytest.mark.parametrize(("country", "code"), [
    ("United States", "USA"), ("US", "USA"), ("usa", "USA"), ("Germany", "DEU"), ("DE", "DEU"), ("Canada", "CAN"),
    ("United Kingdom", "GBR"), ("France", "FRA"), ("Netherlands", "NLD"), ("", "USA"), (None, "USA"),
])
def test_the_country_goes_through_a_value_map_where_blank_means_usa(resolver, country, code):
    """p2c-templates 2.2 (v1 default USA) and the issue: country value maps with blank meaning the default."""
    assert payload("Accounts", account(address1_country=country), resolver)["AddressCountryRegionId"] == code


def test_an_unknown_country_fails_the_account_naming_it(resolver):
    with pytest.raises(MappingError) as caught:
        payload("Accounts", account(address1_country="Atlantis"), resolver)
    assert str(caught.value) == "ACC-01001-QWERTY: AddressCountryRegionId: no value map entry for 'Atlantis'"


def test_the_account_name_is_cut_to_the_finops_length(resolver):
    assert payload("Accounts", account(name="N" * 160), resolver)["OrganizationName"] == "N" * 100


def test_an_account_without_currency_or_credit_limit_gets_finops_defaults(resolver):
    result = payload("Accounts", account(_transactioncurrencyid_value=None, creditlimit=None), resolver)
    assert (result["SalesCurrencyCode"], result["CreditLimit"]) == (None, 0)


# --- 3 and 4. Contacts: to contact persons, or to person customers -------------------------------------------------

def contact(**changes) -> dict:
    return {"contactid": "c0000000-0000-4000-8000-000000000001", "msdynce_contactnumber": "CON-01000-BVRCPS",
            "firstname": "Anna", "lastname": "Müller", "emailaddress1": "anna.mueller@fabrikam.example",
            "telephone1": "+49 30 555 0100", "jobtitle": "Purchasing manager", "address1_line1": "5 Gartenweg",
            "address1_city": "Munich", "address1_stateorprovince": "BY", "address1_postalcode": "80331",
            "address1_country": "Germany", "_parentcustomerid_value": ACCOUNT_DE,
            "msdynce_isactivecustomer": False, "msdynce_iscompanyanaccount": True,
            "_transactioncurrencyid_value": EUR, "_owningbusinessunit_value": BU_US, **changes}


CONTACT_MAPS = ("Contacts", "Contacts to customers")


def test_a_contact_of_an_account_that_is_not_a_customer_goes_to_contact_persons():
    """p2c-templates 2.3: Is Active Customer = No and the company is an account -> contact person."""
    assert eligible_maps(contact(), *CONTACT_MAPS) == ["Contacts"]


def test_an_active_customer_contact_goes_to_customers():
    """p2c-templates 2.3: Is Active Customer = Yes -> F&O customer, whatever its parent."""
    assert eligible_maps(contact(msdynce_isactivecustomer=True), *CONTACT_MAPS) == ["Contacts to customers"]
    assert eligible_maps(contact(msdynce_isactivecustomer=True, msdynce_iscompanyanaccount=False),
                         *CONTACT_MAPS) == ["Contacts to customers"]


def test_a_contact_whose_company_is_not_an_account_and_not_a_customer_goes_nowhere():
    assert eligible_maps(contact(msdynce_iscompanyanaccount=False), *CONTACT_MAPS) == []
    assert ineligibility(DEFINITIONS["Contacts"], contact(msdynce_iscompanyanaccount=False)) == \
        "msdynce_iscompanyanaccount is False, not true"


def test_a_contact_with_no_active_customer_flag_counts_as_not_active():
    """The flag is a P2C column: older rows hold null until the upgrade script fills it."""
    assert eligible_maps(contact(msdynce_isactivecustomer=None), *CONTACT_MAPS) == ["Contacts"]


def test_a_contact_maps_to_a_contact_person_of_its_account_customer(resolver):
    """p2c-templates 2.3; CDSContactPersonsV2 (metadata): the contact person is associated with its customer by
    type and account number, and lands in its customer's company, not its own business unit's; the job title is
    the employment profession."""
    assert payload("Contacts", contact(), resolver) == {
        "dataAreaId": "demf", "AssociatedContactType": "Customer", "AssociatedContactNumber": "ACC-01001-QWERTY",
        "ContactPersonId": "CON-01000-BVRCPS", "FirstName": "Anna", "LastName": "Müller",
        "PrimaryEmailAddress": "anna.mueller@fabrikam.example", "PrimaryPhoneNumber": "+49 30 555 0100",
        "EmploymentProfession": "Purchasing manager", "IsContactPersonExternallyMaintained": "Yes",
    }


def test_contact_persons_are_found_by_company_and_contact_number():
    """The F&O key (ContactPersonPartyNumber) is server-generated, so lookup fields find existing rows; the
    record is then addressed by CDSContactPersonsV2's whole key."""
    assert DEFINITIONS["Contacts"].destination_key_fields == ("dataAreaId", "ContactPersonId")
    assert SPECS["Contacts"]["destination_lookup_fields"] == ["dataAreaId", "ContactPersonId"]
    assert SPECS["Contacts"]["destination_api_key_fields"] == [
        "dataAreaId", "ContactPersonPartyNumber", "AssociatedContactType", "AssociatedContactNumber"]


def test_a_contact_waits_for_its_parent_account():
    """p2c-templates 1.1: Contacts need Accounts first; the message names the parent."""
    resolver = DictResolver(default_legal_entity="usmf")
    with pytest.raises(MissingLink) as caught:
        map_record(DEFINITIONS["Contacts"], contact(), resolver)
    assert (caught.value.when_missing, caught.value.entity_maps) == ("wait", ("Accounts",))
    assert str(caught.value) == f"CON-01000-BVRCPS: dataAreaId: {ACCOUNT_DE} is not linked in Accounts yet"


def test_contact_names_are_cut_to_the_finops_length(resolver):
    result = payload("Contacts", contact(firstname="F" * 50, lastname="L" * 50), resolver)
    assert (result["FirstName"], result["LastName"]) == ("F" * 25, "L" * 25)


def test_an_active_customer_contact_maps_to_a_person_customer(resolver):
    """p2c-templates 2.3: contact -> customer defaults customer group 10 and language en-us, no site/warehouse."""
    record = contact(msdynce_isactivecustomer=True, _owningbusinessunit_value=BU_DE, address1_country=None)
    assert payload("Contacts to customers", record, resolver) == {
        "dataAreaId": "demf", "CustomerAccount": "CON-01000-BVRCPS", "PartyType": "Person",
        "PersonFirstName": "Anna", "PersonLastName": "Müller", "CustomerGroupId": "10", "LanguageId": "en-us",
        "IsExternallyMaintained": "Yes", "SalesCurrencyCode": "EUR", "PrimaryContactPhone": "+49 30 555 0100",
        "PrimaryContactEmail": "anna.mueller@fabrikam.example", "AddressStreet": "5 Gartenweg",
        "AddressCity": "Munich", "AddressState": "BY", "AddressZipCode": "80331", "AddressCountryRegionId": "USA",
    }


def test_a_contact_without_a_contact_number_is_not_synced():
    """p2c-templates 2.1: the contact number is the key on both routes."""
    for name in CONTACT_MAPS:
        assert ineligibility(DEFINITIONS[name], contact(msdynce_contactnumber="")) == "msdynce_contactnumber is blank"


# --- 5. Quotes -----------------------------------------------------------------------------------------------------

def quote(**changes) -> dict:
    return {"quoteid": QUOTE, "quotenumber": "QUO-01000-ABCDEF", "name": "Speakers for the Berlin office",
            "_customerid_value": ACCOUNT_DE, "_transactioncurrencyid_value": EUR, "statecode": 1, "statuscode": 2,
            "msdynce_hasexternallymaintainedproductsonly": True, "effectiveto": "2024-06-30T00:00:00Z",
            "requestdeliveryby": "2024-06-15", "shipto_line1": "12 Hauptstraße", "shipto_city": "Berlin",
            "shipto_stateorprovince": "BE", "shipto_postalcode": "10115", "shipto_country": "Germany",
            "_owningbusinessunit_value": BU_DE, **changes}


def test_an_active_quote_maps_to_a_sales_quotation_of_its_customer(resolver):
    """p2c-templates 2.5 and dual-write's quotation map: the quote number is kept; the customer account and
    company come from the customer's link."""
    assert payload("Quotes", quote(), resolver) == {
        "dataAreaId": "demf", "RequestingCustomerAccountNumber": "ACC-01001-QWERTY",
        "SalesQuotationNumber": "QUO-01000-ABCDEF", "SalesQuotationName": "Speakers for the Berlin office",
        "CurrencyCode": "EUR", "SalesQuotationExpiryDate": "2024-06-30T00:00:00Z",
        "RequestedShippingDate": "2024-06-15T00:00:00Z", "DeliveryAddressStreet": "12 Hauptstraße",
        "DeliveryAddressCity": "Berlin", "DeliveryAddressStateId": "BE", "DeliveryAddressZipCode": "10115",
        "DeliveryAddressCountryRegionISOCode": "DE",
    }


@pytest.mark.parametrize(("state", "only_external", "eligible"), [
    (1, True, True), (0, True, False), (2, True, False), (3, True, False), (1, False, False), (1, None, False),
])
def test_only_active_quotes_of_externally_maintained_products_are_synced(state, only_external, eligible):
    """p2c-templates 2.5: quote Active (statecode 1) and msdynce_hasexternallymaintainedproductsonly."""
    record = quote(statecode=state, msdynce_hasexternallymaintainedproductsonly=only_external)
    assert (ineligibility(DEFINITIONS["Quotes"], record) is None) is eligible


def test_a_quote_of_a_contact_customer_uses_the_contact_customer_link(resolver):
    """dual-write: REQUESTINGCUSTOMERACCOUNTNUMBER = customerid.Account(accountnumber).Contact(...)."""
    result = payload("Quotes", quote(_customerid_value=CONTACT_CUSTOMER), resolver)
    assert (result["dataAreaId"], result["RequestingCustomerAccountNumber"]) == ("demf", "CON-01009-ZXCVBN")


@pytest.mark.parametrize(("country", "code"), [("", "US"), (None, "US"), ("United States", "US"),
                                               ("Germany", "DE"), ("USA", "US"), ("GB", "GB")])
def test_the_ship_to_country_maps_to_iso_codes_and_blank_means_us(resolver, country, code):
    """p2c-templates 2.5: value map Shipto_country -> DeliveryAddressCountryRegionISOCode; blank = US."""
    result = payload("Quotes", quote(shipto_country=country), resolver)
    assert result["DeliveryAddressCountryRegionISOCode"] == code


def test_a_quote_waits_for_its_customer():
    """p2c-templates 1.1: Quotes need Accounts and Contacts to customers first."""
    with pytest.raises(MissingLink) as caught:
        map_record(DEFINITIONS["Quotes"], quote(), DictResolver())
    assert (caught.value.when_missing, caught.value.entity_maps) == ("wait", ("Accounts", "Contacts to customers"))


def test_a_quote_without_dates_leaves_them_out_for_finops_to_default(resolver):
    """Both dates are Nullable=false in F&O's metadata: a null would be refused, so they are not sent."""
    result = payload("Quotes", quote(effectiveto=None, requestdeliveryby=None), resolver)
    assert "SalesQuotationExpiryDate" not in result
    assert "RequestedShippingDate" not in result


# --- 6. Quote lines ------------------------------------------------------------------------------------------------

def quote_line(**changes) -> dict:
    return {"quotedetailid": "d0000000-0000-4000-8000-000000000001", "_quoteid_value": QUOTE,
            "_productid_value": PRODUCT, "_uomid_value": UOMS["ea"], "quantity": 3, "priceperunit": 1299.99,
            "manualdiscountamount": 10, "sequencenumber": 1, "lineitemnumber": 1,
            "quotedetailname": "Premium Speaker", "isproductoverridden": False, **changes}


def test_a_quote_line_maps_to_a_quotation_line_of_its_synced_header(resolver):
    """Dual-write's quotation line map: quotation number from the header, LINECREATIONSEQUENCENUMBER =
    sequencenumber, product number from the product, unit symbol from the unit, price, quantity, discount."""
    assert payload("Quote lines", quote_line(), resolver) == {
        "dataAreaId": "demf", "SalesQuotationNumber": "QUO-01000-ABCDEF", "LineCreationSequenceNumber": 1,
        "ProductNumber": "P00001", "SalesUnitSymbol": "ea", "RequestedSalesQuantity": 3.0, "SalesPrice": 1299.99,
        "LineDiscountAmount": 3.33, "FixedPriceCharges": -0.01, "LineDescription": "Premium Speaker",
    }


def test_quote_lines_are_addressed_by_their_real_key():
    """CDSSalesQuotationLines is keyed by company, quotation number and line creation sequence number
    (metadata), so a line is updated where it was created."""
    fields = ("dataAreaId", "SalesQuotationNumber", "LineCreationSequenceNumber")
    assert DEFINITIONS["Quote lines"].destination_key_fields == fields
    assert "destination_lookup_fields" not in SPECS["Quote lines"]


@pytest.mark.parametrize(("discount", "quantity", "unit", "charge"), [
    (10, 3, 3.33, -0.01), (10, 6, 1.67, 0.02), (9, 3, 3.0, 0.0), (None, 3, 0, 0), (0.05, 2, 0.02, -0.01),
    (10, 0.5, 20.0, 0.0)])
def test_the_line_discount_is_per_unit_with_the_rounding_as_a_charge(resolver, discount, quantity, unit, charge):
    """p2c-templates 2.6: Sales' discount is for the whole line, F&O's per unit; Microsoft's template divides
    by the quantity and books the rounding as a charge, so quantity x unit discount - charge = the discount."""
    result = payload("Quote lines", quote_line(manualdiscountamount=discount, quantity=quantity), resolver)
    assert (result["LineDiscountAmount"], result["FixedPriceCharges"]) == (unit, charge)
    assert round(quantity * result["LineDiscountAmount"] - result["FixedPriceCharges"], 2) == (discount or 0)


def test_a_discount_on_a_line_without_quantity_fails_naming_the_field(resolver):
    with pytest.raises(MappingError) as caught:
        payload("Quote lines", quote_line(manualdiscountamount=5, quantity=0), resolver)
    assert str(caught.value).endswith("LineDiscountAmount: 5 cannot be spread over a quantity of 0")


def test_a_line_of_a_quote_that_was_not_synced_is_skipped():
    """p2c-templates 2.5: lines follow their header; a draft quote's lines are left out, not failed."""
    with pytest.raises(MissingLink) as caught:
        map_record(DEFINITIONS["Quote lines"], quote_line(_quoteid_value="q-draft"), DictResolver())
    assert (caught.value.when_missing, caught.value.field) == ("skip", "dataAreaId")


def test_a_write_in_line_is_not_synced():
    """p2c-templates 7 #14: write-in products are not allowed on synced quotes."""
    record = quote_line(_productid_value=None, isproductoverridden=True, productdescription="Installation")
    assert ineligibility(DEFINITIONS["Quote lines"], record) == "_productid_value is blank"


def test_a_line_of_a_product_that_did_not_come_from_finops_waits_then_fails_naming_it(resolver):
    with pytest.raises(MissingLink) as caught:
        map_record(DEFINITIONS["Quote lines"], quote_line(_productid_value="p-sales-only"), resolver)
    assert (caught.value.when_missing, caught.value.entity_maps, caught.value.value) == \
        ("wait", ("Products",), "p-sales-only")


@pytest.mark.parametrize("unit", ["ea", "kg", "h", "box", "pcs"])
def test_the_line_unit_name_maps_to_the_finops_sales_unit(resolver, unit):
    """p2c-templates 2.5: line value map uomid.name -> SalesUnitSymbol."""
    assert payload("Quote lines", quote_line(_uomid_value=UOMS[unit]), resolver)["SalesUnitSymbol"] == unit


def test_a_line_in_a_unit_finops_does_not_know_fails_naming_it(resolver):
    resolver.add_reference("source", "uoms", {"uomid": "u-primary", "name": "Primary Unit"})
    with pytest.raises(MappingError) as caught:
        payload("Quote lines", quote_line(_uomid_value="u-primary"), resolver)
    assert str(caught.value).endswith("SalesUnitSymbol: no value map entry for 'Primary Unit'")


def test_line_prices_are_rounded_half_even_to_cents(resolver):
    result = payload("Quote lines", quote_line(priceperunit="10.125", manualdiscountamount=None), resolver)
    assert (result["SalesPrice"], result["LineDiscountAmount"]) == (10.12, 0)
