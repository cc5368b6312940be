"""The entity sets the emulator serves: every one is in Microsoft's metadata, which gives its type, key,
properties and navigation properties; here each is placed on a stored table, with its AOT entity name, the
methods it takes and the joins of the navigation properties whose target is served.

Assumptions (no public source): the AOT entity names; the join fields of each navigation (the metadata has no
ReferentialConstraints); navigations to entity sets the emulator does not serve are left out, as are those
whose join is not known (UnitsOfMeasure.ReleasedProductsV2, ReleasedProductsV2.CatchWeightUnitOfMeasure, ...).
"""

from __future__ import annotations

from connectors.emulators.finops.schema import COMPANY
from connectors.emulators.finops.surface import READ_ONLY, EntitySet, Join, check
from connectors.emulators.finops.tables import (
    CONTACT_PERSON,
    CUSTOMER,
    CUSTOMER_GROUP,
    INVOICE,
    INVOICE_LINE,
    LEGAL_ENTITY,
    ORDER,
    ORDER_LINE,
    PAYMENT_METHOD,
    PAYMENT_TERM,
    QUOTATION,
    QUOTATION_LINE,
    RELEASED_PRODUCT,
    UNIT,
)

_QUOTATION = (COMPANY, "SalesQuotationNumber")
_ORDER = (COMPANY, "SalesOrderNumber")
_INVOICE = (COMPANY, "InvoiceNumber", "InvoiceDate", "LedgerVoucher")
_TO_ORDER_LINES = Join(_ORDER, "order")
_TO_ORDER = Join(_ORDER)
_TOTALS_FLAG = {"AreTotalsCalculated": "AreTotalsUpdated"}


def _sellable(row) -> bool:
    return row["IsSalesStopped"] == "No"


def _of_a_customer(row) -> bool:
    return row["AssociatedContactType"] == "Customer"


ENTITY_SETS = check([
    EntitySet("LegalEntities", LEGAL_ENTITY, "OMLegalEntity"),
    EntitySet("UnitsOfMeasure", UNIT, "UnitOfMeasureEntity"),
    EntitySet("PaymentTerms", PAYMENT_TERM, "CustVendPaymentTermEntity"),
    EntitySet("CustomerPaymentMethods", PAYMENT_METHOD, "CustPaymModeTableEntity"),
    EntitySet("CustomerGroups", CUSTOMER_GROUP, "CustCustomerGroupEntity"),
    EntitySet("CustomersV3", CUSTOMER, "CustCustomerV3Entity"),
    # Contact persons: one table, four entity sets, each keyed by one of its unique indexes.
    EntitySet("ContactPersons", CONTACT_PERSON, "smmContactPersonV2Entity"),
    EntitySet("CDSContactPersons", CONTACT_PERSON, "SmmContactPersonCDSEntity"),
    EntitySet("CDSContactPersonsV2", CONTACT_PERSON, "SmmContactPersonCDSV2Entity"),
    EntitySet("CDSCustomerContactPersons", CONTACT_PERSON, "SmmCustomerContactPersonCDSEntity",
              aliases={"CustomerAccountNumber": "AssociatedContactNumber"}, visible=_of_a_customer),
    # Released products: one table; the sellable and CDS sets are keyed by product number and read only.
    # Assumption: they page in the table's order (item number), which is product number order for every
    # product whose item number is its product number, as the seeded ones are.
    EntitySet("ReleasedProductsV2", RELEASED_PRODUCT, "EcoResReleasedProductV2Entity",
              joins={"ReleasedDistinctProductCDS": Join((COMPANY, "ProductNumber"), "product")}),
    EntitySet("SellableReleasedProducts", RELEASED_PRODUCT, "EcoResSellableReleasedProductEntity",
              methods=READ_ONLY, visible=_sellable),
    EntitySet("CDSReleasedDistinctProducts", RELEASED_PRODUCT, "EcoResReleasedDistinctProductCDSEntity",
              methods=READ_ONLY),
    EntitySet("CDSSalesQuotationHeaders", QUOTATION, "SalesQuotationHeaderCDSEntity",
              joins={"CDSSalesQuotationLines": Join(_QUOTATION, "quotation"),
                     "CDSSalesOrderHeader": Join((COMPANY, "GeneratedSalesOrderNumber"))}),
    EntitySet("CDSSalesQuotationLines", QUOTATION_LINE, "SalesQuotationLineCDSEntity",
              joins={"CDSSalesQuotationHeader": Join(_QUOTATION)}),
    EntitySet("CDSSalesOrderHeaders", ORDER, "SalesOrderHeaderCDSEntity",
              joins={"CDSSalesOrderLines": _TO_ORDER_LINES, "CDSSalesOrderLinesV2": _TO_ORDER_LINES,
                     "CDSSalesQuotationHeader": Join((COMPANY, "QuotationNumber"))}),
    # Assumption: the V2/V3 headers' AreTotalsCalculated is the flag CDSSalesOrderHeaders calls AreTotalsUpdated.
    EntitySet("SalesOrderHeadersV2", ORDER, "SalesOrderHeaderV2Entity", aliases=_TOTALS_FLAG,
              joins={"SalesOrderLines": _TO_ORDER_LINES}),
    EntitySet("SalesOrderHeadersV3", ORDER, "SalesOrderHeaderV3Entity", aliases=_TOTALS_FLAG,
              joins={"SalesOrderLines": _TO_ORDER_LINES}),
    EntitySet("CDSSalesOrderLines", ORDER_LINE, "SalesOrderLineCDSEntity", joins={"CDSSalesOrderHeader": _TO_ORDER}),
    EntitySet("CDSSalesOrderLinesV2", ORDER_LINE, "SalesOrderLineCDSV2Entity",
              joins={"CDSSalesOrderHeader": _TO_ORDER}),
    EntitySet("SalesOrderLines", ORDER_LINE, "SalesOrderLineEntity",
              joins={"SalesOrderHeaderV2": _TO_ORDER, "SalesOrderHeaderV3": _TO_ORDER}),
    EntitySet("SalesOrderLinesV3", ORDER_LINE, "SalesOrderLineV3Entity"),
    EntitySet("SalesInvoiceHeaders", INVOICE, "SalesInvoiceHeaderEntity", methods=READ_ONLY),
    EntitySet("SalesInvoiceHeadersV2", INVOICE, "SalesInvoiceHeaderV2Entity", methods=READ_ONLY,
              joins={"SalesInvoiceLinesV2": Join(_INVOICE, "invoice")}),
    EntitySet("SalesInvoiceLines", INVOICE_LINE, "SalesInvoiceLineEntity", methods=READ_ONLY),
    EntitySet("SalesInvoiceV2Lines", INVOICE_LINE, "SalesInvoiceLineV2Entity", methods=READ_ONLY,
              joins={"SalesInvoiceHeaderV2": Join(_INVOICE)}),
])
