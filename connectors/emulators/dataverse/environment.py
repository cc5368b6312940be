"""What an administrator customises in a Dataverse environment and the emulator lets a test change: the alternate
keys of each table (with their index status) and whether each table tracks changes.

Dataverse tables have no alternate keys unless someone defines them, and only a key whose index is Active
addresses records; change tracking is a per-table setting. `PUT /_emulator/environment` changes both, `POST
/_emulator/reset` restores the defaults below.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.emulators.dataverse.schema import ENTITY_SETS, require

KEY_STATUSES = ("Pending", "InProgress", "Active", "Failed")  # EntityKeyIndexStatus, in its enum's order
# Column types a key can hold (Power Apps' "define alternate keys": text, whole number, decimal, date and time,
# choice). Lookups can be key columns in Dataverse too; the emulator does not support them.
KEY_COLUMN_TYPES = frozenset({"String", "Integer", "BigInt", "Decimal", "DateTime", "Picklist"})
MAX_KEYS_PER_TABLE = 5  # reference 1.3 (3P): at most 5 keys per table and 16 columns per key
MAX_KEY_COLUMNS = 16


@dataclass(frozen=True)
class AlternateKey:
    name: str  # the key's logical (and schema) name
    columns: tuple[str, ...]
    status: str = "Active"
    managed: bool = False  # defined by a managed solution (the P2C solution's key)

    @property
    def active(self) -> bool:
        return self.status == "Active"


# The default environment's keys, and why each is there:
DEFAULT_KEYS: dict[str, tuple[AlternateKey, ...]] = {
    # Defined by Microsoft's Prospect to cash solution (p2c_solution.json, P2CPKG EntityKeys).
    "contacts": (AlternateKey("msdynce_contactnumber", ("msdynce_contactnumber",), managed=True),),
    # p2c's README tells admins to create it: the Products map upserts products by their number.
    "products": (AlternateKey("productnumber", ("productnumber",)),),
    # Kept from the earlier emulator, which p2c's connector tests and the emulator tests upsert and read by: the
    # account number (the Accounts map's source key) and the auto-numbered document numbers (the Quotes map's key).
    "accounts": (AlternateKey("accountnumber", ("accountnumber",)),),
    "quotes": (AlternateKey("quotenumber", ("quotenumber",)),),
    "salesorders": (AlternateKey("ordernumber", ("ordernumber",)),),
    "invoices": (AlternateKey("invoicenumber", ("invoicenumber",)),),
}
# Tables that track changes by default: the ones p2c reads incrementally (README: account, contact, quote,
# quotedetail) and the rest of the Prospect-to-cash documents and products, which dual-write environments track.
# Assumption: the reference tables (currencies, units, unit groups, price lists and their items, business units)
# do not; p2c reads them with plain queries, and a test that needs otherwise turns tracking on.
DEFAULT_TRACKED = frozenset({"accounts", "contacts", "quotes", "quotedetails", "salesorders", "salesorderdetails",
                             "invoices", "invoicedetails", "products"})

for _set, _keys in DEFAULT_KEYS.items():
    for _key in _keys:
        require(_set, *_key.columns)


class Environment:
    """The current keys and tracking settings; `changed` returns a new state from a control request, or raises
    ValueError naming what is wrong (nothing changes then)."""

    def __init__(self, keys: dict[str, dict[str, AlternateKey]] | None = None,
                 tracking: dict[str, bool] | None = None):
        self.keys = keys if keys is not None else {
            name: {key.name: key for key in DEFAULT_KEYS.get(name, ())} for name in ENTITY_SETS}
        self.tracking = tracking if tracking is not None else {name: name in DEFAULT_TRACKED for name in ENTITY_SETS}

    def active_keys(self, entity_set: str) -> dict[str, tuple[str, ...]]:
        return {key.name: key.columns for key in self.keys[entity_set].values() if key.active}

    def tracks(self, entity_set: str) -> bool:
        return self.tracking[entity_set]

    def changed(self, body: dict) -> Environment:
        unknown = set(body) - {"alternate_keys", "change_tracking"}
        if unknown:
            raise ValueError(f"unknown environment setting '{sorted(unknown)[0]}'")
        keys = {name: dict(table_keys) for name, table_keys in self.keys.items()}
        for entity_set, changes in _mapping(body.get("alternate_keys", {}), "alternate_keys").items():
            _known(entity_set)
            for name, spec in _mapping(changes, f"alternate_keys.{entity_set}").items():
                if spec is None:
                    keys[entity_set].pop(name, None)
                else:
                    keys[entity_set][name] = _key(entity_set, name, spec, keys[entity_set].get(name))
            if len(keys[entity_set]) > MAX_KEYS_PER_TABLE:
                raise ValueError(f"{entity_set} can have at most {MAX_KEYS_PER_TABLE} alternate keys")
        tracking = dict(self.tracking)
        for entity_set, on in _mapping(body.get("change_tracking", {}), "change_tracking").items():
            _known(entity_set)
            if not isinstance(on, bool):
                raise ValueError(f"change_tracking.{entity_set} must be true or false")
            tracking[entity_set] = on
        return Environment(keys, tracking)

    def view(self) -> dict:
        return {
            "alternate_keys": {name: {key.name: {"columns": list(key.columns), "status": key.status}
                                      for key in table_keys.values()}
                               for name, table_keys in self.keys.items() if table_keys},
            "change_tracking": dict(self.tracking),
        }


def _mapping(value: object, where: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a JSON object")
    return value


def _known(entity_set: str) -> None:
    if entity_set not in ENTITY_SETS:
        raise ValueError(f"the emulator does not serve the entity set '{entity_set}'")


def _key(entity_set: str, name: str, spec: object, existing: AlternateKey | None) -> AlternateKey:
    where = f"alternate_keys.{entity_set}.{name}"
    spec = _mapping(spec, where)
    if set(spec) - {"columns", "status"}:
        raise ValueError(f"{where} takes only columns and status")
    columns = spec.get("columns", list(existing.columns) if existing else None)
    if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
        raise ValueError(f"{where}.columns must be a non-empty list of column names")
    if len(columns) > MAX_KEY_COLUMNS or len(set(columns)) != len(columns):
        raise ValueError(f"{where}.columns must be at most {MAX_KEY_COLUMNS} distinct columns")
    table = ENTITY_SETS[entity_set]
    for column in columns:
        attribute = table.columns.get(column)
        if attribute is None or attribute.attribute_type not in KEY_COLUMN_TYPES:
            raise ValueError(f"{where}: '{column}' is not a {table.logical} column a key can hold "
                             f"({', '.join(sorted(KEY_COLUMN_TYPES))})")
    status = spec.get("status", existing.status if existing else "Active")
    if status not in KEY_STATUSES:
        raise ValueError(f"{where}.status must be one of {', '.join(KEY_STATUSES)}")
    return AlternateKey(name, tuple(columns), status, existing.managed if existing else False)
