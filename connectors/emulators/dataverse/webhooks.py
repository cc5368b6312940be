"""Dataverse webhooks, as the emulator sends them: a RemoteExecutionContext POSTed for each committed write.

Registered through the control API (`POST /_emulator/webhooks` with url, entities, messages and auth; `GET` lists,
`DELETE` clears), standing in for a service endpoint and its SDK steps (async, PostOperation, a post image of all
columns). What goes out follows the reference: the headers `x-ms-dynamics-organization`, `-entity-name`,
`-request-name` and `x-ms-correlation-request-id`; above 256 KB the images, input parameters and parent context
are stripped and `x-ms-dynamics-msg-size-exceeded` is set; a 60 s timeout; one retry, only on 502/503/504.

Writes are seen through the emulator's records (every insert, replace and delete, cascades included); a write
undone by a rolled-back change set leaves no notification. Contexts are built while the write holds the store
lock (so they show the record as committed) and sent later by one background thread, in commit order, never
while the lock is held.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

import requests

from connectors.emulators.dataverse.records import Records
from connectors.emulators.dataverse.schema import BOOLEAN, DATETIME, ENTITY_SETS, EntitySet, lookup_target
from connectors.emulators.protection import Stats
from connectors.emulators.server import Request, Response, json_response
from connectors.emulators.store import Store

log = logging.getLogger(__name__)

CONTRACTS = "http://schemas.microsoft.com/xrm/2011/Contracts"
MESSAGES = ("Create", "Update", "Delete")
AUTH_TYPES = ("WebhookKey", "HttpHeader", "HttpQueryString")
MAX_SIZE_BYTES = 256 * 1024
TIMEOUT_SECONDS = 60
RETRY_STATUSES = (502, 503, 504)
LOOPBACK = ("127.0.0.1", "localhost", "::1")

Row = dict


@dataclass
class Registration:
    """A service endpoint and the steps registered on it: which tables and messages it hears about."""

    id: str
    url: str
    entities: tuple[str, ...]
    messages: tuple[str, ...]
    auth_type: str
    auth_name: str
    auth_value: str = field(repr=False)
    max_size_bytes: int = MAX_SIZE_BYTES
    sent: int = 0
    failed: int = 0
    last_status: int | None = None

    def wants(self, message: str, logical_name: str) -> bool:
        return message in self.messages and logical_name in self.entities

    def view(self) -> dict:
        return {"id": self.id, "url": self.url, "entities": list(self.entities), "messages": list(self.messages),
                "auth": {"type": self.auth_type, "name": self.auth_name}, "max_size_bytes": self.max_size_bytes,
                "sent": self.sent, "failed": self.failed, "last_status": self.last_status}


def registration_from(body: dict) -> Registration:
    """Check a registration request; ValueError names what is wrong."""
    url = body.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("url must be an http(s) URL")
    if urlsplit(url).hostname not in LOOPBACK:
        raise ValueError("the emulator only sends webhooks to loopback addresses")
    logical_names = {entity_set.logical for entity_set in ENTITY_SETS.values()}
    entities = body.get("entities")
    if not isinstance(entities, list) or not entities or not set(entities) <= logical_names:
        raise ValueError("entities must be a non-empty list of table logical names "
                         f"({', '.join(sorted(logical_names))})")
    messages = body.get("messages", list(MESSAGES))
    if not isinstance(messages, list) or not messages or not set(messages) <= set(MESSAGES):
        raise ValueError(f"messages must be a non-empty list of {', '.join(MESSAGES)}")
    auth = body.get("auth") or {}
    if not isinstance(auth, dict) or auth.get("type") not in AUTH_TYPES or not auth.get("value"):
        raise ValueError(f"auth must be {{type: {'|'.join(AUTH_TYPES)}, name, value}}")
    if auth["type"] != "WebhookKey" and not auth.get("name"):
        raise ValueError(f"auth of type {auth['type']} needs a name")
    max_size = body.get("max_size_bytes", MAX_SIZE_BYTES)
    if not isinstance(max_size, int) or isinstance(max_size, bool) or max_size < 1:
        raise ValueError("max_size_bytes must be a positive integer")
    return Registration(id=str(uuid.uuid4()), url=url, entities=tuple(entities), messages=tuple(messages),
                        auth_type=auth["type"], auth_name=auth.get("name") or "code", auth_value=str(auth["value"]),
                        max_size_bytes=max_size)


# --- the RemoteExecutionContext ------------------------------------------------------------------------------
def sdk_date(text: str) -> str:
    """`2024-05-01T10:00:00Z` or `2024-05-01` as the SDK's `/Date(ms)/`."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"/Date({int(moment.timestamp() * 1000)})/"


def _typed(kind: str, value: object) -> dict:
    return {"__type": f"{kind}:{CONTRACTS}", "Value": value}


def attributes(entity_set: EntitySet, row: Row, records: Records) -> tuple[dict[str, object], dict[str, str]]:
    """Every column of a stored row in the SDK's data-contract shapes (nulls included), and formatted values."""
    values: dict[str, object] = {entity_set.key: row[entity_set.key]}
    formatted: dict[str, str] = {}
    for column in entity_set.columns.values():
        if column.name == "versionnumber":
            continue  # the row version travels as the entity's RowVersion, not as an attribute
        value = row.get(column.name)
        if value is not None and column.attribute_type in ("Picklist", "State", "Status"):
            label = _label(entity_set, row, column.name, value)
            if label is not None:
                formatted[column.name] = label
            value = _typed("OptionSetValue", value)
        elif value is not None and column.attribute_type == "Money":
            value = _typed("Money", value)
        elif value is not None and column.edm == DATETIME:
            value = sdk_date(value)
        elif value is not None and column.edm == BOOLEAN:
            formatted[column.name] = "Yes" if value else "No"
        values[column.name] = value
    for lookup in entity_set.lookups.values():
        target_id = row.get(lookup.value_field)
        if target_id is None:
            values[lookup.attribute] = None
            continue
        target_set = lookup_target(lookup, row)
        target = None if target_set is None else records.get(target_set.name, target_id)
        values[lookup.attribute] = {"__type": f"EntityReference:{CONTRACTS}", "Id": target_id, "KeyAttributes": [],
                                    "LogicalName": target_set.logical if target_set else (lookup.targets or ("",))[0],
                                    "Name": None if target is None else target.get(target_set.primary_name),
                                    "RowVersion": None}
    return values, formatted


def _label(entity_set: EntitySet, row: Row, name: str, value: int) -> str | None:
    """A choice's label: a status is looked up under its row's state."""
    if name == "statuscode" and entity_set.states:
        state = entity_set.states.get(row.get("statecode"))
        return None if state is None else state.statuses.get(value)
    if name == "statecode" and entity_set.states:
        state = entity_set.states.get(value)
        return None if state is None else state.label
    options = entity_set.columns[name].options
    return None if options is None else options.get(value, str(value))


def _entity(entity_set: EntitySet, row: Row, values: dict[str, object], formatted: dict[str, str]) -> dict:
    return {"__type": f"Entity:{CONTRACTS}", "Attributes": [{"key": k, "value": v} for k, v in values.items()],
            "EntityState": None, "FormattedValues": [{"key": k, "value": v} for k, v in formatted.items()],
            "Id": row[entity_set.key], "KeyAttributes": [], "LogicalName": entity_set.logical,
            "RelatedEntities": [], "RowVersion": str(row.get("_version", ""))}


def remote_execution_context(message: str, entity_set: EntitySet, old: Row | None, new: Row | None,
                             records: Records, *, organization_id: str, organization_name: str,
                             user_id: str, business_unit_id: str) -> dict:
    """The context of one operation: Target (all set columns on Create, the changed ones on Update, a reference
    on Delete) and, for Create and Update, a post image of every column."""
    row = new if new is not None else old
    record_id = row[entity_set.key]
    if message == "Delete":
        target = {"__type": f"EntityReference:{CONTRACTS}", "Id": record_id, "KeyAttributes": [],
                  "LogicalName": entity_set.logical, "Name": None, "RowVersion": None}
        images = []
    else:
        values, formatted = attributes(entity_set, new, records)
        if old is None:
            changed = {name: value for name, value in values.items() if value is not None}
        else:
            before, _ = attributes(entity_set, old, records)
            changed = {name: value for name, value in values.items() if before.get(name) != value}
            changed[entity_set.key] = record_id
        target = _entity(entity_set, new, changed, {k: v for k, v in formatted.items() if k in changed})
        images = [{"key": "PostImage", "value": _entity(entity_set, new, values, formatted)}]
    now = datetime.now(UTC)
    return {
        "BusinessUnitId": business_unit_id, "CorrelationId": str(uuid.uuid4()), "Depth": 1,
        "InitiatingUserId": user_id, "InputParameters": [{"key": "Target", "value": target}],
        "IsExecutingOffline": False, "IsInTransaction": False, "IsOfflinePlayback": False, "IsolationMode": 1,
        "MessageName": message, "Mode": 1, "OperationCreatedOn": f"/Date({int(now.timestamp() * 1000)}+0000)/",
        "OperationId": str(uuid.uuid4()), "OrganizationId": organization_id, "OrganizationName": organization_name,
        "OutputParameters": [], "OwningExtension": {"Id": str(uuid.uuid5(uuid.NAMESPACE_URL, organization_id)),
                                                   "KeyAttributes": [], "LogicalName": "sdkmessageprocessingstep",
                                                   "Name": f"p2c: {message} of {entity_set.logical}",
                                                   "RowVersion": None},
        "ParentContext": None, "PostEntityImages": images, "PreEntityImages": [], "PrimaryEntityId": record_id,
        "PrimaryEntityName": entity_set.logical, "RequestId": str(uuid.uuid4()), "SecondaryEntityName": "none",
        "SharedVariables": [], "Stage": 40, "UserId": user_id,
    }


def strip_oversized(context: dict) -> dict:
    """What Dataverse sends when the context is too big: no parent context, input parameters or images."""
    return {**context, "ParentContext": None, "InputParameters": [], "PreEntityImages": [], "PostEntityImages": []}


# --- sending ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Delivery:
    registration: Registration
    context: dict


class ObservedRecords(Records):
    """The emulator's records, telling a listener about every row written: (message, entity set, old, new)."""

    def __init__(self, store: Store, listener: Callable[[str, EntitySet, Row | None, Row | None], None]):
        super().__init__(store)
        self.listener = listener

    def insert(self, entity_set: EntitySet, row: Row) -> Row:
        stored = super().insert(entity_set, row)
        self.listener("Create", entity_set, None, stored)
        return stored

    def replace(self, entity_set: EntitySet, row: Row) -> Row:
        old = self.get(entity_set.name, row[entity_set.key])
        stored = super().replace(entity_set, row)
        self.listener("Update", entity_set, old, stored)
        return stored

    def delete(self, entity_set: EntitySet, row: Row) -> None:
        super().delete(entity_set, row)
        self.listener("Delete", entity_set, row, None)


class WebhookSender:
    """Registrations, the notifications of writes not yet committed, and the thread that delivers them."""

    def __init__(self, *, store: Store, stats: Stats, organization: Callable[[], str],
                 business_unit: Callable[[], str]):
        self.store = store
        self.stats = stats
        self.organization = organization
        self.business_unit = business_unit
        self.records: Records | None = None
        self._registrations: list[Registration] = []
        self._pending: list[_Delivery] = []
        self._paused = 0
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Delivery] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._session = requests.Session()
        self._session.trust_env = False  # loopback only: no proxy from the environment

    # --- the control API ---------------------------------------------------------------------------------
    def control(self, request: Request, body: dict) -> Response:
        if request.method == "GET":
            return json_response(200, {"webhooks": [r.view() for r in self._registrations]})
        if request.method == "DELETE":
            self.clear()
            return json_response(200, {"webhooks": []})
        if request.method == "POST":
            try:
                registration = registration_from(body)
            except ValueError as exc:
                return json_response(400, {"error": str(exc)})
            with self._lock:
                self._registrations = [*self._registrations, registration]
            self._start()
            return json_response(201, registration.view())
        return json_response(405, {"error": f"{request.method} /_emulator/webhooks is not supported"})

    def clear(self) -> None:
        """Forget every registration and every notification not yet handed to the sending thread."""
        with self._lock:
            self._registrations = []
        with self.store.lock:
            self._pending.clear()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Writes made inside (seeding, reference data) notify nobody, as data loaded by an import would not."""
        with self.store.lock:
            self._paused += 1
            try:
                yield
            finally:
                self._paused -= 1

    # --- the write path ----------------------------------------------------------------------------------
    def capture(self, message: str, entity_set: EntitySet, old: Row | None, new: Row | None) -> None:
        """Called by the records inside the write (store lock held): build the context while the row is as
        written, and forget it again if the write is undone."""
        wanted = [r for r in self._registrations if r.wants(message, entity_set.logical)]
        if not wanted or self._paused or self.records is None:
            return
        organization = self.organization()
        context = remote_execution_context(
            message, entity_set, old, new, self.records, organization_id=str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                                                      organization)),
            organization_name=organization, user_id=str(uuid.uuid5(uuid.NAMESPACE_URL, organization + "/user")),
            business_unit_id=self.business_unit())
        deliveries = [_Delivery(registration, context) for registration in wanted]
        self._pending.extend(deliveries)
        self.store.on_undo(lambda: self._forget(deliveries))

    def _forget(self, deliveries: list[_Delivery]) -> None:
        self._pending = [d for d in self._pending if all(d is not undone for undone in deliveries)]

    def flush(self) -> None:
        """After a request: hand what it committed to the sending thread. Taking the store lock means no other
        request is half-way through a change set whose notifications could be sent before it commits."""
        if not self._pending:
            return
        with self.store.lock:
            deliveries, self._pending = self._pending, []
        for delivery in deliveries:
            self._queue.put(delivery)

    # --- the sending thread ------------------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="dataverse-webhooks", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            try:
                self._deliver(delivery)
            except Exception:  # one bad delivery must not stop the sender; the log says what happened
                log.exception("webhook delivery failed")

    def _deliver(self, delivery: _Delivery) -> None:
        registration, context = delivery.registration, delivery.context
        body = json.dumps(context, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "x-ms-dynamics-organization": self.organization(),
                   "x-ms-dynamics-entity-name": context["PrimaryEntityName"],
                   "x-ms-dynamics-request-name": context["MessageName"],
                   "x-ms-correlation-request-id": context["CorrelationId"]}
        if len(body) > registration.max_size_bytes:
            body = json.dumps(strip_oversized(context), separators=(",", ":")).encode()
            headers["x-ms-dynamics-msg-size-exceeded"] = "true"
        url = registration.url
        if registration.auth_type == "HttpHeader":
            headers[registration.auth_name] = registration.auth_value
        else:  # WebhookKey is sent as code=; HttpQueryString as its own name
            url += ("&" if "?" in url else "?") + urlencode({registration.auth_name: registration.auth_value})
        for attempt in (1, 2):
            status = self._post(url, body, headers)
            self.stats.count("webhooks_sent")
            registration.last_status = status
            if status is not None and 200 <= status < 300:
                registration.sent += 1
                return
            if status not in RETRY_STATUSES or attempt == 2:
                break
        registration.failed += 1
        log.info("webhook not delivered: %s %s %s answered %s", context["MessageName"],
                 context["PrimaryEntityName"], context["PrimaryEntityId"], status)

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int | None:
        try:
            return self._session.post(url, data=body, headers=headers, timeout=TIMEOUT_SECONDS).status_code
        except requests.RequestException:
            return None  # a timeout or a refused connection fails the delivery; Dataverse does not retry those
