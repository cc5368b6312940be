"""Create, update (upsert) and delete, each atomic, with Dataverse's defaults: ids, auto-numbers, states,
timestamps, owning business unit, computed columns, line totals on the header, and lines deleted with their header.
"""

from __future__ import annotations

import random
import string
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from connectors.emulators.dataverse import errors
from connectors.emulators.dataverse.derived import complete, header_of, next_line_number, refresh_header
from connectors.emulators.dataverse.payload import parse_body, to_utc_text
from connectors.emulators.dataverse.records import Records
from connectors.emulators.dataverse.resources import RecordKey
from connectors.emulators.dataverse.schema import ENTITY_SETS, LINE_SETS, EntitySet
from connectors.emulators.store import DuplicateKey

Row = dict


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
                for column, value in zip(entity_set.alternate_keys[key.index], key.values, strict=True):
                    values.setdefault(column, value)
            self._defaults(entity_set, row, values)
            row.update(values)
            row.update(createdon=now, modifiedon=now)
            complete(self.records, entity_set, row)
            stored = self._store(entity_set, row, self.records.insert)
            self._after_line_write(entity_set, None, stored, now)
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
                for column in entity_set.alternate_keys[key.index]:
                    values.pop(column, None)
            now = to_utc_text(datetime.now(UTC))
            row = {**existing, **values, "modifiedon": now}
            row.pop("_version", None)
            complete(self.records, entity_set, row)
            stored = self._store(entity_set, row, self.records.replace)
            self._after_line_write(entity_set, existing, stored, now)
        return stored

    def delete(self, entity_set: EntitySet, row: Row) -> None:
        """Delete a record; a header takes its lines with it (a parental relationship cascades)."""
        with self.records.store.transaction():
            for child in entity_set.children:
                for line in self.records.lines_of(child.entity_set, row[entity_set.key]):
                    self.records.delete(ENTITY_SETS[child.entity_set], line)
            self.records.delete(entity_set, row)
            self._after_line_write(entity_set, row, None, to_utc_text(datetime.now(UTC)))

    # --- helpers -----------------------------------------------------------------------------------------
    def _defaults(self, entity_set: EntitySet, row: Row, values: dict[str, object]) -> None:
        if entity_set.states is not None and "statecode" not in values:
            state = entity_set.default_state
            values["statecode"] = state
            values.setdefault("statuscode", entity_set.states[state].default_status)
        if entity_set.autonumber is not None:
            column, prefix = entity_set.autonumber
            if not values.get(column):
                values[column] = self.numbering.next(prefix)
        if "_owningbusinessunit_value" in entity_set.properties and not values.get("_owningbusinessunit_value"):
            values["_owningbusinessunit_value"] = self.root_business_unit
            values["_owningbusinessunit_target"] = "businessunits"
        if entity_set.name in LINE_SETS:
            _, header_field = header_of(entity_set.name)
            header_id = values.get(header_field)
            if header_id is None:
                # Assumption: the wording of the required-column error for a line without its header.
                raise errors.DataverseError(400, "0x80040200", f"Attribute '{header_field[1:-6]}' of entity "
                                            f"'{entity_set.logical}' is required.")
            if values.get("sequencenumber") is None:
                number = next_line_number(self.records, entity_set.name, header_id)
                values["sequencenumber"] = number
                values.setdefault("lineitemnumber", number)
        if entity_set.name == "products":
            values.setdefault("productstructure", 1)
            values.setdefault("quantitydecimal", 0)

    def _check_line_product(self, entity_set: EntitySet, values: dict[str, object]) -> None:
        """A quote, order or invoice line can use only a published (Active) product, never a Draft one."""
        product_id = values.get("_productid_value")
        if entity_set.name not in LINE_SETS or product_id is None:
            return
        product = self.records.get("products", product_id)
        if product is not None and product.get("statecode") != 0:
            state = ENTITY_SETS["products"].states[product.get("statecode")].label
            # Assumption: the code and wording; the rule itself is Dynamics 365 Sales' (publish before use).
            raise errors.invalid_argument(f"The product '{product.get('name')}' is in the {state} state. Only "
                                          "active products can be added to a quote, order or invoice.")

    def _store(self, entity_set: EntitySet, row: Row, write) -> Row:
        try:
            return write(entity_set, row)
        except DuplicateKey as exc:
            if exc.index == "primary key":
                raise errors.duplicate_record() from None
            labels = [entity_set.column_map[column].label or column for column in entity_set.alternate_keys[exc.index]]
            raise errors.duplicate_key(labels) from None

    def _after_line_write(self, entity_set: EntitySet, old: Row | None, new: Row | None, now: str) -> None:
        """A line's write changes its header's totals (both headers', when the line moved)."""
        if entity_set.name not in LINE_SETS:
            return
        _, header_field = header_of(entity_set.name)
        headers = {row.get(header_field) for row in (old, new) if row is not None}
        for header_id in headers:
            refresh_header(self.records, entity_set.name, header_id, now)
