"""The reference records every Sales environment in the demo has after `reset`: currencies, business units (the
root and one per F&O legal entity), the "Default Unit" unit group with one unit per F&O unit symbol, and a price
list per currency. Their ids are derived from their names, so they survive a reset unchanged.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from connectors.emulators.dataverse.records import Records
from connectors.emulators.dataverse.schema import ENTITY_SETS
from connectors.emulators.fakedata import LEGAL_ENTITIES, UNITS

_NAMESPACE = uuid.UUID("5b6c2a8e-3f0e-4d4b-9a52-6a1d3c9e7f10")
CREATED_ON = "2024-01-01T08:00:00Z"
CURRENCIES = (("USD", "US Dollar", "$", 1.0), ("EUR", "Euro", "€", 0.92))
# One active price list per currency, named like the Sales sample data the P2C templates default to
# ("CRM Service USA (sample)", UO-SO2, UO-INV).
PRICE_LISTS = {"USD": "CRM Service USA (sample)", "EUR": "CRM Service Europe (sample)"}
ROOT_BUSINESS_UNIT = "Contoso"
UNIT_GROUP = "Default Unit"
BASE_UNIT = "Primary Unit"


def reference_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


@dataclass(frozen=True)
class ReferenceIds:
    """Ids seeding and defaults need: by currency code, business unit name, unit symbol, price list currency."""

    currencies: dict[str, str]
    business_units: dict[str, str]
    units: dict[str, str]
    unit_group: str
    price_lists: dict[str, str]

    @property
    def root_business_unit(self) -> str:
        return self.business_units[ROOT_BUSINESS_UNIT]

    def business_unit_for(self, currency: str) -> str:
        """The business unit of the legal entity that books in `currency` (usmf/USD, demf/EUR)."""
        for entity in LEGAL_ENTITIES:
            if entity["CurrencyCode"] == currency:
                return self.business_units[entity["BusinessUnit"]]
        return self.root_business_unit


def create_reference_data(records: Records) -> ReferenceIds:
    """Insert the reference records (the caller holds the store lock, the tables are empty)."""
    stamp = {"createdon": CREATED_ON, "modifiedon": CREATED_ON}

    def add(set_name: str, row: dict) -> None:
        records.insert(ENTITY_SETS[set_name], {**row, **stamp})

    currencies = {}
    for code, name, symbol, rate in CURRENCIES:
        currencies[code] = reference_id("currency", code)
        add("transactioncurrencies", {"transactioncurrencyid": currencies[code], "isocurrencycode": code,
                                      "currencyname": name, "currencysymbol": symbol, "exchangerate": rate,
                                      "currencyprecision": 2, "currencytype": 0, "statecode": 0,
                                      "statuscode": 1})
    root = reference_id("businessunit", ROOT_BUSINESS_UNIT)
    business_units = {ROOT_BUSINESS_UNIT: root}
    add("businessunits", {"businessunitid": root, "name": ROOT_BUSINESS_UNIT, "isdisabled": False})
    for entity in LEGAL_ENTITIES:
        unit_id = reference_id("businessunit", entity["BusinessUnit"])
        business_units[entity["BusinessUnit"]] = unit_id
        add("businessunits", {"businessunitid": unit_id, "name": entity["BusinessUnit"], "isdisabled": False,
                              "_parentbusinessunitid_value": root, "_parentbusinessunitid_target": "businessunits"})
    group = reference_id("uomschedule", UNIT_GROUP)
    add("uomschedules", {"uomscheduleid": group, "name": UNIT_GROUP, "baseuomname": BASE_UNIT, "statecode": 0,
                         "statuscode": 1})
    base = reference_id("uom", BASE_UNIT)
    units = {BASE_UNIT: base}
    in_group = {"_uomscheduleid_value": group, "_uomscheduleid_target": "uomschedules",
                "_baseuom_value": base, "_baseuom_target": "uoms", "quantity": 1.0}
    add("uoms", {"uomid": base, "name": BASE_UNIT, "isschedulebaseuom": True, **in_group})
    for symbol, _, _ in UNITS:
        units[symbol] = reference_id("uom", symbol)
        add("uoms", {"uomid": units[symbol], "name": symbol, "isschedulebaseuom": False, **in_group})
    price_lists = {}
    for code, _, _, _ in CURRENCIES:
        price_lists[code] = reference_id("pricelevel", code)
        add("pricelevels", {"pricelevelid": price_lists[code], "name": PRICE_LISTS[code],
                            "_transactioncurrencyid_value": currencies[code],
                            "_transactioncurrencyid_target": "transactioncurrencies",
                            "begindate": "2024-01-01T00:00:00Z", "statecode": 0, "statuscode": 100001})
    return ReferenceIds(currencies, business_units, units, group, price_lists)
