"""`/_emulator/price-list-items`: put a product into a price list, or take it out, by product number, so a test or
the demo can stage "the product is not in the order's price list" (or mend it) without looking up ids.

    POST   {"productnumber": "P00001", "currency": "EUR"}                      -> 201 the item
    POST   {"productnumber": "P00001", "pricelist": "CRM Service USA (sample)", "amount": 12.5, "unit": "ea"}
    DELETE {"productnumber": "P00001", "currency": "EUR"}                      -> 200 {"removed": n}

`currency` names the first valid price list of that currency (as the P2C plug-in picks it), `pricelist` one by
name. The amount defaults to the product's price in the price list's currency (by the currencies' exchange
rates), the unit to the product's default unit; DELETE removes the product's items of every unit.
"""

from __future__ import annotations

from connectors.emulators.dataverse.pricing import add_item, first_valid_price_list
from connectors.emulators.dataverse.records import Records
from connectors.emulators.dataverse.schema import ENTITY_SETS
from connectors.emulators.server import Request, Response, json_response

Row = dict


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def control(records: Records, request: Request, body: dict) -> Response:
    if request.method not in ("POST", "DELETE"):
        return json_response(405, {"error": f"{request.method} /_emulator/price-list-items is not supported"})
    try:
        with records.store.transaction():
            product = _product(records, body)
            price_list = _price_list(records, body)
            items = records.price_list_items(price_list["pricelevelid"], product["productid"])
            if request.method == "DELETE":
                if not items:
                    raise _Refused(404, f"Product '{product['productnumber']}' is not in the price list "
                                        f"'{price_list['name']}'.")
                for item in items:
                    records.delete(ENTITY_SETS["productpricelevels"], item)
                return json_response(200, {"removed": len(items)})
            unit = _unit(records, body, product)
            if any(item.get("_uomid_value") == unit["uomid"] for item in items):
                raise _Refused(400, f"Product '{product['productnumber']}' is already in the price list "
                                    f"'{price_list['name']}' in unit '{unit['name']}'.")
            amount = body.get("amount", _converted_price(records, product, price_list))
            if isinstance(amount, bool) or not isinstance(amount, int | float):
                raise _Refused(400, f"amount must be a number, not {amount!r}")
            item = add_item(records, price_list, product, float(amount), unit["uomid"])
    except _Refused as exc:
        return json_response(exc.status, {"error": exc.message})
    return json_response(201, {"productpricelevelid": item["productpricelevelid"], "pricelist": price_list["name"],
                               "productnumber": product["productnumber"], "unit": unit["name"],
                               "amount": item["amount"]})


def _product(records: Records, body: dict) -> Row:
    number = body.get("productnumber")
    found = next((row for row in records.table("products").scan() if row.get("productnumber") == number), None)
    if found is None:
        raise _Refused(404, f"no product with productnumber {number!r}")
    return found


def _price_list(records: Records, body: dict) -> Row:
    if isinstance(body.get("pricelist"), str):
        found = next((row for row in records.table("pricelevels").scan() if row.get("name") == body["pricelist"]),
                     None)
        if found is None:
            raise _Refused(404, f"no price list named {body['pricelist']!r}")
        return found
    currency = next((row for row in records.table("transactioncurrencies").scan()
                     if row.get("isocurrencycode") == body.get("currency")), None)
    if currency is None:
        raise _Refused(400, "name the price list by 'pricelist' (its name) or 'currency' (an ISO code Sales has)")
    found = first_valid_price_list(records, currency["transactioncurrencyid"])
    if found is None:
        raise _Refused(404, f"no valid price list in {body['currency']}")
    return found


def _unit(records: Records, body: dict, product: Row) -> Row:
    if "unit" not in body:
        return records.get("uoms", product.get("_defaultuomid_value")) or {"uomid": None, "name": None}
    found = next((row for row in records.table("uoms").scan()
                  if row.get("name") == body["unit"]
                  and row.get("_uomscheduleid_value") == product.get("_defaultuomscheduleid_value")), None)
    if found is None:
        raise _Refused(400, f"no unit {body['unit']!r} in the product's unit group")
    return found


def _converted_price(records: Records, product: Row, price_list: Row) -> float:
    rates = {row["transactioncurrencyid"]: float(row.get("exchangerate") or 1)
             for row in records.table("transactioncurrencies").scan()}
    own = rates.get(product.get("_transactioncurrencyid_value"), 1.0)
    return round(float(product.get("price") or 0) * rates.get(price_list.get("_transactioncurrencyid_value"), 1.0)
                 / own, 2)
