"""The stored tables behind the entity sets, with the reference tables their foreign keys need.

Storage is the emulator's own design (Microsoft does not publish F&O's tables): table names and labels follow
the AOT, string sizes the usual extended data types (Assumption: the metadata has no MaxLength). A column an
entity set exposes must be a property of that entity in Microsoft's metadata with the same type (checked at
import by `surface.check`); a column none exposes is marked `internal`.
"""

from __future__ import annotations

from connectors.emulators.finops.schema import (
    COMPANY,
    Field,
    ForeignKey,
    TableSpec,
    amount,
    day,
    enum,
    integer,
    text,
)


def _company() -> Field:
    return text(COMPANY, 4, "Company")


def _address(prefix: str, *, description: bool = False, state: str = "State") -> tuple[Field, ...]:
    fields = [text(f"{prefix}Street", 250), text(f"{prefix}City", 60), text(f"{prefix}{state}", 10),
              text(f"{prefix}ZipCode", 10), text(f"{prefix}CountryRegionId", 10),
              text(f"{prefix}CountryRegionISOCode", 10)]
    if description:
        fields.insert(0, text(f"{prefix}Description", 60))
    return tuple(fields)


# --- reference data -------------------------------------------------------------------------------------------
LEGAL_ENTITY = TableSpec("CompanyInfo", "Legal entities", ("LegalEntityId",), (
    text("LegalEntityId", 4, "Company", mandatory=True), text("Name", 100),
    text("AccountingCurrency", 3, "Accounting currency", internal=True),  # LegalEntities does not expose it
    text("AddressCountryRegionId", 10), text("LanguageId", 7, "Language"),
    # Assumption: one sales tax rate per company stands in for F&O's sales tax groups and codes, which no entity
    # set of the metadata serves; the totals and invoices apply it to every line and header charge.
    amount("SalesTaxPercent", "Sales tax percentage", internal=True),
))
CURRENCY = TableSpec("Currency", "Currencies", ("CurrencyCode",), (  # served by no entity set of the metadata
    text("CurrencyCode", 3, "Currency", mandatory=True), text("Name", 60), text("Symbol", 5),
))
# Sales origins (Sales and marketing > Setup > Sales orders > Sales origin): no entity set of the metadata serves
# them, but an order's SalesOrderOriginCode names one and CDSSalesOrderHeaders shows its type (UO-SO2).
SALES_ORIGIN = TableSpec("SalesOrigin", "Sales origin", (COMPANY, "OriginId"), (
    _company(), text("OriginId", 10, "Sales origin", mandatory=True), text("Description", 60),
    enum("OriginType", "SalesOriginType", "Sales origin type"),
))
UNIT = TableSpec("UnitOfMeasure", "Units", ("UnitSymbol",), (
    text("UnitSymbol", 10, "Unit", mandatory=True), text("UnitDescription", 60, "Description"),
    integer("DecimalPrecision"),
))
PAYMENT_TERM = TableSpec("PaymTerm", "Terms of payment", (COMPANY, "Name"), (
    _company(), text("Name", 10, "Terms of payment", mandatory=True), text("Description", 60),
    integer("NumberOfDays"), enum("PaymentMethodType", "NetCurrent", "Payment method"),
))
PAYMENT_METHOD = TableSpec("CustPaymModeTable", "Methods of payment - customers", (COMPANY, "Name"), (
    _company(), text("Name", 10, "Method of payment", mandatory=True), text("Description", 60),
))
CUSTOMER_GROUP = TableSpec("CustGroup", "Customer groups", (COMPANY, "CustomerGroupId"), (
    _company(), text("CustomerGroupId", 10, "Customer group", mandatory=True), text("Description", 60),
    text("PaymentTermId", 10, "Terms of payment"), text("ClearingPeriodPaymentTermName", 10),
    enum("IsSalesTaxIncludedInPrice", "NoYes"),
), foreign_keys=(ForeignKey(("PaymentTermId",), "PaymTerm", "Terms of payment"),))

# --- customers and contact persons --------------------------------------------------------------------------
CUSTOMER = TableSpec(
    "CustTable", "Customers", (COMPANY, "CustomerAccount"), (
        _company(), text("CustomerAccount", 20, "Customer account", mandatory=True),
        text("PartyNumber", 40, "Party number"), text("PartyType", 20, "Party type"),
        text("OrganizationName", 100, "Name"), text("NameAlias", 20, "Search name"),
        text("PersonFirstName", 25, "First name"), text("PersonMiddleName", 25, "Middle name"),
        text("PersonLastName", 25, "Last name"),
        text("CustomerGroupId", 10, "Customer group", mandatory=True), text("SalesCurrencyCode", 3, "Currency"),
        text("PaymentTerms", 10, "Terms of payment"), amount("CreditLimit", "Credit limit"),
        text("InvoiceAccount", 20, "Invoice account"), text("PrimaryContactEmail", 255, "Email"),
        text("PrimaryContactPhone", 255, "Telephone"),
        *_address("Address", description=True), *_address("DeliveryAddress", description=True),
        *_address("InvoiceAddress"),
        text("LanguageId", 7, "Language"), text("SiteId", 10, "Site"), text("WarehouseId", 10, "Warehouse"),
        text("SalesTaxGroup", 10, "Sales tax group"), text("DeliveryMode", 10, "Mode of delivery"),
        enum("OnHoldStatus", "CustVendorBlocked", "Invoicing and delivery on hold"),
        enum("IsExternallyMaintained", "NoYes", "Is externally maintained"),
    ),
    unique={"party": (COMPANY, "PartyNumber")},
    foreign_keys=(ForeignKey(("CustomerGroupId",), "CustGroup", "Customer groups"),
                  ForeignKey(("SalesCurrencyCode",), "Currency", "Currencies"),
                  ForeignKey(("PaymentTerms",), "PaymTerm", "Terms of payment")),
)
# One table under CDSContactPersons (keyed by the associated party), CDSContactPersonsV2 (by the associated
# contact's type and number), ContactPersons (by contact ID) and CDSCustomerContactPersons, each key a unique
# index. Assumption: only contact persons of customers are modelled (AssociatedContactType Customer).
CONTACT_PERSON = TableSpec(
    "ContactPerson", "Contact persons", (COMPANY, "ContactPersonId"), (
        _company(), text("ContactPersonId", 20, "Contact ID"),
        text("ContactPersonPartyNumber", 40, "Party number"),
        text("AssociatedPartyNumber", 40, "Associated party"),
        enum("AssociatedContactType", "smmContactPersonCDSAssociatedContactType", "Associated contact type"),
        text("AssociatedContactNumber", 20, "Associated contact number"),
        text("FirstName", 25, "First name"), text("MiddleName", 25, "Middle name"),
        text("LastName", 25, "Last name"), text("PrimaryEmailAddress", 255, "Email"),
        text("PrimaryPhoneNumber", 255, "Telephone"), text("EmploymentProfession", 60, "Profession"),
        enum("IsContactPersonExternallyMaintained", "NoYes", "Is externally maintained"),
    ),
    unique={"party": (COMPANY, "ContactPersonPartyNumber", "AssociatedPartyNumber"),
            "associated": (COMPANY, "ContactPersonPartyNumber", "AssociatedContactType", "AssociatedContactNumber"),
            "customer": (COMPANY, "ContactPersonPartyNumber", "AssociatedContactNumber")},
    foreign_keys=(ForeignKey(("AssociatedPartyNumber",), "CustTable", "Customers", index="party"),
                  ForeignKey(("AssociatedContactNumber",), "CustTable", "Customers")),
)

# --- released products: one table, three entity sets --------------------------------------------------------
RELEASED_PRODUCT = TableSpec(
    "InventTable", "Released products", (COMPANY, "ItemNumber"), (
        _company(), text("ItemNumber", 20, "Item number"),
        text("ProductNumber", 20, "Product number", mandatory=True),
        text("ProductName", 60, "Product name"), text("ProductDescription", 1000, "Description"),
        enum("ProductType", "EcoResProductType", "Product type"),
        enum("ProductSubType", "EcoResProductSubtype", "Product subtype"),
        text("SearchName", 20, "Search name"), text("ProductSearchName", 20, "Product search name"),
        text("ProductGroupId", 10, "Item group"), text("ItemModelGroupId", 10, "Item model group"),
        text("StorageDimensionGroupName", 10, "Storage dimension group"),
        text("TrackingDimensionGroupName", 10, "Tracking dimension group"),
        text("ProductDimensionGroupName", 10, "Product dimension group"),
        text("InventoryUnitSymbol", 10, "Inventory unit"), text("SalesUnitSymbol", 10, "Sales unit"),
        text("PurchaseUnitSymbol", 10, "Purchase unit"),
        integer("InventoryUnitDecimalPrecision"), integer("SalesUnitDecimalPrecision"),
        text("CurrencyCode", 3, "Currency"),
        amount("SalesPrice", "Price"), amount("SalesPriceQuantity", "Price quantity"),
        amount("PurchasePrice", "Purchase price"), amount("UnitCost", "Cost price"),
        enum("IsSalesStopped", "NoYes", "Stopped"), enum("IsStockedProduct", "NoYes", "Stocked product"),
        text("SalesSalesTaxItemGroupCode", 10, "Item sales tax group"),
        text("PurchaseSalesTaxItemGroupCode", 10, "Item sales tax group"),
        text("ProductLifecycleStateId", 10, "Product lifecycle state"),
    ),
    unique={"product": (COMPANY, "ProductNumber")},
    foreign_keys=tuple(ForeignKey((unit,), "UnitOfMeasure", "Units")
                       for unit in ("InventoryUnitSymbol", "SalesUnitSymbol", "PurchaseUnitSymbol")),
)

# --- quotations, orders, invoices ----------------------------------------------------------------------------
# The parts of a sales document's delivery address and of the matching CustomersV3 (and invoice) address
# columns: documents say DeliveryAddressStateId where customers and invoices say ...State.
ADDRESS_PARTS = (("Street", "Street"), ("City", "City"), ("StateId", "State"), ("ZipCode", "ZipCode"),
                 ("CountryRegionId", "CountryRegionId"), ("CountryRegionISOCode", "CountryRegionISOCode"))
_DELIVERY = (text("DeliveryAddressName", 100, "Delivery name"),
             *_address("DeliveryAddress", state="StateId"))
_CUSTOMER_FKS = ("CustTable", "Customers")
_HEADER_SHIPPING = (text("LanguageId", 7, "Language"), text("DefaultShippingSiteId", 10, "Site"),
                    text("DefaultShippingWarehouseId", 10, "Warehouse"),
                    text("CustomerRequisitionNumber", 20, "Requisition"))
QUOTATION = TableSpec(
    "SalesQuotationTable", "Sales quotations", (COMPANY, "SalesQuotationNumber"), (
        _company(), text("SalesQuotationNumber", 20, "Quotation"),
        text("RequestingCustomerAccountNumber", 20, "Customer account", mandatory=True),
        text("InvoiceCustomerAccountNumber", 20, "Invoice account"), text("CurrencyCode", 3, "Currency"),
        text("SalesQuotationName", 60, "Name"), enum("SalesQuotationStatus", "SalesQuotationStatus", "Status"),
        day("SalesQuotationExpiryDate", "Expiration date"), day("RequestedShippingDate", "Requested ship date"),
        *_DELIVERY, *_HEADER_SHIPPING, text("GeneratedSalesOrderNumber", 20, "Sales order"),
        amount("QuotationTotalAmount", "Total amount"),
    ),
    foreign_keys=(ForeignKey(("RequestingCustomerAccountNumber",), *_CUSTOMER_FKS),
                  ForeignKey(("InvoiceCustomerAccountNumber",), *_CUSTOMER_FKS),
                  ForeignKey(("CurrencyCode",), "Currency", "Currencies")),
)
_LINE_PRODUCT_FKS = (ForeignKey(("ItemNumber",), "InventTable", "Released products"),
                     ForeignKey(("ProductNumber",), "InventTable", "Released products", index="product"),
                     ForeignKey(("SalesUnitSymbol",), "UnitOfMeasure", "Units"))
_LINE_AMOUNTS = (amount("SalesPrice", "Unit price"), text("SalesUnitSymbol", 10, "Unit"),
                 amount("LineDiscountAmount", "Discount"), amount("LineAmount", "Net amount"),
                 text("CurrencyCode", 3, "Currency"))
# Lines are stored by lot ID, as F&O's SalesLine and SalesQuotationLine are; the CDS entities' keys
# (document number and line creation sequence number) are a unique index.
QUOTATION_LINE = TableSpec(
    "SalesQuotationLine", "Quotation lines", (COMPANY, "InventoryLotId"), (
        _company(), text("InventoryLotId", 20, "Lot ID"),
        text("SalesQuotationNumber", 20, "Quotation", mandatory=True), integer("LineCreationSequenceNumber"),
        text("ProductNumber", 20, "Product number"),
        text("ItemNumber", 20, "Item number", internal=True),  # CDSSalesQuotationLines names the product only
        text("ProductName", 60, "Product name"), text("LineDescription", 1000, "Text"),
        amount("RequestedSalesQuantity", "Quantity"), *_LINE_AMOUNTS,
    ),
    unique={"sequence": (COMPANY, "SalesQuotationNumber", "LineCreationSequenceNumber")},
    multi={"quotation": (COMPANY, "SalesQuotationNumber")},
    foreign_keys=(ForeignKey(("SalesQuotationNumber",), "SalesQuotationTable", "Sales quotations"),
                  *_LINE_PRODUCT_FKS),
)
ORDER = TableSpec(
    "SalesTable", "Sales orders", (COMPANY, "SalesOrderNumber"), (
        _company(), text("SalesOrderNumber", 20, "Sales order"),
        text("OrderingCustomerAccountNumber", 20, "Customer account", mandatory=True),
        text("InvoiceCustomerAccountNumber", 20, "Invoice account"),
        enum("OrderingCustomerIsExternallyMaintained", "NoYes"), enum("InvoiceCustomerIsExternallyMaintained", "NoYes"),
        text("CurrencyCode", 3, "Currency"), text("SalesOrderName", 60, "Customer name"),
        enum("SalesOrderProcessingStatus", "SalesOrderProcessingStatus", "Processing status"),
        enum("SalesOrderStatus", "SalesStatus", "Status"), enum("AreTotalsUpdated", "NoYes", "Totals updated"),
        day("RequestedShippingDate", "Requested ship date"), day("RequestedReceiptDate", "Requested receipt date"),
        text("CustomersOrderReference", 60, "Customer reference"), text("QuotationNumber", 20, "Quotation"),
        text("SalesOrderOriginCode", 10, "Sales origin"), enum("SalesOrderOriginType", "SalesOriginType"),
        *_DELIVERY, *_HEADER_SHIPPING,
        # The totals "Calculate sales totals" stores (orders.py): stale, with AreTotalsUpdated No, after a change.
        amount("OrderTotalAmount", "Total amount"), amount("OrderTotalTaxAmount", "Sales tax"),
        amount("OrderTotalChargesAmount", "Total charges"), amount("OrderTotalDiscountAmount", "Total discount"),
        amount("OrderHeaderTaxAmount", "Header sales tax"),
        # The most recent document posted (SalesTable.DocumentStatus): no entity set of the metadata shows it.
        text("DocumentStatus", 20, "Document status", internal=True),
        # The header's charges and their sales tax (MarkupTrans of the order), which no entity set serves either.
        amount("HeaderCharges", "Charges", internal=True), amount("HeaderChargesTax", "Charges sales tax",
                                                                  internal=True),
    ),
    foreign_keys=(ForeignKey(("OrderingCustomerAccountNumber",), *_CUSTOMER_FKS),
                  ForeignKey(("InvoiceCustomerAccountNumber",), *_CUSTOMER_FKS),
                  ForeignKey(("CurrencyCode",), "Currency", "Currencies"),
                  ForeignKey(("SalesOrderOriginCode",), "SalesOrigin", "Sales origin")),
)
ORDER_LINE = TableSpec(
    "SalesLine", "Order lines", (COMPANY, "InventoryLotId"), (
        _company(), text("InventoryLotId", 20, "Lot ID"), text("SalesOrderNumber", 20, "Sales order", mandatory=True),
        integer("LineCreationSequenceNumber"), text("ProductNumber", 20, "Product number"),
        text("ItemNumber", 20, "Item number"), text("ProductName", 60, "Product name"),
        text("LineDescription", 1000, "Text"), amount("OrderedSalesQuantity", "Quantity"), *_LINE_AMOUNTS,
        enum("SalesOrderLineStatus", "SalesStatus", "Status"),
        # The line's totals (Calculate sales totals) and the header's values the CDS line entity repeats, so the
        # line task of a template can filter as its header task does.
        amount("TotalTaxAmount", "Sales tax"), amount("TotalChargesAmount", "Charges"),
        amount("TotalDiscountAmount", "Total discount"), enum("AreTotalsCalculated", "NoYes"),
        enum("AreSalesOrderTotalsUpdated", "NoYes"),
        enum("SalesOrderProcessingStatus", "SalesOrderProcessingStatus", "Processing status"),
        enum("OrderingCustomerIsExternallyMaintained", "NoYes"), enum("InvoiceCustomerIsExternallyMaintained", "NoYes"),
        enum("SalesOrderOriginType", "SalesOriginType"),
        # What packing slips and invoices have posted of the line (SalesLine's remainders in X++), not exposed.
        amount("DeliveredQuantity", "Delivered", internal=True), amount("InvoicedQuantity", "Invoiced", internal=True),
    ),
    unique={"sequence": (COMPANY, "SalesOrderNumber", "LineCreationSequenceNumber")},
    multi={"order": (COMPANY, "SalesOrderNumber")},
    foreign_keys=(ForeignKey(("SalesOrderNumber",), "SalesTable", "Sales orders"), *_LINE_PRODUCT_FKS),
)
INVOICE = TableSpec(
    "CustInvoiceJour", "Customer invoice journal", (COMPANY, "InvoiceNumber", "InvoiceDate", "LedgerVoucher"), (
        _company(), text("InvoiceNumber", 20, "Invoice"), day("InvoiceDate", "Date"),
        text("LedgerVoucher", 20, "Voucher"), text("SalesOrderNumber", 20, "Sales order"),
        text("InvoiceCustomerAccountNumber", 20, "Invoice account"), text("CurrencyCode", 3, "Currency"),
        amount("TotalInvoiceAmount", "Invoice amount"), amount("TotalTaxAmount", "Sales tax"),
        amount("TotalDiscountAmount", "Total discount"), amount("TotalChargeAmount", "Total charges"),
        amount("InvoiceHeaderTaxAmount", "Header sales tax"),
        text("CustomersOrderReference", 60, "Customer reference"), text("SalesOrderOriginCode", 10, "Sales origin"),
        text("PaymentTermsName", 10, "Terms of payment"), *_address("InvoiceAddress"),
    ),
    unique={"invoice": (COMPANY, "InvoiceNumber", "InvoiceDate")},
)
INVOICE_LINE = TableSpec(
    "CustInvoiceTrans", "Customer invoice lines",
    (COMPANY, "InvoiceNumber", "LineCreationSequenceNumber", "InvoiceDate"), (
        _company(), text("InvoiceNumber", 20, "Invoice"), integer("LineCreationSequenceNumber"),
        day("InvoiceDate", "Date"), text("LedgerVoucher", 20, "Voucher"),
        text("ProductNumber", 20, "Product number"), text("ProductName", 60, "Product name"),
        text("ProductDescription", 1000, "Text"), amount("InvoicedQuantity", "Quantity"),
        amount("SalesPrice", "Unit price"), text("SalesUnitSymbol", 10, "Unit"),
        amount("LineTotalDiscountAmount", "Discount"), amount("LineTotalChargeAmount", "Charges"),
        amount("LineAmount", "Amount"), amount("LineTotalTaxAmount", "Sales tax"), text("CurrencyCode", 3, "Currency"),
    ),
    unique={"voucher": (COMPANY, "InvoiceNumber", "LineCreationSequenceNumber", "InvoiceDate", "LedgerVoucher")},
    multi={"invoice": (COMPANY, "InvoiceNumber", "InvoiceDate", "LedgerVoucher")},
)

TABLES = (LEGAL_ENTITY, CURRENCY, SALES_ORIGIN, UNIT, PAYMENT_TERM, PAYMENT_METHOD, CUSTOMER_GROUP, CUSTOMER,
          CONTACT_PERSON, RELEASED_PRODUCT, QUOTATION, QUOTATION_LINE, ORDER, ORDER_LINE, INVOICE, INVOICE_LINE)
TABLES_BY_NAME = {table.name: table for table in TABLES}
