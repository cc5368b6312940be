"""The entity sets the Prospect-to-cash maps read and write, with the reference data their foreign keys need.

Names, keys and types follow the F&O metadata quoted in the reference; labels are the ones the Infolog names.
Assumptions (no public metadata found): the AOT entity names of the CDS entities, the navigation property names
between headers and lines, and the string sizes, which follow the usual extended data types.
"""

from __future__ import annotations

from connectors.emulators.finops.schema import (
    COMPANY,
    EntitySet,
    Field,
    ForeignKey,
    Navigation,
    TableSpec,
    amount,
    day,
    enum,
    integer,
    text,
)


def _company() -> Field:
    return text(COMPANY, 4, "Company")


def _address(prefix: str, *, region_id: bool = True, description: bool = False) -> tuple:
    fields = [text(f"{prefix}Street", 250), text(f"{prefix}City", 60), text(f"{prefix}State", 10),
              text(f"{prefix}ZipCode", 10)]
    if region_id:
        fields.append(text(f"{prefix}CountryRegionId", 10))
    fields.append(text(f"{prefix}CountryRegionISOCode", 10))
    if description:
        fields.insert(0, text(f"{prefix}Description", 60))
    return tuple(fields)


def _names(fields: tuple) -> tuple[str, ...]:
    return tuple(f.name for f in fields)


# --- reference data -------------------------------------------------------------------------------------------
LEGAL_ENTITY = TableSpec("CompanyInfo", "Legal entities", ("LegalEntityId",), (
    text("LegalEntityId", 4, "Company", mandatory=True), text("Name", 100),
    text("AccountingCurrency", 3, "Accounting currency"),
    text("AddressCountryRegionId", 10), text("LanguageId", 7, "Language"),
))
CURRENCY = TableSpec("Currency", "Currencies", ("CurrencyCode",), (
    text("CurrencyCode", 3, "Currency", mandatory=True), text("Name", 60), text("Symbol", 5),
))
UNIT = TableSpec("UnitOfMeasure", "Units", ("UnitSymbol",), (
    text("UnitSymbol", 10, "Unit", mandatory=True), text("UnitDescription", 60, "Description"),
    integer("DecimalPrecision"),
))
CUSTOMER_GROUP = TableSpec("CustGroup", "Customer groups", (COMPANY, "CustomerGroupId"), (
    _company(), text("CustomerGroupId", 10, "Customer group", mandatory=True), text("Description", 60),
    text("PaymentTermId", 10, "Terms of payment"), text("ClearingPeriodPaymentTermName", 10),
    enum("IsSalesTaxIncludedInPrice", "NoYes"),
))

# --- customers and contact persons --------------------------------------------------------------------------
CUSTOMER_FIELDS = (
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
)
CUSTOMER = TableSpec(
    "CustTable", "Customers", (COMPANY, "CustomerAccount"), CUSTOMER_FIELDS,
    unique={"party": (COMPANY, "PartyNumber")},
    foreign_keys=(ForeignKey(("CustomerGroupId",), "CustGroup", "Customer groups"),
                  ForeignKey(("SalesCurrencyCode",), "Currency", "Currencies")),
)
CONTACT_PERSON = TableSpec(
    "ContactPerson", "Contact persons", (COMPANY, "ContactPersonPartyNumber", "AssociatedPartyNumber"), (
        _company(), text("ContactPersonPartyNumber", 40, "Party number"),
        text("AssociatedPartyNumber", 40, "Associated party", mandatory=True),
        text("ContactPersonId", 20, "Contact ID"), text("FirstName", 25, "First name"),
        text("MiddleName", 25, "Middle name"), text("LastName", 25, "Last name"),
        text("PrimaryEmailAddress", 255, "Email"), text("PrimaryPhoneNumber", 255, "Telephone"),
        text("JobTitle", 60, "Job title"),
        enum("IsContactPersonExternallyMaintained", "NoYes", "Is externally maintained"),
    ),
    unique={"contact": (COMPANY, "ContactPersonId")},
    foreign_keys=(ForeignKey(("AssociatedPartyNumber",), "CustTable", "Customers", index="party"),),
)

# --- released products: one table, three entity sets --------------------------------------------------------
PRODUCT_FIELDS = (
    _company(), text("ItemNumber", 20, "Item number"), text("ProductNumber", 20, "Product number", mandatory=True),
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
)
RELEASED_PRODUCT = TableSpec(
    "InventTable", "Released products", (COMPANY, "ItemNumber"), PRODUCT_FIELDS,
    unique={"product": (COMPANY, "ProductNumber")},
    foreign_keys=tuple(ForeignKey((unit,), "UnitOfMeasure", "Units")
                       for unit in ("InventoryUnitSymbol", "SalesUnitSymbol", "PurchaseUnitSymbol")),
)
_RELEASED_V2 = tuple(name for name in _names(PRODUCT_FIELDS) if name not in {
    "ProductName", "ProductDescription", "InventoryUnitDecimalPrecision", "SalesUnitDecimalPrecision",
    "CurrencyCode"})
_CREATION = (COMPANY, "ItemNumber", "ProductNumber", "ProductName", "ProductDescription", "ProductType",
             "ProductSubType", "SearchName", "ProductSearchName", "ProductGroupId", "ItemModelGroupId",
             "StorageDimensionGroupName", "TrackingDimensionGroupName", "ProductDimensionGroupName",
             "InventoryUnitSymbol", "SalesUnitSymbol", "PurchaseUnitSymbol", "SalesPrice", "UnitCost",
             "SalesSalesTaxItemGroupCode", "PurchaseSalesTaxItemGroupCode")
_SELLABLE = (COMPANY, "ProductNumber", "ItemNumber", "ProductName", "ProductDescription", "ProductType",
             "SalesUnitSymbol", "SalesUnitDecimalPrecision", "InventoryUnitSymbol", "InventoryUnitDecimalPrecision",
             "CurrencyCode", "SalesPrice", "UnitCost", "IsSalesStopped", "IsStockedProduct")

# --- quotations, orders, invoices ----------------------------------------------------------------------------
_DELIVERY = (text("DeliveryAddressName", 100, "Delivery name"), text("DeliveryAddressStreet", 250),
             text("DeliveryAddressCity", 60), text("DeliveryAddressState", 10), text("DeliveryAddressZipCode", 10),
             text("DeliveryAddressCountryRegionISOCode", 10))
_CUSTOMER_FK = "Customers"
QUOTATION = TableSpec(
    "SalesQuotationTable", "Sales quotations", (COMPANY, "SalesQuotationNumber"), (
        _company(), text("SalesQuotationNumber", 20, "Quotation"),
        text("RequestingCustomerAccountNumber", 20, "Customer account", mandatory=True),
        text("InvoiceCustomerAccountNumber", 20, "Invoice account"), text("CurrencyCode", 3, "Currency"),
        text("SalesQuotationName", 60, "Name"), enum("SalesQuotationStatus", "SalesQuotationStatus", "Status"),
        day("SalesQuotationExpiryDate", "Expiration date"), day("RequestedShippingDate", "Requested ship date"),
        *_DELIVERY, text("LanguageId", 7, "Language"), text("SiteId", 10, "Site"),
        text("WarehouseId", 10, "Warehouse"), text("CustomerRequisitionNumber", 20, "Requisition"),
        amount("QuotationTotalAmount", "Total amount"),
    ),
    foreign_keys=(ForeignKey(("RequestingCustomerAccountNumber",), "CustTable", _CUSTOMER_FK),
                  ForeignKey(("InvoiceCustomerAccountNumber",), "CustTable", _CUSTOMER_FK),
                  ForeignKey(("CurrencyCode",), "Currency", "Currencies")),
)
_LINE_PRODUCT = (text("ProductNumber", 20, "Product number"), text("ItemNumber", 20, "Item number"),
                 text("LineDescription", 1000, "Text"))
_LINE_PRODUCT_FKS = (ForeignKey(("ItemNumber",), "InventTable", "Released products"),
                     ForeignKey(("ProductNumber",), "InventTable", "Released products", index="product"),
                     ForeignKey(("SalesUnitSymbol",), "UnitOfMeasure", "Units"))
QUOTATION_LINE = TableSpec(
    "SalesQuotationLine", "Quotation lines", (COMPANY, "InventoryLotId"), (
        _company(), text("InventoryLotId", 20, "Lot ID"),
        text("SalesQuotationNumber", 20, "Quotation", mandatory=True), integer("LineCreationSequenceNumber"),
        *_LINE_PRODUCT, amount("RequestedSalesQuantity", "Quantity"), amount("SalesPrice", "Unit price"),
        text("SalesUnitSymbol", 10, "Unit"), amount("LineDiscountAmount", "Discount"),
        amount("LineAmount", "Net amount"),
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
        enum("AreTotalsUpdated", "NoYes", "Totals updated"),
        day("RequestedShippingDate", "Requested ship date"), day("RequestedReceiptDate", "Requested receipt date"),
        text("CustomerRequisitionNumber", 20, "Requisition"), text("CustomersOrderReference", 60, "Customer reference"),
        text("QuotationNumber", 20, "Quotation"),
        *_DELIVERY, text("LanguageId", 7, "Language"), text("SiteId", 10, "Site"),
        text("WarehouseId", 10, "Warehouse"), amount("OrderTotalAmount", "Total amount"),
    ),
    foreign_keys=(ForeignKey(("OrderingCustomerAccountNumber",), "CustTable", _CUSTOMER_FK),
                  ForeignKey(("InvoiceCustomerAccountNumber",), "CustTable", _CUSTOMER_FK),
                  ForeignKey(("CurrencyCode",), "Currency", "Currencies")),
)
ORDER_LINE = TableSpec(
    "SalesLine", "Order lines", (COMPANY, "InventoryLotId"), (
        _company(), text("InventoryLotId", 20, "Lot ID"), text("SalesOrderNumber", 20, "Sales order", mandatory=True),
        integer("LineCreationSequenceNumber"), *_LINE_PRODUCT, amount("OrderedSalesQuantity", "Quantity"),
        amount("SalesPrice", "Unit price"), text("SalesUnitSymbol", 10, "Unit"),
        amount("LineDiscountAmount", "Discount"), amount("LineAmount", "Net amount"),
        text("CurrencyCode", 3, "Currency"), enum("SalesOrderLineStatus", "SalesStatus", "Status"),
    ),
    unique={"sequence": (COMPANY, "SalesOrderNumber", "LineCreationSequenceNumber")},
    multi={"order": (COMPANY, "SalesOrderNumber")},
    foreign_keys=(ForeignKey(("SalesOrderNumber",), "SalesTable", "Sales orders"), *_LINE_PRODUCT_FKS),
)
INVOICE = TableSpec(
    "CustInvoiceJour", "Customer invoice journal", (COMPANY, "InvoiceNumber", "InvoiceDate", "LedgerVoucher"), (
        _company(), text("InvoiceNumber", 20, "Invoice"), day("InvoiceDate", "Date"),
        text("LedgerVoucher", 20, "Voucher"),
        text("SalesOrderNumber", 20, "Sales order"), text("InvoiceCustomerAccountNumber", 20, "Invoice account"),
        text("OrderingCustomerAccountNumber", 20, "Customer account"), text("CurrencyCode", 3, "Currency"),
        amount("TotalInvoiceAmount", "Invoice amount"), amount("TotalTaxAmount", "Sales tax"),
        amount("TotalDiscountAmount", "Total discount"), text("CustomersOrderReference", 60, "Customer reference"),
        *_address("InvoiceAddress"),
    ),
    unique={"invoice": (COMPANY, "InvoiceNumber", "InvoiceDate")},
)
INVOICE_LINE = TableSpec(
    "CustInvoiceTrans", "Customer invoice lines",
    (COMPANY, "InvoiceNumber", "LineCreationSequenceNumber", "InvoiceDate"), (
        _company(), text("InvoiceNumber", 20, "Invoice"), integer("LineCreationSequenceNumber"),
        day("InvoiceDate", "Date"), text("SalesOrderNumber", 20, "Sales order"), *_LINE_PRODUCT,
        amount("InvoicedQuantity", "Quantity"), amount("SalesPrice", "Unit price"), text("SalesUnitSymbol", 10, "Unit"),
        amount("LineDiscountAmount", "Discount"), amount("LineAmount", "Amount"), amount("LineTaxAmount", "Sales tax"),
        text("CurrencyCode", 3, "Currency"),
    ),
    multi={"invoice": (COMPANY, "InvoiceNumber", "InvoiceDate")},
)

TABLES = (LEGAL_ENTITY, CURRENCY, UNIT, CUSTOMER_GROUP, CUSTOMER, CONTACT_PERSON, RELEASED_PRODUCT, QUOTATION,
          QUOTATION_LINE, ORDER, ORDER_LINE, INVOICE, INVOICE_LINE)

_READ_ONLY = frozenset({"GET"})
_QUOTATION_KEY = (COMPANY, "SalesQuotationNumber")
_ORDER_KEY = (COMPANY, "SalesOrderNumber")
_INVOICE_KEY = (COMPANY, "InvoiceNumber", "InvoiceDate")

ENTITY_SETS = {entity.name: entity for entity in (
    EntitySet("LegalEntities", "LegalEntity", "OMLegalEntity", LEGAL_ENTITY, _names(LEGAL_ENTITY.fields)),
    EntitySet("Currencies", "Currency", "CurrencyEntity", CURRENCY, _names(CURRENCY.fields)),
    EntitySet("UnitsOfMeasure", "UnitOfMeasure", "UnitOfMeasureEntity", UNIT, _names(UNIT.fields)),
    EntitySet("CustomerGroups", "CustomerGroup", "CustCustomerGroupEntity", CUSTOMER_GROUP,
              _names(CUSTOMER_GROUP.fields)),
    EntitySet("CustomersV3", "CustomerV3", "CustCustomerV3Entity", CUSTOMER, _names(CUSTOMER_FIELDS)),
    EntitySet("CDSContactPersons", "CDSContactPerson", "SmmContactPersonCDSEntity", CONTACT_PERSON,
              _names(CONTACT_PERSON.fields)),
    EntitySet("ReleasedProductsV2", "ReleasedProductV2", "EcoResReleasedProductV2Entity", RELEASED_PRODUCT,
              _RELEASED_V2),
    EntitySet("ReleasedProductCreationsV2", "ReleasedProductCreationV2", "EcoResReleasedProductCreationV2Entity",
              RELEASED_PRODUCT, _CREATION),
    # Assumption: sellable products page in the released-product table's order (item number), which is product
    # number order for every product whose item number is its product number, as the seeded ones are.
    EntitySet("SellableReleasedProducts", "SellableReleasedProduct", "EcoResSellableReleasedProductEntity",
              RELEASED_PRODUCT, _SELLABLE, key=(COMPANY, "ProductNumber"), key_index="product", methods=_READ_ONLY,
              visible=lambda row: row["IsSalesStopped"] == "No"),
    EntitySet("CDSSalesQuotationHeaders", "CDSSalesQuotationHeader", "SalesQuotationHeaderCDSEntity", QUOTATION,
              _names(QUOTATION.fields),
              navigations=(Navigation("SalesQuotationLines", "CDSSalesQuotationLines", _QUOTATION_KEY, "quotation",
                                      many=True),)),
    EntitySet("CDSSalesQuotationLines", "CDSSalesQuotationLine", "SalesQuotationLineCDSEntity", QUOTATION_LINE,
              _names(QUOTATION_LINE.fields),
              navigations=(Navigation("SalesQuotationHeader", "CDSSalesQuotationHeaders", _QUOTATION_KEY, None,
                                      many=False),)),
    EntitySet("CDSSalesOrderHeaders", "CDSSalesOrderHeader", "SalesOrderHeaderCDSEntity", ORDER, _names(ORDER.fields),
              navigations=(Navigation("SalesOrderLines", "CDSSalesOrderLines", _ORDER_KEY, "order", many=True),)),
    EntitySet("CDSSalesOrderLines", "CDSSalesOrderLine", "SalesOrderLineCDSEntity", ORDER_LINE,
              _names(ORDER_LINE.fields),
              navigations=(Navigation("SalesOrderHeader", "CDSSalesOrderHeaders", _ORDER_KEY, None, many=False),)),
    EntitySet("SalesInvoiceHeadersV2", "SalesInvoiceHeaderV2", "SalesInvoiceHeaderV2Entity", INVOICE,
              _names(INVOICE.fields), methods=_READ_ONLY,
              navigations=(Navigation("SalesInvoiceLines", "SalesInvoiceLines", _INVOICE_KEY, "invoice", many=True),)),
    EntitySet("SalesInvoiceLines", "SalesInvoiceLine", "SalesInvoiceLineEntity", INVOICE_LINE,
              _names(INVOICE_LINE.fields), methods=_READ_ONLY,
              navigations=(Navigation("SalesInvoiceHeader", "SalesInvoiceHeadersV2", _INVOICE_KEY, "invoice",
                                      many=False),)),
)}
