"""The Prospect-to-cash template's order and invoice maps: each documented rule of p2c-templates 2.6 and 2.7 (and the
dual-write maps of 6.2 and 6.3 where those sections are silent), shown by mapping a realistic record through it.

Field names follow Microsoft's metadata; the records are as the emulators' OData answers spell them (F&O enums as
member names, NoYes as "Yes"/"No", decimals as numbers).
"""

from __future__ import annotations

import uuid

import pytest

from integration.mapping import DERIVED_ID_NAMESPACE, MissingLink, ineligibility, map_record
from integration.services.templates import template_definitions, template_read
from tests.mapping.resolver import DictResolver

TEMPLATE = template_read(name="prospect_to_cash")
DEFINITIONS = {d.name: d for d in template_definitions(template=TEMPLATE)}
SPECS = {spec["name"]: spec for spec in TEMPLATE["entity_maps"]}

USD, EUR = "7a6b0d5e-0000-4000-8000-000000000001", "7a6b0d5e-0000-4000-8000-000000000002"
USA_LIST, EUROPE_LIST = "9e000000-0000-4000-8000-000000000001", "9e000000-0000-4000-8000-000000000002"
UNIT_GROUP, EA = "5c000000-0000-4000-8000-000000000001", "u0000000-0000-4000-8000-000000000001"
ACCOUNT, CONTACT = "a0000000-0000-4000-8000-000000000001", "c0000000-0000-4000-8000-000000000009"
ORDER, SALES_LINE = "0d000000-0000-4000-8000-000000000001", "1d000000-0000-4000-8000-000000000001"
INVOICE, PRODUCT = "1e000000-0000-4000-8000-000000000001", "p0000000-0000-4000-8000-000000000001"
QUOTE = "q0000000-0000-4000-8000-000000000001"


@pytest.fixture
def resolver() -> DictResolver:
    """Sales reference data as the emulator seeds it, and the links the earlier maps leave."""
    resolver = DictResolver(default_legal_entity="usmf")
    for system in ("source", "destination"):
        for currency_id, code in ((USD, "USD"), (EUR, "EUR")):
            resolver.add_reference(system, "transactioncurrencies", {"transactioncurrencyid": currency_id,
                                                                     "isocurrencycode": code})
        resolver.add_reference(system, "uomschedules", {"uomscheduleid": UNIT_GROUP, "name": "Default Unit"})
        resolver.add_reference(system, "uoms", {"uomid": EA, "name": "ea", "_uomscheduleid_value": UNIT_GROUP})
    for list_id, name in ((USA_LIST, "CRM Service USA (sample)"), (EUROPE_LIST, "CRM Service Europe (sample)")):
        resolver.add_reference("destination", "pricelevels", {"pricelevelid": list_id, "name": name})
    resolver.add_link("Accounts", source_id=ACCOUNT, source_key="ACC-01000-BVRCPS",
                      destination_key={"dataAreaId": "usmf", "CustomerAccount": "ACC-01000-BVRCPS"})
    resolver.add_link("Contacts to customers", source_id=CONTACT, source_key="CON-01009-ZXCVBN",
                      destination_key={"dataAreaId": "demf", "CustomerAccount": "CON-01009-ZXCVBN"})
    resolver.add_link("Products", source_key="P00001", destination_key={"productnumber": "P00001"},
                      destination_id=PRODUCT)
    resolver.add_link("Quotes", source_id=QUOTE, source_key="QUO-01000-ABCDEF",
                      destination_key={"dataAreaId": "usmf", "SalesQuotationNumber": "QUO-01000-ABCDEF"})
    resolver.add_link("Sales orders", source_id=ORDER, source_key="ORD-01000-ABCDEF",
                      destination_key={"dataAreaId": "usmf", "SalesOrderNumber": "ORD-01000-ABCDEF"})
    resolver.add_link("Sales order lines", source_id=SALES_LINE, source_key=SALES_LINE,
                      destination_key={"dataAreaId": "usmf", "SalesOrderNumber": "ORD-01000-ABCDEF",
                                       "LineCreationSequenceNumber": 1})
    for number in ("ORD-01000-ABCDEF", "SO-000007"):
        resolver.add_link("Sales orders from F&O", source_key=f'["usmf","{number}"]',
                          destination_key={"ordernumber": number}, destination_id=ORDER)
    resolver.add_link("Sales invoices", source_key='["usmf","CIV-000001","2025-03-31T12:00:00Z","SIV-000001"]',
                      destination_key={"invoicenumber": "CIV-000001"}, destination_id=INVOICE)
    return resolver


def payload(map_name: str, record: dict, resolver: DictResolver) -> dict:
    definition = DEFINITIONS[map_name]
    assert ineligibility(definition, record) is None
    return map_record(definition, record, resolver).payload


def derived(text: str) -> str:
    return str(uuid.uuid5(DERIVED_ID_NAMESPACE, text))


# --- 2.6 Sales orders, Sales -> F&O ------------------------------------------------------------------------------

def sales_order(**changes) -> dict:
    return {"salesorderid": ORDER, "ordernumber": "ORD-01000-ABCDEF", "name": "Northwind - Spring order",
            "_customerid_value": ACCOUNT, "_transactioncurrencyid_value": USD, "_quoteid_value": QUOTE,
            "statecode": 0, "msdynce_processingstatus": 647390000,
            "msdynce_hasexternallymaintainedproductsonly": True, "requestdeliveryby": "2025-07-01T00:00:00Z",
            "shipto_line1": "1 Microsoft Way", "shipto_city": "Redmond", "shipto_stateorprovince": "WA",
            "shipto_postalcode": "98052", "shipto_country": None, **changes}


def test_an_activated_order_of_external_products_goes_to_its_customers_company_keeping_its_number(resolver):
    """2.6: activated, all products externally maintained; the order keeps its number (6.4); the F&O sales origin
    marks it as from Sales; ship-to country blank means US."""
    assert payload("Sales orders", sales_order(), resolver) == {
        "dataAreaId": "usmf", "SalesOrderNumber": "ORD-01000-ABCDEF",
        "OrderingCustomerAccountNumber": "ACC-01000-BVRCPS", "InvoiceCustomerAccountNumber": "ACC-01000-BVRCPS",
        "SalesOrderName": "Northwind - Spring order", "CurrencyCode": "USD", "SalesOrderOriginCode": "SalesOrder",
        "QuotationNumber": "QUO-01000-ABCDEF", "RequestedReceiptDate": "2025-07-01T00:00:00Z",
        "DeliveryAddressStreet": "1 Microsoft Way", "DeliveryAddressCity": "Redmond",
        "DeliveryAddressStateId": "WA", "DeliveryAddressZipCode": "98052", "DeliveryAddressCountryRegionISOCode": "US"}


@pytest.mark.parametrize(("changes", "reason"), [
    ({"msdynce_processingstatus": 647390011}, "msdynce_processingstatus is 647390011, not 647390000"),  # Draft
    ({"msdynce_processingstatus": 647390001}, "msdynce_processingstatus is 647390001, not 647390000"),  # came back
    ({"statecode": 2}, "statecode is 2, not 0"),  # canceled in Sales
    ({"msdynce_hasexternallymaintainedproductsonly": False},
     "msdynce_hasexternallymaintainedproductsonly is False, not true"),  # a write-in product
])
def test_only_activated_orders_of_external_products_go_to_fo(changes, reason):
    assert ineligibility(DEFINITIONS["Sales orders"], sales_order(**changes)) == reason


def test_an_order_created_in_sales_is_created_only_and_pairs_with_the_order_coming_back():
    """2.6: "after activation the order is read-only in Sales; later updates come from F&O"."""
    assert (SPECS["Sales orders"]["create_only"], SPECS["Sales order lines"]["create_only"]) == (True, True)
    assert SPECS["Sales orders"]["reverse_map"] == "Sales orders from F&O"
    assert SPECS["Sales orders from F&O"]["reverse_map"] == "Sales orders"
    assert {SPECS[name]["system_of_record"] for name in ("Sales orders", "Sales orders from F&O",
                                                         "Sales order lines", "Sales order lines from F&O")} == {
        "finops"}


def sales_order_line(**changes) -> dict:
    return {"salesorderdetailid": SALES_LINE, "_salesorderid_value": ORDER, "sequencenumber": 1,
            "_productid_value": PRODUCT, "_uomid_value": EA, "quantity": 3, "priceperunit": 20.0,
            "manualdiscountamount": 10.0, "salesorderdetailname": "Premium Speaker", **changes}


def test_an_order_line_is_keyed_by_its_sequence_and_its_discount_goes_per_unit_with_the_rounding_as_a_charge(
        resolver):
    """2.6: a $10 discount on 3 units is $3.33 per unit in F&O and a sales charge of -$0.01."""
    assert payload("Sales order lines", sales_order_line(), resolver) == {
        "dataAreaId": "usmf", "SalesOrderNumber": "ORD-01000-ABCDEF", "LineCreationSequenceNumber": 1,
        "ProductNumber": "P00001", "SalesUnitSymbol": "ea", "OrderedSalesQuantity": 3.0, "SalesPrice": 20.0,
        "LineDiscountAmount": 3.33, "FixedPriceCharges": -0.01, "LineDescription": "Premium Speaker"}


def test_a_write_in_order_line_is_not_eligible_and_lines_of_orders_not_synced_are_skipped(resolver):
    assert ineligibility(DEFINITIONS["Sales order lines"], sales_order_line(_productid_value=None)) == \
        "_productid_value is blank"
    with pytest.raises(MissingLink) as caught:
        map_record(DEFINITIONS["Sales order lines"], sales_order_line(_salesorderid_value="other"), resolver)
    assert caught.value.when_missing == "skip"


# --- 2.6 Sales orders, F&O -> Sales ------------------------------------------------------------------------------

def fo_order(**changes) -> dict:
    return {"dataAreaId": "usmf", "SalesOrderNumber": "SO-000007", "SalesOrderName": "Order taken by phone",
            "OrderingCustomerAccountNumber": "ACC-01000-BVRCPS", "InvoiceCustomerAccountNumber": "ACC-01000-BVRCPS",
            "OrderingCustomerIsExternallyMaintained": "Yes", "InvoiceCustomerIsExternallyMaintained": "Yes",
            "SalesOrderProcessingStatus": "Confirmed", "AreTotalsUpdated": "Yes",
            "SalesOrderOriginType": "NotSpecified", "CurrencyCode": "USD",
            "RequestedReceiptDate": "1900-01-01T12:00:00Z", "DeliveryAddressStreet": "1 Microsoft Way",
            "DeliveryAddressCity": "Redmond", "DeliveryAddressStateId": "WA", "DeliveryAddressZipCode": "98052",
            "DeliveryAddressCountryRegionId": "USA",
            "InvoiceAddressStreet": "", "InvoiceAddressCity": "", "InvoiceAddressZipCode": "",
            "InvoiceAddressCountryRegionId": "", "OrderTotalChargesAmount": 25.0, "OrderHeaderTaxAmount": 2.0,
            **changes}


def test_a_confirmed_order_of_customers_from_sales_lands_in_sales_active_with_its_processing_status(resolver):
    """2.6: state Active (keeps it updatable), the price list by currency, the processing status option set; the
    customer is the account p2c synced the F&O customer from. An F&O date of 1900-01-01 means none."""
    assert payload("Sales orders from F&O", fo_order(), resolver) == {
        "ordernumber": "SO-000007", "name": "Order taken by phone",
        "customerid_account@odata.bind": f"/accounts({ACCOUNT})", "msdynce_ismaintainedexternally": True,
        "pricelevelid@odata.bind": f"/pricelevels({USA_LIST})",
        "transactioncurrencyid@odata.bind": f"/transactioncurrencies({USD})", "statecode": 0,
        "msdynce_processingstatus": 647390001, "shipto_line1": "1 Microsoft Way", "shipto_city": "Redmond",
        "shipto_stateorprovince": "WA", "shipto_postalcode": "98052", "shipto_country": "United States",
        "freightamount": 25.0}


def test_the_price_list_is_chosen_by_currency_and_a_contact_customer_binds_the_contact(resolver):
    mapped = payload("Sales orders from F&O", fo_order(dataAreaId="demf", CurrencyCode="EUR",
                                                       OrderingCustomerAccountNumber="CON-01009-ZXCVBN"), resolver)
    assert mapped["pricelevelid@odata.bind"] == f"/pricelevels({EUROPE_LIST})"
    assert mapped["customerid_contact@odata.bind"] == f"/contacts({CONTACT})"
    assert "customerid_account@odata.bind" not in mapped


@pytest.mark.parametrize(("status", "option"), [
    ("Confirmed", 647390001), ("Picked", 647390004), ("PartiallyDelivered", 647390008), ("Delivered", 647390007),
    ("PartiallyInvoiced", 647390009), ("Invoiced", 647390003), ("Canceled", 647390010)])
def test_processing_statuses_map_to_the_p2c_option_set(resolver, status, option):
    mapped = payload("Sales orders from F&O", fo_order(SalesOrderProcessingStatus=status), resolver)
    assert mapped["msdynce_processingstatus"] == option


@pytest.mark.parametrize(("changes", "reason"), [
    ({"OrderingCustomerIsExternallyMaintained": "No"}, "OrderingCustomerIsExternallyMaintained is 'No', not true"),
    ({"InvoiceCustomerIsExternallyMaintained": "No"}, "InvoiceCustomerIsExternallyMaintained is 'No', not true"),
    ({"SalesOrderProcessingStatus": "Active"}, "SalesOrderProcessingStatus is 'Active', not one of"),
    ({"AreTotalsUpdated": "No"}, "AreTotalsUpdated is 'No', not true"),
    ({"SalesOrderOriginType": "WorkOrderIntegration"}, "SalesOrderOriginType is 'WorkOrderIntegration'"),
])
def test_only_confirmed_orders_of_external_customers_with_totals_calculated_come_back(changes, reason):
    """2.6: both customers externally maintained, Confirmed or beyond, totals calculated, not work orders."""
    assert ineligibility(DEFINITIONS["Sales orders from F&O"], fo_order(**changes)).startswith(reason)


def test_an_order_of_a_customer_p2c_did_not_sync_is_skipped_naming_it(resolver):
    with pytest.raises(MissingLink) as caught:
        map_record(DEFINITIONS["Sales orders from F&O"], fo_order(OrderingCustomerAccountNumber="US-042"), resolver)
    assert caught.value.when_missing == "skip"
    assert caught.value.entity_maps == ("Accounts", "Contacts to customers")


def fo_order_line(**changes) -> dict:
    return {"dataAreaId": "usmf", "SalesOrderNumber": "ORD-01000-ABCDEF", "LineCreationSequenceNumber": 1,
            "ProductNumber": "P00001", "ProductName": "Premium Speaker", "SalesUnitSymbol": "ea",
            "OrderedSalesQuantity": 3, "SalesPrice": 20.0, "LineDiscountAmount": 3.33, "FixedPriceCharges": -0.01,
            "TotalTaxAmount": 4.0, "OrderingCustomerIsExternallyMaintained": "Yes",
            "InvoiceCustomerIsExternallyMaintained": "Yes", "SalesOrderProcessingStatus": "Invoiced",
            "AreSalesOrderTotalsUpdated": "Yes", "SalesOrderOriginType": "SalesOrderIntegration", **changes}


def test_an_order_line_from_sales_updates_its_original_with_the_discount_for_the_whole_line(resolver):
    """2.6: (3 x 3.33) + 0.01 = 10.00 back in Sales; F&O's price, overridden; the line's sales tax."""
    assert payload("Sales order lines from F&O", fo_order_line(), resolver) == {
        "salesorderdetailid": SALES_LINE, "salesorderid@odata.bind": f"/salesorders({ORDER})", "sequencenumber": 1,
        "productid@odata.bind": f"/products({PRODUCT})", "uomid@odata.bind": f"/uoms({EA})",
        "isproductoverridden": False, "salesorderdetailname": "Premium Speaker", "quantity": 3.0,
        "ispriceoverridden": True, "priceperunit": 20.0, "manualdiscountamount": 10.0, "tax": 4.0}


def test_an_order_lines_delivery_country_goes_to_its_ship_to_country_and_a_blank_one_is_left_out(resolver):
    """2.6: the line's DeliveryCountryRegionId to its ship-to country, by value map, as the header's."""
    assert payload("Sales order lines from F&O", fo_order_line(DeliveryAddressCountryRegionId="CAN"),
                   resolver)["shipto_country"] == "Canada"
    assert "shipto_country" not in payload("Sales order lines from F&O",
                                           fo_order_line(DeliveryAddressCountryRegionId=""), resolver)


def test_an_order_line_born_in_fo_gets_an_id_derived_from_its_key(resolver):
    mapped = payload("Sales order lines from F&O", fo_order_line(SalesOrderNumber="SO-000007",
                                                                 LineCreationSequenceNumber=2), resolver)
    assert mapped["salesorderdetailid"] == derived("order line usmf/SO-000007/2")


def test_the_header_tax_is_one_freight_tax_write_in_line_per_order(resolver):
    """2.6: Sales has no header-level tax; F&O's header tax is a write-in product "Freight Tax", one per order."""
    assert payload("Freight tax lines", fo_order(), resolver) == {
        "salesorderdetailid": derived("freight tax usmf/SO-000007"),
        "salesorderid@odata.bind": f"/salesorders({ORDER})", "isproductoverridden": True,
        "productdescription": "Freight Tax", "salesorderdetailname": "Freight Tax", "quantity": 1,
        "ispriceoverridden": True, "priceperunit": 2.0}
    assert ineligibility(DEFINITIONS["Freight tax lines"], fo_order(OrderHeaderTaxAmount=0.0)) == \
        "OrderHeaderTaxAmount is 0"


# --- 2.7 Sales invoices ------------------------------------------------------------------------------------------

def fo_invoice(**changes) -> dict:
    return {"dataAreaId": "usmf", "InvoiceNumber": "CIV-000001", "InvoiceDate": "2025-03-31T12:00:00Z",
            "LedgerVoucher": "SIV-000001", "SalesOrderNumber": "SO-000007", "CurrencyCode": "EUR",
            "InvoiceCustomerAccountNumber": "ACC-01000-BVRCPS", "InvoiceAddressStreet": "Kaiserstr. 1",
            "InvoiceAddressCity": "Berlin", "InvoiceAddressState": "", "InvoiceAddressZipCode": "10115",
            "InvoiceAddressCountryRegionId": "DEU", "TotalChargeAmount": 25.0, **changes}


def test_an_invoice_of_a_customer_from_sales_is_linked_to_its_order_with_fos_number(resolver):
    """2.7: invoices of externally maintained customers, the price list by currency, the billing country from a
    value map; linked to the order (the P2C plug-in then makes it Invoiced)."""
    assert payload("Sales invoices", fo_invoice(), resolver) == {
        "invoicenumber": "CIV-000001", "customerid_account@odata.bind": f"/accounts({ACCOUNT})",
        "msdynce_ismaintainedexternally": True, "name": "Invoice CIV-000001",
        "salesorderid@odata.bind": f"/salesorders({ORDER})", "pricelevelid@odata.bind": f"/pricelevels({EUROPE_LIST})",
        "transactioncurrencyid@odata.bind": f"/transactioncurrencies({EUR})",
        "msdynce_invoicedate": "2025-03-31T12:00:00Z", "billto_line1": "Kaiserstr. 1", "billto_city": "Berlin",
        "billto_postalcode": "10115", "billto_country": "Germany", "freightamount": 25.0}


def test_free_text_invoices_and_invoices_of_customers_not_from_sales_stay_out(resolver):
    """2.7: only externally maintained customers (through the customer's link: the entity has no flag); free-text
    invoices (no sales order) are left out unless the condition is removed."""
    assert ineligibility(DEFINITIONS["Sales invoices"], fo_invoice(SalesOrderNumber="")) == "SalesOrderNumber is blank"
    with pytest.raises(MissingLink) as caught:
        map_record(DEFINITIONS["Sales invoices"], fo_invoice(InvoiceCustomerAccountNumber="US-042"), resolver)
    assert caught.value.when_missing == "skip"


def test_an_invoice_waits_for_its_order(resolver):
    with pytest.raises(MissingLink) as caught:
        map_record(DEFINITIONS["Sales invoices"], fo_invoice(SalesOrderNumber="SO-000999"), resolver)
    assert (caught.value.field, caught.value.when_missing) == ("salesorderid@odata.bind", "wait")


def fo_invoice_line(**changes) -> dict:
    return {"dataAreaId": "usmf", "InvoiceNumber": "CIV-000001", "InvoiceDate": "2025-03-31T12:00:00Z",
            "LedgerVoucher": "SIV-000001", "LineCreationSequenceNumber": 2, "ProductNumber": "P00001",
            "ProductName": "Premium Speaker", "ProductDescription": "Premium Speaker, black", "SalesUnitSymbol": "ea",
            "InvoicedQuantity": 3, "SalesPrice": 20.0, "LineTotalDiscountAmount": 9.99, "LineTotalTaxAmount": 4.0,
            **changes}


def test_an_invoice_line_carries_fos_invoice_number_date_quantity_and_tax(resolver):
    assert payload("Sales invoice lines", fo_invoice_line(), resolver) == {
        "invoicedetailid": derived("invoice line usmf/CIV-000001/SIV-000001/2"),
        "invoiceid@odata.bind": f"/invoices({INVOICE})", "sequencenumber": 2,
        "productid@odata.bind": f"/products({PRODUCT})", "uomid@odata.bind": f"/uoms({EA})",
        "isproductoverridden": False, "productdescription": "Premium Speaker, black",
        "invoicedetailname": "Premium Speaker", "quantity": 3.0, "ispriceoverridden": True, "priceperunit": 20.0,
        "manualdiscountamount": 9.99, "tax": 4.0, "msdynce_invoicenumber": "CIV-000001",
        "msdynce_invoicedate": "2025-03-31T12:00:00Z", "msdynce_ismaintainedexternally": True}


def test_an_invoice_line_without_a_product_is_a_write_in_line(resolver):
    mapped = payload("Sales invoice lines", fo_invoice_line(ProductNumber="", SalesUnitSymbol=""), resolver)
    assert (mapped["isproductoverridden"], mapped["productdescription"]) == (True, "Premium Speaker, black")
    assert "productid@odata.bind" not in mapped
    assert "uomid@odata.bind" not in mapped


def test_lines_of_invoices_not_synced_are_skipped(resolver):
    with pytest.raises(MissingLink) as caught:
        map_record(DEFINITIONS["Sales invoice lines"], fo_invoice_line(InvoiceNumber="CIV-000002"), resolver)
    assert caught.value.when_missing == "skip"


# --- price lists (2.4, 2.6) --------------------------------------------------------------------------------------

def test_another_companys_products_join_the_price_list_of_its_currency(resolver):
    """2.4: the product company's products join the first price list of their currency through the P2C plug-in;
    the other companies' products are added to the price list of theirs, so their orders' lines can be priced."""
    product = {"dataAreaId": "demf", "ProductNumber": "P00001", "CurrencyCode": "EUR", "SalesUnitSymbol": "ea",
               "SalesPrice": 92.0}
    assert payload("Product price list items", product, resolver) == {
        "productpricelevelid": derived("price list item EUR/P00001"),
        "pricelevelid@odata.bind": f"/pricelevels({EUROPE_LIST})", "productid@odata.bind": f"/products({PRODUCT})",
        "uomid@odata.bind": f"/uoms({EA})", "uomscheduleid@odata.bind": f"/uomschedules({UNIT_GROUP})",
        "transactioncurrencyid@odata.bind": f"/transactioncurrencies({EUR})", "amount": 92.0,
        "pricingmethodcode": 1, "quantitysellingcode": 1, "roundingpolicycode": 1, "percentage": 0,
        "roundingoptionamount": 0}
    assert SPECS["Product price list items"]["source_filter"] == "dataAreaId ne '{product_company}'"
