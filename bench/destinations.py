"""What both emulators hold after a Prospect-to-cash run, against what their sources say should be there.

Read over HTTPS like any client, and judged by the template's rules written out here (not by p2c's own code or
database), so a record p2c believes it wrote but never did counts as lost, and a record written twice under one
key counts as duplicated.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass

PRODUCT_COMPANY = "usmf"  # the template's organization mapping that exports products


@dataclass(frozen=True)
class MapCheck:
    entity_map: str
    expected: int
    written: int  # expected keys found at the destination
    lost: int  # expected keys not found
    duplicated: int  # extra destination records under an expected key


def check_destinations(read: Callable[[str, str], list[dict]]) -> list[MapCheck]:
    """`read(system, entity_set)` returns every row of an entity set ("dataverse" or "finops", all companies)."""
    products = read("finops", "SellableReleasedProducts")
    accounts, contacts = read("dataverse", "accounts"), read("dataverse", "contacts")
    quotes, lines = read("dataverse", "quotes"), read("dataverse", "quotedetails")
    customers = Counter(c["CustomerAccount"] for c in read("finops", "CustomersV3"))
    synced_quotes = {q["quoteid"]: q["quotenumber"] for q in quotes
                     if q.get("quotenumber") and q.get("statecode") == 1
                     and q.get("msdynce_hasexternallymaintainedproductsonly")}
    return [
        _check("Products", {p["ProductNumber"] for p in products if p["dataAreaId"] == PRODUCT_COMPANY},
               Counter(p.get("productnumber") for p in read("dataverse", "products"))),
        _check("Accounts", {a["accountnumber"] for a in accounts if a.get("accountnumber")}, customers),
        _check("Contacts", {c["msdynce_contactnumber"] for c in contacts
                            if c.get("msdynce_contactnumber") and not c.get("msdynce_isactivecustomer")
                            and c.get("msdynce_iscompanyanaccount")},
               Counter(p["ContactPersonId"] for p in read("finops", "CDSContactPersons"))),
        _check("Contacts to customers", {c["msdynce_contactnumber"] for c in contacts
                                         if c.get("msdynce_contactnumber") and c.get("msdynce_isactivecustomer")},
               customers),
        _check("Quotes", set(synced_quotes.values()),
               Counter(h["SalesQuotationNumber"] for h in read("finops", "CDSSalesQuotationHeaders"))),
        _check("Quote lines", {(synced_quotes[line["_quoteid_value"]], int(line["sequencenumber"])) for line in lines
                               if line.get("_productid_value") and line.get("_quoteid_value") in synced_quotes},
               Counter((line["SalesQuotationNumber"], int(line["LineCreationSequenceNumber"]))
                       for line in read("finops", "CDSSalesQuotationLines"))),
    ]


def _check(entity_map: str, expected: set[Hashable], found: Counter) -> MapCheck:
    written = sum(1 for key in expected if found[key])
    return MapCheck(entity_map, len(expected), written, len(expected) - written,
                    sum(found[key] - 1 for key in expected if found[key] > 1))
