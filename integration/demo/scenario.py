"""The demo's story, told to the emulators: seed both systems, plant a few bad records, change a few good ones,
and check afterwards, from the emulators' own data, that exactly the right records arrived.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import requests

from connectors.emulators import RunningEmulator
from integration import mapping
from integration.definitions import project_definitions
from integration.models import Project
from integration.services import binder

BAD_COUNTRIES = ("Atlantis", "Narnia", "El Dorado")
BAD_UNIT = "crate"


class EmulatorClient:
    """Plain HTTPS calls to one emulator, as a person with a script would make them."""

    def __init__(self, emulator: RunningEmulator):
        self.emulator = emulator
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise override verify
        self.session.verify = str(emulator.cert_path)
        self._token: str | None = None

    def control(self, method: str, action: str, body: dict | None = None) -> dict:
        response = self.session.request(method, f"{self.emulator.origin}/_emulator/{action}", json=body, timeout=600)
        response.raise_for_status()
        return response.json()

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            identity = self.emulator.app.identity
            grant = identity.issue(audience=self.emulator.origin, tenant="contoso")
            self._token = grant.access_token
        return {"Authorization": f"Bearer {self._token}", "Accept": "application/json",
                "Prefer": "odata.maxpagesize=5000"}

    def rows(self, entity_set: str, **params) -> Iterator[dict]:
        url: str | None = f"{self.emulator.api_url}{entity_set}"
        while url:
            response = self.session.get(url, params=params, headers=self._headers(), timeout=120)
            response.raise_for_status()
            body = response.json()
            yield from body["value"]
            url, params = body.get("@odata.nextLink"), None

    def write(self, method: str, path: str, body: dict) -> dict | None:
        response = self.session.request(method, f"{self.emulator.api_url}{path}", json=body,
                                        headers=self._headers(), timeout=60)
        response.raise_for_status()
        return response.json() if response.content else None

    def create(self, entity_set: str, body: dict) -> dict:
        """A new record, answered in full (Dataverse says so only when asked)."""
        response = self.session.post(f"{self.emulator.api_url}{entity_set}", json=body, timeout=60,
                                     headers={**self._headers(), "Prefer": "return=representation"})
        response.raise_for_status()
        return response.json()


@dataclass
class BadRecord:
    entity_map: str
    source_key: str
    why: str


@dataclass
class Story:
    """What the demo did to the source systems, so the outcome can be checked."""

    bad: list[BadRecord] = field(default_factory=list)
    changed: dict[str, set[str]] = field(default_factory=dict)  # entity map -> source keys changed


def seed(sales: EmulatorClient, fno: EmulatorClient, *, accounts: int, contacts: int, products: int, quotes: int,
         seed_value: int = 2026) -> dict[str, dict[str, int]]:
    """Both systems, from the same product catalog, in two legal entities."""
    return {
        "finops": fno.control("POST", "seed", {"SellableReleasedProducts": products, "seed": seed_value})["created"],
        "dataverse": sales.control("POST", "seed", {"accounts": accounts, "contacts": contacts, "quotes": quotes,
                                                    "seed": seed_value})["created"],
    }


def plant_bad_records(sales: EmulatorClient, fno: EmulatorClient) -> list[BadRecord]:
    """Accounts with a country no value map knows, and a product in a unit Sales has never heard of.

    The accounts chosen have no contacts or quotes, so each failure stands alone.
    """
    referenced = {row.get("_parentcustomerid_value")
                  for row in sales.rows("contacts", **{"$select": "_parentcustomerid_value"})}
    referenced |= {row.get("_customerid_value") for row in sales.rows("quotes", **{"$select": "_customerid_value"})}
    lonely = [row for row in sales.rows("accounts", **{"$select": "accountid,accountnumber"})
              if row.get("accountnumber") and row["accountid"] not in referenced]
    bad = []
    for account, country in zip(lonely, BAD_COUNTRIES, strict=False):
        sales.write("PATCH", f"accounts({account['accountid']})", {"address1_country": country})
        bad.append(BadRecord("Accounts", account["accountnumber"], f"country '{country}' has no value map entry"))
    fno.write("POST", "UnitsOfMeasure", {"UnitSymbol": BAD_UNIT, "UnitDescription": "Crate", "DecimalPrecision": 0})
    # A released product is made in F&O's client (its OData create entity is not in Microsoft's metadata).
    fno.control("POST", "rows", {"table": "InventTable", "values": {
        "dataAreaId": "usmf", "ItemNumber": "P99999", "ProductNumber": "P99999", "ProductName": "Crated speaker set",
        "ProductType": "Item", "ProductSubType": "Product", "SalesUnitSymbol": BAD_UNIT,
        "InventoryUnitSymbol": BAD_UNIT, "PurchaseUnitSymbol": BAD_UNIT, "SalesPrice": 499.0}})
    bad.append(BadRecord("Products", "P99999", f"unit '{BAD_UNIT}' has no value map entry"))
    return bad


def make_changes(sales: EmulatorClient, fno: EmulatorClient, story: Story) -> dict[str, set[str]]:
    """A few edits a salesperson and a product manager would make; returns source keys by entity map."""
    bad_keys = {record.source_key for record in story.bad}
    accounts = [row for row in sales.rows("accounts", **{"$select": "accountid,accountnumber,telephone1"})
                if row.get("accountnumber") and row["accountnumber"] not in bad_keys][:3]
    for n, account in enumerate(accounts):
        sales.write("PATCH", f"accounts({account['accountid']})", {"telephone1": f"+1 425-555-01{n:02d}"})
    contact = next(row for row in sales.rows("contacts", **{"$filter": "msdynce_isactivecustomer eq false and "
                                                                         "msdynce_iscompanyanaccount eq true"}))
    sales.write("PATCH", f"contacts({contact['contactid']})", {"jobtitle": "Head of Purchasing"})
    product = next(row for row in fno.rows("ReleasedProductsV2", **{"$filter": "dataAreaId eq 'usmf'",
                                                                     "cross-company": "true"})
                   if row["ProductNumber"] not in bad_keys)
    fno.write("PATCH", f"ReleasedProductsV2(dataAreaId='usmf',ItemNumber='{product['ItemNumber']}')",
              {"SalesPrice": round(float(product["SalesPrice"]) * 1.1, 2)})
    line = _synced_quote_line(sales)
    # A discount for the whole line: F&O gets it per unit (3.33 over 3 units) and the rounding as a charge.
    sales.write("PATCH", f"quotedetails({line['quotedetailid']})", {"quantity": 3, "manualdiscountamount": 10})
    return {"Accounts": {a["accountnumber"] for a in accounts}, "Contacts": {contact["msdynce_contactnumber"]},
            "Products": {product["ProductNumber"]}, "Quote lines": {line["quotedetailid"]}}


def _synced_quote_line(sales: EmulatorClient) -> dict:
    """A product line of an active quote of externally maintained products: one the full run wrote to F&O."""
    quote = next(sales.rows("quotes", **{"$select": "quoteid", "$filter": "statecode eq 1 and "
                                         "msdynce_hasexternallymaintainedproductsonly eq true"}))
    return next(row for row in sales.rows("quotedetails", **{"$filter": f"_quoteid_value eq {quote['quoteid']}"})
                if row.get("_productid_value"))


# --- checking the outcome against the emulators ------------------------------------------------------------
@dataclass
class MapCheck:
    eligible: int
    missing: list[str]  # eligible, good source keys whose destination record is not there


def check_destinations(project: Project, sales: EmulatorClient, fno: EmulatorClient,
                       story: Story) -> dict[str, MapCheck]:
    """For each entity map: how many source records are eligible, and which good ones did not arrive.

    Eligible: its conditions hold, and, for maps whose parent is skipped when not synced (quote lines), its
    parent is eligible. The destination is read from the emulator itself and matched through the key links.
    """
    bad = {(record.entity_map, record.source_key) for record in story.bad}
    eligible_ids: dict[str, set[str]] = {}
    checks: dict[str, MapCheck] = {}
    for entity_map, definition in project_definitions(project):
        source, destination = (sales, fno) if entity_map.direction == "sales_to_finops" else (fno, sales)
        params = {"cross-company": "true"} if source is fno else {}
        scope = entity_map.source_filter.format(product_company="usmf") if entity_map.source_filter else None
        if scope:
            params["$filter"] = scope
        eligible: dict[str, str] = {}
        for row in source.rows(entity_map.source_entity_set, **params):
            if mapping.ineligibility(definition, row) or not _parents_eligible(definition, row, eligible_ids):
                continue
            eligible[mapping.source_key(definition, row)] = mapping.source_id(definition, row).lower()
        eligible_ids[entity_map.name] = {value for key, sid in eligible.items() if (entity_map.name, key) not in bad
                                         for value in (key, sid) if value}
        links = binder.destination_keys(entity_map=entity_map)
        present = _destination_keys(destination, entity_map.destination_entity_set,
                                    entity_map.destination_key_fields)
        missing = sorted(key for key in eligible if (entity_map.name, key) not in bad
                         and links.get(key) not in present)
        checks[entity_map.name] = MapCheck(len(eligible), missing)
    return checks


def _parents_eligible(definition: mapping.MapDefinition, row: dict, eligible_ids: dict[str, set[str]]) -> bool:
    """Whether the parents a record skips without (an order line's order) are eligible: by their id, or by their
    key made of the record's fields."""
    for rule in definition.fields:
        lookup = rule.options.get("lookup") if "lookup" in rule.transforms else None
        if not lookup or lookup.get("when_missing") != "skip" or lookup.get("match") not in ("source_id",
                                                                                            "source_key"):
            continue
        value = (mapping.lookup_value(lookup, row) if "key_fields" in lookup else row.get(rule.source)) or ""
        value = str(value).lower() if lookup.get("match") == "source_id" else str(value)
        if not any(value in eligible_ids.get(name, ()) for name in lookup["entity_maps"]):
            return False
    return True


def _destination_keys(client: EmulatorClient, entity_set: str, key_fields: list[str]) -> set[str]:
    params = {"cross-company": "true"} if client.emulator.app.name == "finops" else {}
    return {mapping.destination_key_text({name: row.get(name) for name in key_fields})
            for row in client.rows(entity_set, **params)}
