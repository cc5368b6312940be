"""Realistic Sales data for `POST /_emulator/seed`, the same for the same seed after a reset.

Related records come along as needed: contacts get parent accounts, quotes, orders and invoices get customers and
1-5 lines of seeded products (a few write-in lines on quotes and invoices; orders have externally maintained
products only, priced from their price list), products come from the catalog F&O seeds from too. Seeding
again adds more records with new ids and numbers; it never reuses a key.
"""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta

from connectors.emulators.dataverse.derived import complete
from connectors.emulators.dataverse.records import Records
from connectors.emulators.dataverse.reference_data import ReferenceIds
from connectors.emulators.dataverse.schema import ENTITY_SETS, EntitySet
from connectors.emulators.dataverse.writes import AUTONUMBERS, LINE_DEFAULTS, Numbering
from connectors.emulators.fakedata import UNITS, Faker, product_catalog

SEEDABLE = ("accounts", "contacts", "products", "quotes", "quotedetails", "salesorders", "invoices")
_BASE = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
_DOCUMENTS = {  # header set -> (line set, state mix as (statecode, statuscode, weight))
    "quotes": ("quotedetails", ((0, 1, 30), (1, 2, 25), (1, 3, 15), (2, 4, 20), (3, 5, 6), (3, 6, 4))),
    "salesorders": ("salesorderdetails", ((0, 1, 40), (0, 2, 10), (1, 3, 20), (3, 100001, 15), (4, 100003, 10),
                                          (2, 4, 5))),
    "invoices": ("invoicedetails", ((0, 1, 45), (0, 4, 10), (2, 100001, 35), (3, 100003, 10))),
}
# The P2C processing status (msdynce_processingstatus) of a seeded order, by its state and status: Draft as created
# in Sales, Active once activated, then what F&O reports (p2c-templates 2.6, 6.3).
_PROCESSING = {(0, 1): 647390011, (0, 2): 647390000, (1, 3): 647390001, (3, 100001): 647390007,
               (3, 100002): 647390008, (4, 100003): 647390003, (2, 4): 647390010}
_DECIMALS = {symbol: decimals for symbol, _, decimals in UNITS}
_ADDRESS = {"street": "line1", "city": "city", "state": "stateorprovince", "postal_code": "postalcode",
            "country": "country"}


class Seeder:
    """One seeding call: a random source for `seed` and this call's round, and the rows it created."""

    def __init__(self, records: Records, ids: ReferenceIds, numbering: Numbering, seed: int, round_number: int):
        self.records = records
        self.ids = ids
        self.numbering = numbering
        self.seed = seed
        self.rng = random.Random(f"dataverse-{seed}-{round_number}")
        self.fake = Faker(f"dataverse-faker-{seed}-{round_number}")
        self.created: dict[str, int] = {}

    # --- entry point -------------------------------------------------------------------------------------
    def run(self, counts: dict[str, int]) -> dict[str, int]:
        unknown = set(counts) - set(SEEDABLE)
        if unknown:
            raise KeyError(sorted(unknown)[0])
        if counts.get("products"):
            self.products(counts["products"])
        if counts.get("accounts") or counts.get("contacts"):
            self.accounts_and_contacts(counts.get("accounts", 0), counts.get("contacts", 0))
        for header in _DOCUMENTS:
            if counts.get(header):
                self.documents(header, counts[header])
        if counts.get("quotedetails"):
            self.lines_only(counts["quotedetails"])
        return {name: number for name, number in self.created.items() if number}

    # --- helpers -----------------------------------------------------------------------------------------
    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _when(self, days_back: int = 720) -> str:
        moment = _BASE - timedelta(days=self.rng.randint(0, days_back), seconds=self.rng.randint(0, 86399))
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _insert(self, set_name: str, row: dict) -> dict:
        entity_set = ENTITY_SETS[set_name]
        row.setdefault("createdon", self._when())
        row.setdefault("modifiedon", row["createdon"])
        complete(self.records, entity_set, row)
        self.records.insert(entity_set, row)
        self.created[set_name] = self.created.get(set_name, 0) + 1
        return row

    def _number(self, prefix: str) -> str:
        return self.numbering.next(prefix, self.rng)

    def _existing(self, set_name: str, test=None) -> list[dict]:
        return [row for row in self.records.table(set_name).scan() if test is None or test(row)]

    def _address(self, prefix: str, address: dict, type_code: int) -> dict:
        row = {f"{prefix}_{name}": address[key] for key, name in _ADDRESS.items()}
        row[f"{prefix}_addresstypecode"] = type_code
        return row

    def _currency(self, currency: str) -> dict:
        return {"_transactioncurrencyid_value": self.ids.currencies[currency]}

    def _owner(self, currency: str) -> dict:
        """The currency and the owning business unit of a user-owned record (products and price list items are
        organization-owned: they have no business unit)."""
        return {**self._currency(currency), "_owningbusinessunit_value": self.ids.business_unit_for(currency),
                "_owningbusinessunit_target": "businessunits"}

    # --- products ----------------------------------------------------------------------------------------
    def products(self, count: int) -> list[dict]:
        """The next `count` products of the shared catalog that this environment does not have yet."""
        taken = {row.get("productnumber") for row in self.records.table("products").scan()}
        made = []
        for spec in product_catalog(self.seed, len(taken) + count):
            if len(made) == count:
                break
            if spec.number in taken:
                continue
            product = self._insert("products", {
                "productid": self._id(), "name": spec.name, "productnumber": spec.number,
                "description": spec.description, "_defaultuomscheduleid_value": self.ids.unit_group,
                "_defaultuomid_value": self.ids.units[spec.unit], "_pricelevelid_value": self.ids.price_lists["USD"],
                "quantitydecimal": _DECIMALS[spec.unit], "price": spec.price, "currentcost": spec.cost,
                "standardcost": spec.cost, "producttypecode": 3 if spec.service else 1, "productstructure": 1,
                "msdynce_ismaintainedexternally": True, "statecode": 0, "statuscode": 1, **self._currency("USD")})
            for code, rate in (("USD", 1.0), ("EUR", 0.92)):
                self._insert("productpricelevels", {
                    "productpricelevelid": self._id(), "_pricelevelid_value": self.ids.price_lists[code],
                    "_productid_value": product["productid"], "_uomid_value": product["_defaultuomid_value"],
                    "amount": round(spec.price * rate, 2), "pricingmethodcode": 1, **self._currency(code)})
            made.append(product)
        return made

    # --- accounts and contacts ---------------------------------------------------------------------------
    def accounts_and_contacts(self, accounts: int, contacts: int) -> None:
        if contacts and not accounts and not len(self.records.table("accounts")):
            accounts = max(1, math.ceil(contacts / 4))
        new_accounts: list[dict] = []
        for _ in range(accounts):
            new_accounts.append(self._account(new_accounts))
        parents = new_accounts + self._existing("accounts") if contacts else []
        new_contacts = []
        for _ in range(contacts):
            contact = self._contact(parents, new_contacts)
            new_contacts.append(contact)
        by_id = {account["accountid"]: account for account in new_accounts}
        for contact in new_contacts:
            parent = by_id.get(contact.get("_parentcustomerid_value"))
            if parent is not None and "_primarycontactid_value" not in parent:
                parent["_primarycontactid_value"] = contact["contactid"]
        for account in new_accounts:
            self._insert("accounts", account)
        for contact in new_contacts:
            self._insert("contacts", contact)

    def _account(self, earlier: list[dict]) -> dict:
        fake = self.fake
        name = fake.company()
        domain = fake.domain(name)
        delivery, invoice = fake.address(), fake.address()
        currency = "EUR" if delivery["country_iso3"] == "DEU" else "USD"
        account = {"accountid": self._id(), "name": name, "accountnumber": self._number("ACC"),
                   "telephone1": fake.phone(), "emailaddress1": f"info@{domain}", "websiteurl": f"https://www.{domain}",
                   **self._address("address1", delivery, 2), **self._address("address2", invoice, 1),
                   "creditlimit": float(fake.integer(1, 50) * 5000), "customertypecode": 3,
                   "statecode": 0 if fake.chance(0.95) else 1, **self._owner(currency)}
        account["statuscode"] = account["statecode"] + 1
        if earlier and fake.chance(0.05):
            account["_parentaccountid_value"] = self.rng.choice(earlier)["accountid"]
        return account

    def _contact(self, parents: list[dict], siblings: list[dict]) -> dict:
        fake = self.fake
        first, last = fake.person()
        contact = {"contactid": self._id(), "firstname": first, "lastname": last, "telephone1": fake.phone(),
                   "jobtitle": fake.choice(("Buyer", "Purchasing Manager", "CFO", "Owner", "Office Manager",
                                            "Sales Director", "Accountant")),
                   **self._address("address1", fake.address(), 3),
                   "msdynce_contactnumber": self._number("CON"), "msdynce_isactivecustomer": fake.chance(0.2),
                   "statecode": 0, "statuscode": 1}
        draw = self.rng.random()
        domain = "example.com"
        if parents and draw < 0.8:
            parent = self.rng.choice(parents)
            contact.update(_parentcustomerid_value=parent["accountid"], _parentcustomerid_target="accounts")
            domain = parent["emailaddress1"].partition("@")[2] or domain
            contact.update(self._owner(_currency_of(self.ids, parent)))
        elif siblings and draw < 0.85:
            contact.update(_parentcustomerid_value=self.rng.choice(siblings)["contactid"],
                           _parentcustomerid_target="contacts", **self._owner("USD"))
        else:
            contact.update(self._owner("USD"))
        contact["emailaddress1"] = fake.email(first, last, domain)
        return contact

    # --- quotes, orders, invoices -------------------------------------------------------------------------
    def documents(self, header_name: str, count: int) -> None:
        customers = self._customers(count)
        products = self._products_for_lines(count)
        line_name, states = _DOCUMENTS[header_name]
        for _ in range(count):
            header = self._header(header_name, self.rng.choice(customers), states)
            for sequence in range(1, self.rng.randint(1, 5) + 1):
                self._line(header_name, line_name, header, products, sequence)
            self._insert(header_name, header)

    def lines_only(self, count: int) -> None:
        """Quote lines on their own: spread over the quotes there are, or over new quotes when there are none."""
        quotes = self._existing("quotes")
        if not quotes:
            customers = self._customers(1)
            quotes = [self._insert("quotes", self._header("quotes", self.rng.choice(customers),
                                                          _DOCUMENTS["quotes"][1]))
                      for _ in range(max(1, math.ceil(count / 3)))]
        products = self._products_for_lines(count)
        quote_set = ENTITY_SETS["quotes"]
        for _ in range(count):
            quote = self.rng.choice(quotes)
            sequence = len(self.records.lines_of("quotedetails", quote["quoteid"])) + 1
            self._line("quotes", "quotedetails", quote, products, sequence)
            stored = self.records.get("quotes", quote["quoteid"])
            updated = {**stored}
            updated.pop("_version", None)
            complete(self.records, quote_set, updated)
            self.records.replace(quote_set, updated)

    def _customers(self, count: int) -> list[tuple[str, dict]]:
        accounts = self._existing("accounts", lambda row: row.get("statecode") == 0)
        if not accounts:
            self.accounts_and_contacts(max(1, math.ceil(count / 3)), 0)
            accounts = self._existing("accounts")
        contacts = self._existing("contacts", lambda row: row.get("msdynce_isactivecustomer") is True)
        return [("accounts", row) for row in accounts] + [("contacts", row) for row in contacts[: len(accounts) // 5]]

    def _products_for_lines(self, count: int) -> list[dict]:
        products = self._existing("products", lambda row: row.get("msdynce_ismaintainedexternally") is True
                                  and row.get("statecode") == 0)
        return products or self.products(max(10, min(200, count)))

    def _header(self, header_name: str, customer: tuple[str, dict], states) -> dict:
        entity_set: EntitySet = ENTITY_SETS[header_name]
        kind, row = customer
        currency = _currency_of(self.ids, row)
        state, status, _ = self.rng.choices(states, weights=[weight for *_, weight in states])[0]
        created = self._when(365)
        number_column, prefix = AUTONUMBERS[header_name]
        customer_name = row.get("name") or row.get("fullname")
        header = {entity_set.key: self._id(), number_column: self._number(prefix),
                  "name": f"{customer_name} - {self.fake.choice(('Spring', 'Summer', 'Autumn', 'Winter'))} order",
                  "_customerid_value": row[ENTITY_SETS[kind].key], "_customerid_target": kind,
                  "_pricelevelid_value": self.ids.price_lists[currency], "statecode": state, "statuscode": status,
                  "shipto_line1": row.get("address1_line1"), "shipto_city": row.get("address1_city"),
                  "shipto_stateorprovince": row.get("address1_stateorprovince"),
                  "shipto_postalcode": row.get("address1_postalcode"), "shipto_country": row.get("address1_country"),
                  "createdon": created, "modifiedon": created, **self._owner(currency)}
        if header_name != "invoices":  # an invoice has no requested delivery date
            header["requestdeliveryby"] = _midnight(_BASE + timedelta(days=self.rng.randint(7, 90)))
        if header_name == "quotes":
            expires = _BASE + timedelta(days=self.rng.randint(30, 120))
            header.update(effectivefrom=created, revisionnumber=0, effectiveto=expires.strftime("%Y-%m-%dT%H:%M:%SZ"))
        if header_name == "invoices":
            header["duedate"] = _midnight(_BASE + timedelta(days=self.rng.randint(14, 60)))
        if header_name == "salesorders":
            header["msdynce_processingstatus"] = _PROCESSING[state, status]
        return header

    def _line(self, header_name: str, line_name: str, header: dict, products: list[dict], sequence: int) -> None:
        header_set, line_set = ENTITY_SETS[header_name], ENTITY_SETS[line_name]
        line = {line_set.key: self._id(), f"_{header_set.logical}id_value": header[header_set.key],
                "sequencenumber": sequence, "lineitemnumber": sequence, "createdon": header["createdon"],
                "_transactioncurrencyid_value": header["_transactioncurrencyid_value"],
                "_owningbusinessunit_value": header["_owningbusinessunit_value"],
                "_owningbusinessunit_target": "businessunits", **LINE_DEFAULTS}
        rate = 0.92 if header["_transactioncurrencyid_value"] == self.ids.currencies["EUR"] else 1.0
        if header_name != "salesorders" and self.rng.random() < 0.05:  # orders: externally maintained products
            line.update(isproductoverridden=True, ispriceoverridden=True, quantity=float(self.rng.randint(1, 3)),
                        productdescription=self.fake.choice(("Freight", "Installation on site", "Custom engraving")),
                        priceperunit=self.fake.amount(20, 400))
        else:
            product = self.rng.choice(products)
            decimals = product.get("quantitydecimal") or 0
            quantity = round(self.rng.uniform(1, 20), decimals) if decimals else float(self.rng.randint(1, 20))
            line.update(_productid_value=product["productid"], _uomid_value=product["_defaultuomid_value"],
                        isproductoverridden=False, ispriceoverridden=False, quantity=quantity,
                        priceperunit=round(product["price"] * rate, 2), **{f"{line_set.logical}name": product["name"]})
            if self.rng.random() < 0.15:
                line["manualdiscountamount"] = round(line["priceperunit"] * quantity * 0.05, 2)
        self._insert(line_name, line)


def _midnight(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT00:00:00Z")


def _currency_of(ids: ReferenceIds, row: dict) -> str:
    currency_id = row.get("_transactioncurrencyid_value")
    return next((code for code, value in ids.currencies.items() if value == currency_id), "USD")
