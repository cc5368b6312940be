"""The demo's order story, told to the emulators as users would tell it: salespeople activate orders in Sales, an
order taker enters orders in F&O, and F&O's users confirm, charge freight and invoice; afterwards the story is
checked from both emulators' own data, order by order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from integration.demo.scenario import EmulatorClient
from integration.models import KeyLink, Project

PRICE_LISTS = {"usmf": "CRM Service USA (sample)", "demf": "CRM Service Europe (sample)"}
ACTIVE, CONFIRMED, INVOICED, PARTIALLY_INVOICED = 647390000, 647390001, 647390003, 647390009
HEADER_TAX = 2.0  # the sales tax on an order's freight charges: a Freight Tax line in Sales


@dataclass
class SalesOrder:
    number: str
    salesorderid: str
    company: str
    lines: int
    partial: bool = False  # invoiced in part: its first line only
    invoices: list[str] = field(default_factory=list)


@dataclass
class FinOpsOrder:
    number: str
    company: str
    accountid: str


@dataclass
class OrderStory:
    from_sales: list[SalesOrder] = field(default_factory=list)
    from_finops: list[FinOpsOrder] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"sales_orders_to_finops": len(self.from_sales), "finops_orders_to_sales": len(self.from_finops),
                "invoices_to_sales": sum(len(order.invoices) for order in self.from_sales),
                "partially_invoiced": sum(order.partial for order in self.from_sales)}


def place_orders(project: Project, sales: EmulatorClient, fno: EmulatorClient, *, count: int,
                 seed: int = 2026) -> OrderStory:
    """`count` orders activated in Sales and a quarter as many entered in F&O (confirmed, totals calculated), for
    customers and products p2c synced, in both legal entities."""
    rng = random.Random(seed)  # noqa: S311 - the demo's sample data, not cryptography
    accounts = list(KeyLink.objects.filter(entity_map__project=project, entity_map__name="Accounts",
                                           source_deleted_at__isnull=True).order_by("source_key"))
    products = list(KeyLink.objects.filter(entity_map__project=project, entity_map__name="Products").order_by(
        "source_key").values_list("source_key", "destination_id"))
    price_lists = {row["name"]: row["pricelevelid"] for row in sales.rows("pricelevels", **{"$select": "name"})}
    story = OrderStory()
    for n in range(count):
        account = accounts[n % len(accounts)]
        company = account.destination_key_values["dataAreaId"]
        order = sales.create("salesorders", {
            "name": f"Demo order {n + 1}", "customerid_account@odata.bind": f"/accounts({account.source_id})",
            "pricelevelid@odata.bind": f"/pricelevels({price_lists[PRICE_LISTS[company]]})",
            "shipto_city": "Redmond" if company == "usmf" else "Berlin"})
        chosen = rng.sample(products, rng.randint(1, 3))
        for position, (_, product_id) in enumerate(chosen):
            line = {"salesorderid@odata.bind": f"/salesorders({order['salesorderid']})",
                    "productid@odata.bind": f"/products({product_id})", "quantity": float(rng.randint(1, 6))}
            if position == 0 and n % 3 == 0:
                line.update(quantity=3.0, manualdiscountamount=10.0)  # 3.33 a unit in F&O, and a -0.01 charge
            sales.create("salesorderdetails", line)
        sales.write("PATCH", f"salesorders({order['salesorderid']})", {"msdynce_processingstatus": ACTIVE})
        story.from_sales.append(SalesOrder(order["ordernumber"], order["salesorderid"], company, len(chosen),
                                           partial=len(chosen) > 1 and n % 4 == 1))
    for n in range(max(1, count // 4)):
        account = accounts[-1 - n % len(accounts)]
        company = account.destination_key_values["dataAreaId"]
        number = fno.create("CDSSalesOrderHeaders", {
            "dataAreaId": company, "OrderingCustomerAccountNumber": account.destination_key_values["CustomerAccount"],
            "SalesOrderName": f"Phone order {n + 1}"})["SalesOrderNumber"]
        for product_number, _ in rng.sample(products, rng.randint(1, 2)):
            fno.create("CDSSalesOrderLines", {"dataAreaId": company, "SalesOrderNumber": number,
                                              "ProductNumber": product_number,
                                              "OrderedSalesQuantity": float(rng.randint(1, 4))})
        _post(fno, "confirm", company, number)
        _post(fno, "calculate-totals", company, number)
        story.from_finops.append(FinOpsOrder(number, company, account.source_id))
    return story


def confirm_and_invoice(fno: EmulatorClient, story: OrderStory) -> None:
    """What F&O's users do with the orders from Sales: freight charges with their tax, confirmation, the sales
    totals batch, and invoices (a few in part: their first line)."""
    for order in story.from_sales:
        _post(fno, "header-charges", order.company, order.number, charges=25.0, tax=HEADER_TAX)
        _post(fno, "confirm", order.company, order.number)
        _post(fno, "calculate-totals", order.company, order.number)
        quantities = None
        if order.partial:
            line = fno.control("GET", f"orders?dataAreaId={order.company}&SalesOrderNumber={order.number}")
            quantities = {"1": line["posted"]["1"]["ordered"]}
        invoice = _post(fno, "invoice", order.company, order.number,
                        **({"quantities": quantities} if quantities else {}))["invoice"]
        order.invoices.append(invoice["InvoiceNumber"])


def _post(fno: EmulatorClient, action: str, company: str, number: str, **body) -> dict:
    return fno.control("POST", f"orders/{action}", {"dataAreaId": company, "SalesOrderNumber": number, **body})


def check_orders(sales: EmulatorClient, fno: EmulatorClient, story: OrderStory) -> list[str]:
    """Every step of the story, read from both emulators: each Sales order is in F&O under its number and back in
    Sales once (the same record), with F&O's processing status, its Freight Tax line and its invoice; each order
    entered in F&O is in Sales, for its customer."""
    problems = []
    for order in story.from_sales:
        problems += _check_from_sales(sales, fno, order)
    for order in story.from_finops:
        problems += _check_from_finops(sales, order)
    return problems


def _check_from_sales(sales: EmulatorClient, fno: EmulatorClient, order: SalesOrder) -> list[str]:
    found = list(fno.rows("CDSSalesOrderHeaders", **{"cross-company": "true", "$filter":
                                                      f"SalesOrderNumber eq '{order.number}'"}))
    if [(row["dataAreaId"], row["SalesOrderOriginCode"]) for row in found] != [(order.company, "SalesOrder")]:
        return [f"Sales order {order.number} is not in F&O ({order.company}) as an order from Sales"]
    copies = list(sales.rows("salesorders", **{"$filter": f"ordernumber eq '{order.number}'"}))
    if [row["salesorderid"] for row in copies] != [order.salesorderid]:
        return [f"Sales order {order.number} is in Sales {len(copies)} times, not once as its original"]
    problems = []
    expected = PARTIALLY_INVOICED if order.partial else INVOICED
    if copies[0]["msdynce_processingstatus"] != expected or copies[0]["statecode"] != 4:
        problems.append(f"Sales order {order.number}: processing status {copies[0]['msdynce_processingstatus']} "
                        f"and state {copies[0]['statecode']}, not {expected} and Invoiced")
    lines = list(sales.rows("salesorderdetails", **{"$filter": f"_salesorderid_value eq {order.salesorderid}"}))
    freight = [line for line in lines if line.get("productdescription") == "Freight Tax"]
    if len(lines) != order.lines + 1 or [line["priceperunit"] for line in freight] != [HEADER_TAX]:
        problems.append(f"Sales order {order.number} has {len(lines)} lines, not its {order.lines} and one "
                        "Freight Tax line")
    invoices = sorted(row["invoicenumber"] for row in sales.rows(
        "invoices", **{"$filter": f"_salesorderid_value eq {order.salesorderid}"}))
    if invoices != sorted(order.invoices):
        problems.append(f"Sales order {order.number} has the invoices {invoices} in Sales, not {order.invoices}")
    return problems


def _check_from_finops(sales: EmulatorClient, order: FinOpsOrder) -> list[str]:
    copies = list(sales.rows("salesorders", **{"$filter": f"ordernumber eq '{order.number}'"}))
    if len(copies) != 1 or copies[0]["_customerid_value"] != order.accountid \
            or copies[0]["msdynce_processingstatus"] != CONFIRMED:
        return [f"the order {order.number} entered in F&O is not in Sales once, confirmed, for its customer"]
    lines = list(sales.rows("salesorderdetails", **{"$filter":
                                                    f"_salesorderid_value eq {copies[0]['salesorderid']}"}))
    return [] if lines else [f"the order {order.number} entered in F&O has no lines in Sales"]
