"""Sales orders and invoices as users make them: in Sales through its Web API, in F&O through OData and the
emulator's control API (confirm, totals, invoices), for the engine's order and invoice tests."""

from __future__ import annotations

import requests

from tests.support.emulators import EmulatorHandle

ACTIVE, CONFIRMED, INVOICED, PARTIALLY_INVOICED = 647390000, 647390001, 647390003, 647390009  # processing status
PRICE_LISTS = {"USD": "CRM Service USA (sample)", "EUR": "CRM Service Europe (sample)"}


def _checked(response: requests.Response) -> dict:
    assert response.status_code < 300, response.text
    return response.json() if response.content else {}


class Sales:
    """The Dataverse emulator, written to as a salesperson's client would."""

    def __init__(self, handle: EmulatorHandle):
        self.handle = handle

    def _url(self, path: str) -> str:
        return f"{self.handle.api_url}{path}"

    def create(self, entity_set: str, body: dict) -> dict:
        return _checked(self.handle.session.post(self._url(entity_set), json=body, headers=self.handle.auth_headers(
            Prefer="return=representation")))

    def update(self, path: str, body: dict) -> None:
        _checked(self.handle.session.patch(self._url(path), json=body, headers=self.handle.auth_headers()))

    def get(self, path: str) -> dict:
        return _checked(self.handle.session.get(self._url(path), headers=self.handle.auth_headers()))

    def one(self, entity_set: str, **params) -> dict:
        [row] = self.handle.rows(entity_set, **params)
        return row

    def price_list(self, currency: str) -> str:
        return self.one("pricelevels", **{"$filter": f"name eq '{PRICE_LISTS[currency]}'"})["pricelevelid"]

    def product(self, number: str) -> dict:
        return self.one("products", **{"$filter": f"productnumber eq '{number}'"})

    def order(self, account: dict, lines: list[tuple[str, float, float | None]], *, currency: str = "USD",
              activate: bool = True, name: str = "Spring order") -> dict:
        """An order of an account with lines (product number, quantity, manual discount), activated as the P2C
        solution's Activate does (processing status Active)."""
        order = self.create("salesorders", {
            "name": name, "customerid_account@odata.bind": f"/accounts({account['accountid']})",
            "pricelevelid@odata.bind": f"/pricelevels({self.price_list(currency)})",
            "shipto_city": "Redmond", "shipto_country": "United States"})
        for number, quantity, discount in lines:
            body = {"salesorderid@odata.bind": f"/salesorders({order['salesorderid']})",
                    "productid@odata.bind": f"/products({self.product(number)['productid']})", "quantity": quantity}
            if discount is not None:
                body["manualdiscountamount"] = discount
            self.create("salesorderdetails", body)
        if activate:
            self.activate(order)
        return self.get(f"salesorders({order['salesorderid']})")

    def activate(self, order: dict) -> None:
        self.update(f"salesorders({order['salesorderid']})", {"msdynce_processingstatus": ACTIVE})

    def orders(self, number: str) -> list[dict]:
        return self.handle.rows("salesorders", **{"$filter": f"ordernumber eq '{number}'"})

    def order_lines(self, order_id: str) -> list[dict]:
        return sorted(self.handle.rows("salesorderdetails", **{"$filter": f"_salesorderid_value eq {order_id}"}),
                      key=lambda line: line["sequencenumber"])

    def invoices_of(self, order_id: str) -> list[dict]:
        return self.handle.rows("invoices", **{"$filter": f"_salesorderid_value eq {order_id}"})

    def invoice_lines(self, invoice_id: str) -> list[dict]:
        return sorted(self.handle.rows("invoicedetails", **{"$filter": f"_invoiceid_value eq {invoice_id}"}),
                      key=lambda line: line["sequencenumber"])


class FinOps:
    """The F&O emulator: OData for orders, the control API for what only F&O's client does."""

    def __init__(self, handle: EmulatorHandle):
        self.handle = handle

    def _url(self, path: str) -> str:
        return f"{self.handle.api_url}{path}"

    def create(self, entity_set: str, body: dict) -> dict:
        return _checked(self.handle.session.post(self._url(entity_set), json=body,
                                                 headers=self.handle.auth_headers()))

    def update(self, path: str, body: dict) -> None:
        _checked(self.handle.session.patch(self._url(path), json=body, headers=self.handle.auth_headers(),
                                           params={"cross-company": "true"}))

    def order(self, company: str, number: str) -> dict:
        return _checked(self.handle.session.get(
            self._url(f"CDSSalesOrderHeaders(dataAreaId='{company}',SalesOrderNumber='{number}')"),
            params={"cross-company": "true"}, headers=self.handle.auth_headers()))

    def order_lines(self, company: str, number: str) -> list[dict]:
        return sorted(self.handle.rows("CDSSalesOrderLines", **{
            "$filter": f"dataAreaId eq '{company}' and SalesOrderNumber eq '{number}'", "cross-company": "true"}),
            key=lambda line: line["LineCreationSequenceNumber"])

    def new_order(self, company: str, customer: str, lines: list[tuple[str, float]]) -> str:
        """An order made in F&O for a customer, with lines (product number, quantity); returns its number."""
        number = self.create("CDSSalesOrderHeaders", {"dataAreaId": company, "OrderingCustomerAccountNumber": customer,
                                                      "SalesOrderName": "Order taken by phone"})["SalesOrderNumber"]
        for product, quantity in lines:
            self.create("CDSSalesOrderLines", {"dataAreaId": company, "SalesOrderNumber": number,
                                               "ProductNumber": product, "OrderedSalesQuantity": quantity})
        return number

    def post(self, action: str, company: str, number: str, **body) -> dict:
        return self.handle.control("POST", f"orders/{action}", {"dataAreaId": company, "SalesOrderNumber": number,
                                                                **body})

    def confirm_with_totals(self, company: str, number: str, *, header_tax: float | None = None) -> None:
        """Confirmed, with header charges (and their tax) when given, and its sales totals calculated."""
        if header_tax is not None:
            self.post("header-charges", company, number, charges=25.0, tax=header_tax)
        self.post("confirm", company, number)
        self.post("calculate-totals", company, number)

    def invoice(self, company: str, number: str, quantities: dict[str, float] | None = None) -> dict:
        body = {"quantities": quantities} if quantities is not None else {}
        return self.post("invoice", company, number, **body)["invoice"]


def writes(handle: EmulatorHandle) -> int:
    """POST, PATCH and DELETE requests the emulator has served so far (its own counters)."""
    stats = handle.stats()["requests_by_entity_set"]
    return sum(n for methods in stats.values() for method, n in methods.items() if method in ("POST", "PATCH",
                                                                                              "DELETE"))
