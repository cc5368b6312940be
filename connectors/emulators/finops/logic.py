"""Which entity logic runs when a stored table is written: one registry for OData writes and planted rows."""

from __future__ import annotations

from connectors.emulators.finops.order_rules import ORDER_LINE_RULES, ORDER_RULES
from connectors.emulators.finops.rules import (
    QUOTATION_RULES,
    ContactPersonRules,
    CustomerRules,
    LineRules,
    ReleasedProductRules,
    Rules,
)

_RULES: dict[str, Rules] = {
    "CustTable": CustomerRules(),
    "ContactPerson": ContactPersonRules(),
    "InventTable": ReleasedProductRules(),
    "SalesQuotationTable": QUOTATION_RULES,
    "SalesQuotationLine": LineRules(QUOTATION_RULES, "SalesQuotationNumber", "RequestedSalesQuantity"),
    "SalesTable": ORDER_RULES,
    "SalesLine": ORDER_LINE_RULES,
}
_NO_RULES = Rules()


def rules_for(table: str) -> Rules:
    return _RULES.get(table, _NO_RULES)
