"""Create, update (upsert) and delete, each atomic, with Dataverse's defaults: ids, auto-numbers, states,
timestamps, owning business unit, computed columns, line totals on the header, and lines deleted with their header;
and the rules Dynamics 365 Sales adds: system-required columns, Draft products, units within their unit group,
orders and invoices (sales_documents.py) and their price lists (pricing.py).
"""

from __future__ import annotations

import random
import string
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from connectors.emulators.dataverse import errors, pricing, sales_documents
from connectors.emulators.dataverse.derived import complete, header_of, next_line_number, refresh_header
from connectors.emulators.dataverse.payload import parse_body, to_utc_text
from connectors.emulators.dataverse.records import Records
from connectors.emulators.dataverse.resources import RecordKey
from connectors.emulators.dataverse.schema import ENTITY_SETS, LINE_SETS, EntitySet, require
from connectors.emulators.store import DuplicateKey

Row = dict
# Emulator behaviour: the Prospect-to-cash style auto-numbers (`ACC-01000-BVRCPS`) of accounts, contacts and the
# sales documents, filled on create when the body has none.
AUTONUMBERS = {"accounts": ("accountnumber", "ACC"), "contacts": ("msdynce_contactnumber", "CON"),
               "quotes": ("quotenumber", "QUO"), "salesorders": ("ordernumber", "ORD"),
               "invoices": ("invoicenumber", "INV")}
# Assumption: the values Dataverse gives the system-required choices of a line when the body has none (a product
# line, "not configured"); neither is in the metadata.
LINE_DEFAULTS = {"producttypecode": 1, "propertyconfigurationstatus": 2}
PRODUCT_DEFAULTS = {"productstructure": 1, "quantitydecimal": 0}  # a plain product, whole quantities
# Columns the platform always fills, so a body never has to: the owner (the caller) and yes/no columns, which
# always have a default value.
_PLATFORM_FILLED_TYPES = frozenset({"Owner", "EntityName", "Boolean"})

for _set, (_column, _) in AUTONUMBERS.items():
    require(_set, _column)
for _line in LINE_SETS:
    require(_line, *LINE_DEFAULTS, "sequencenumber", "lineitemnumber", "_productid_value", "_uomid_value")
require("products", *PRODUCT_DEFAULTS, "_defaultuomid_value", "_defaultuomscheduleid_value", "statecode")
require("uoms", "_uomscheduleid_value")


class Numbering:
    """Auto-numbers in the Prospect-to-cash style, `ACC-01000-BVRCPS`: a sequence and a random suffix."""

    def __init__(self, seed: int | str = "dataverse"):
        self._rng = random.Random(seed)
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()

    def next(self, prefix: str, rng: random.Random | None = None) -> str:
        """The next number; seeding passes its own random source so its numbers depend on its seed only."""
        with self._lock:
            number = self._next.get(prefix, 1000)
            self._next[prefix] = number + 1
            suffix = "".join((rng or self._rng).choice(string.ascii_uppercase) for _ in range(6))
        return f"{prefix}-{number:05d}-{suffix}"


class Writer:
    """The write operations behind POST, PATCH and DELETE; the caller has authorised the request."""

    def __init__(self, records: Records, numbering: Numbering, root_business_unit: str | None = None):
        self.records = records
        self.numbering = numbering
        self.root_business_unit = root_business_unit

    def create(self, entity_set: EntitySet, body: object, *, api_url: str, references: Mapping[str, str],
               key: RecordKey | None = None) -> Row:
        """Insert a record; with `key` (an upsert of a missing record) the URL's key values fill in the body's."""
        with self.records.store.transaction():
            values = parse_body(entity_set, body, creating=True, records=self.records, api_url=api_url,
                                references=references)
            self._check_line_product(entity_set, values)
            now = to_utc_text(datetime.now(UTC))
            body_id = values.pop(entity_set.key, None)
            url_id = key.record_id if key is not None else None
            row: Row = {entity_set.key: url_id or body_id or str(uuid.uuid4())}
            if key is not None and key.index is not None:
                for column, value in zip(key.columns, key.values, strict=True):
                    values.setdefault(column, value)
            self._defaults(entity_set, values)
            sales_documents.prepare(self.records, entity_set, values, None)
            row.update(values)
            row.update(createdon=now, modifiedon=now)
            complete(self.records, entity_set, row)
            _check_required(entity_set, row)
            self._check_units(entity_set, row)
            self._check_sales_rules(entity_set, row, None, values)
            stored = self._store(entity_set, row, self.records.insert)
            self._after_write(entity_set, None, stored, now)
        return stored

    def update(self, entity_set: EntitySet, existing: Row, body: object, *, api_url: str,
               references: Mapping[str, str], key: RecordKey | None = None) -> Row:
        """Apply a body to an existing record; the key columns named in the URL keep their values."""
        with self.records.store.transaction():
            values = parse_body(entity_set, body, creating=False, records=self.records, api_url=api_url,
                                references=references)
            values.pop(entity_set.key, None)
            self._check_line_product(entity_set, values)
            if key is not None and key.index is not None:
                for column in key.columns:
                    values.pop(column, None)
            now = to_utc_text(datetime.now(UTC))
            sales_documents.prepare(self.records, entity_set, values, existing)
            row = {**existing, **values, "modifiedon": now}
            row.pop("_version", None)
            complete(self.records, entity_set, row)
            self._check_units(entity_set, row)
            self._check_sales_rules(entity_set, row, existing, values)
            stored = self._store(entity_set, row, self.records.replace)
            self._after_write(entity_set, existing, stored, now)
        return stored

    def delete(self, entity_set: EntitySet, row: Row) -> None:
        """Delete a record; a header takes its lines with it (a parental relationship cascades)."""
        with self.records.store.transaction():
            sales_documents.check_delete(self.records, entity_set, row)
            for line_set, (header, _) in LINE_SETS.items():
                if header.name == entity_set.name:
                    for line in self.records.lines_of(line_set, row[entity_set.key]):
                        self.records.delete(ENTITY_SETS[line_set], line)
            self.records.delete(entity_set, row)
            self._after_write(entity_set, row, None, to_utc_text(datetime.now(UTC)))

    # --- helpers -----------------------------------------------------------------------------------------
    def _defaults(self, entity_set: EntitySet, values: dict[str, object]) -> None:
        if entity_set.states is not None and "statecode" not in values:
            state = entity_set.default_state
            values["statecode"] = state
            values.setdefault("statuscode", entity_set.states[state].default_status)
        if entity_set.name in AUTONUMBERS:
            column, prefix = AUTONUMBERS[entity_set.name]
            if not values.get(column):
                values[column] = self.numbering.next(prefix)
        if "_owningbusinessunit_value" in entity_set.properties and not values.get("_owningbusinessunit_value"):
            values["_owningbusinessunit_value"] = self.root_business_unit
            values["_owningbusinessunit_target"] = "businessunits"
        if entity_set.name in LINE_SETS:
            for column, value in LINE_DEFAULTS.items():
                values.setdefault(column, value)
            header_id = values.get(header_of(entity_set.name)[1])
            if header_id is not None and values.get("sequencenumber") is None:
                number = next_line_number(self.records, entity_set.name, header_id)
                values["sequencenumber"] = number
                values.setdefault("lineitemnumber", number)
        if entity_set.name == "products":
            for column, value in PRODUCT_DEFAULTS.items():
                values.setdefault(column, value)

    def _check_units(self, entity_set: EntitySet, row: Row) -> None:
        """Dynamics 365 Sales keeps units within unit groups: a product's default unit is in its unit group, and a
        line's unit is in its product's unit group."""
        if entity_set.name == "products" and row.get("_defaultuomid_value") is not None:
            group_id = row.get("_defaultuomscheduleid_value")
            if group_id is None:
                # MissingUomScheduleId (SDK error list, 3P copy; also seen from the service in public issues).
                raise errors.DataverseError(400, "0x80043b0a", "The unit schedule id is missing. Product "
                                            f"'{row.get('productnumber')}' has a default unit but no unit group.")
            unit = self.records.get("uoms", row["_defaultuomid_value"]) or {}
            if unit.get("_uomscheduleid_value") != group_id:
                group = self.records.get("uomschedules", group_id) or {}
                raise errors.unit_not_in_group(f"Product '{row.get('productnumber')}': the unit '{unit.get('name')}' "
                                               f"is not in the unit group '{group.get('name')}'.")
        if entity_set.name in LINE_SETS and row.get("_productid_value") and row.get("_uomid_value"):
            product = self.records.get("products", row["_productid_value"]) or {}
            unit = self.records.get("uoms", row["_uomid_value"]) or {}
            group_id = product.get("_defaultuomscheduleid_value")
            if group_id is not None and unit.get("_uomscheduleid_value") != group_id:
                group = self.records.get("uomschedules", group_id) or {}
                raise errors.unit_not_for_product(f"The {entity_set.logical} '{row[entity_set.key]}' uses the unit "
                                                  f"'{unit.get('name')}', which is not in the unit group "
                                                  f"'{group.get('name')}' of product '{product.get('productnumber')}'.")

    def _check_line_product(self, entity_set: EntitySet, values: dict[str, object]) -> None:
        """A quote, order or invoice line can use only a published (Active) product, never a Draft one."""
        product_id = values.get("_productid_value")
        if entity_set.name not in LINE_SETS or product_id is None:
            return
        product = self.records.get("products", product_id)
        if product is not None and product.get("statecode") != 0:
            state = ENTITY_SETS["products"].states[product["statecode"]].label
            # Assumption: the code and wording; the rule itself is Dynamics 365 Sales' (publish before use).
            raise errors.invalid_argument(f"The product '{product.get('name')}' is in the {state} state. Only "
                                          "active products can be added to a quote, order or invoice.")

    def _store(self, entity_set: EntitySet, row: Row, write) -> Row:
        try:
            return write(entity_set, row)
        except DuplicateKey as exc:
            if exc.index == "primary key":
                raise errors.duplicate_record() from None
            columns = self.records.environment.active_keys(entity_set.name)[exc.index]
            raise errors.duplicate_key(list(columns)) from None

    def _check_sales_rules(self, entity_set: EntitySet, row: Row, existing: Row | None, values: dict) -> None:
        sales_documents.check_write(self.records, entity_set, row, existing, values)
        if entity_set.name in pricing.PRICED_LINES:
            pricing.check_line(self.records, entity_set.name, row)

    def _after_write(self, entity_set: EntitySet, old: Row | None, new: Row | None, now: str) -> None:
        """What other records a write changes: a line its header's totals (both headers', when the line moved);
        the P2C plug-ins a product's price list item, an invoice its order's status."""
        if entity_set.name == "products" and new is not None:
            pricing.keep_product_priced(self.records, new, old)
        sales_documents.after_write(self.records, entity_set, new, old)
        if entity_set.name not in LINE_SETS:
            return
        _, header_field = header_of(entity_set.name)
        headers = {row.get(header_field) for row in (old, new) if row is not None}
        for header_id in headers:
            refresh_header(self.records, entity_set.name, header_id, now)


def _check_required(entity_set: EntitySet, row: Row) -> None:
    """A new record needs every system-required column the platform does not fill. Application-required columns
    are not enforced: Dataverse leaves them to forms and business rules, and the Web API accepts a record without
    them."""
    for name, column in entity_set.attributes.items():
        if column.required_level != "SystemRequired" or not column.valid_for_create or column.attribute_of:
            continue
        if column.attribute_type in _PLATFORM_FILLED_TYPES:
            continue
        field = entity_set.lookups[name].value_field if name in entity_set.lookups else name
        if row.get(field) is None:
            raise errors.required_missing(name, entity_set.logical)
