"""The bulk messages CreateMultiple, UpdateMultiple and UpsertMultiple: their documented shapes, all or nothing on
standard tables with the failing target's own error, and how service protection counts them."""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET

import pytest

from tests.emulators.dataverse.client import error_of
from tests.support.waiting import wait_until
from tests.webhooks.receiver import Receiver

ACCOUNT = "Microsoft.Dynamics.CRM.account"
DETAILS = "@Microsoft.PowerApps.CDS.ErrorDetails.Plugin.BulkApiErrorDetails"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def bulk(dv, message: str, targets: list[dict], entity_set: str = "accounts", **headers: str):
    return dv.post(f"{entity_set}/Microsoft.Dynamics.CRM.{message}", {"Targets": targets}, **headers)


def account(number: str, **fields) -> dict:
    return {"@odata.type": ACCOUNT, "name": f"Account {number}", "accountnumber": number, **fields}


def accounts_numbered(dv, prefix: str) -> dict[str, dict]:
    rows = dv.get(f"accounts?$select=accountnumber,name,creditlimit&$filter=startswith(accountnumber,'{prefix}')")
    assert rows.status_code == 200, rows.text
    return {row["accountnumber"]: row for row in rows.json()["value"]}


def test_create_multiple_answers_the_new_ids_in_order(dv):
    response = bulk(dv, "CreateMultiple", [account(f"CM-{n}") for n in range(3)])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"] == f"{dv.api}$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse"
    assert len(body["Ids"]) == 3
    for n, record_id in enumerate(body["Ids"]):
        assert dv.get(f"accounts({record_id})?$select=accountnumber").json()["accountnumber"] == f"CM-{n}"


def test_update_multiple_updates_by_primary_key_and_answers_204_without_a_body(dv):
    ids = bulk(dv, "CreateMultiple", [account(f"UM-{n}") for n in range(2)]).json()["Ids"]
    response = bulk(dv, "UpdateMultiple", [{"@odata.type": ACCOUNT, "accountid": record_id, "creditlimit": 500 + n}
                                           for n, record_id in enumerate(ids)])
    assert (response.status_code, response.content) == (204, b"")
    rows = accounts_numbered(dv, "UM-")
    assert [rows["UM-0"]["creditlimit"], rows["UM-1"]["creditlimit"]] == [500, 501]


def test_upsert_multiple_creates_and_updates_by_the_alternate_key_in_odata_id(dv):
    dv.create("accounts", {"name": "Before", "accountnumber": "UP-1"})
    targets = [{"@odata.type": ACCOUNT, "@odata.id": f"accounts(accountnumber='UP-{n}')", "name": f"After {n}"}
               for n in (1, 2)]
    response = bulk(dv, "UpsertMultiple", targets)
    assert (response.status_code, response.content) == (204, b"")
    rows = accounts_numbered(dv, "UP-")
    assert {number: row["name"] for number, row in rows.items()} == {"UP-1": "After 1", "UP-2": "After 2"}


def test_upsert_multiple_refuses_a_new_record_whose_body_repeats_its_key_but_updates_an_existing_one(dv):
    dv.create("accounts", {"name": "Existing", "accountnumber": "UPK-1"})
    existing = {"@odata.type": ACCOUNT, "@odata.id": "accounts(accountnumber='UPK-1')", "accountnumber": "UPK-1",
                "name": "Renamed"}
    assert bulk(dv, "UpsertMultiple", [existing]).status_code == 204
    new = {**existing, "@odata.id": "accounts(accountnumber='UPK-2')", "accountnumber": "UPK-2"}
    refused = bulk(dv, "UpsertMultiple", [new])
    assert refused.status_code == 400
    assert error_of(refused) == {"code": "0x80040216", "message": "An unexpected error occurred."}


def test_one_bad_target_fails_the_whole_request_with_its_own_error_and_writes_nothing(dv):
    targets = [account("AON-1"), account("AON-2"), account("AON-3", name="x" * 161)]
    response = bulk(dv, "CreateMultiple", targets)
    assert response.status_code == 400
    single = dv.post("accounts", {"name": "x" * 161})  # the same record alone: the same refusal
    assert error_of(response) == error_of(single)
    assert "'name'" in error_of(response)["message"]
    assert accounts_numbered(dv, "AON-") == {}


def test_the_failing_target_is_named_when_error_details_are_asked_for(dv):
    dv.create("accounts", {"name": "Taken", "accountnumber": "DUP-TAKEN"})
    targets = [account("DUP-1"), account("DUP-TAKEN"), account("DUP-3")]
    response = bulk(dv, "CreateMultiple", targets,
                    Prefer='odata.include-annotations="Microsoft.PowerApps.CDS.ErrorDetails.*"')
    assert response.status_code == 412
    error = response.json()["error"]
    assert error["code"] == "0x80060892"
    assert json.loads(error[DETAILS]) == [{"RequestIndex": 1, "Id": None, "StatusCode": 412}]
    assert set(accounts_numbered(dv, "DUP-")) == {"DUP-TAKEN"}


def test_update_multiple_of_a_missing_record_rolls_back_the_others(dv):
    record_id = dv.create("accounts", {"name": "Kept", "accountnumber": "UMM-1"})["accountid"]
    missing = str(uuid.uuid4())
    response = bulk(dv, "UpdateMultiple", [{"@odata.type": ACCOUNT, "accountid": record_id, "name": "Changed"},
                                           {"@odata.type": ACCOUNT, "accountid": missing, "name": "Ghost"}],
                    Prefer='odata.include-annotations="*"')
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["message"] == f"account With Id = {missing} Does Not Exist"
    assert json.loads(error[DETAILS]) == [{"RequestIndex": 1, "Id": missing, "StatusCode": 404}]
    assert accounts_numbered(dv, "UMM-")["UMM-1"]["name"] == "Kept"
    assert dv.get(f"accounts({missing})").status_code == 404


def test_every_target_must_carry_its_entity_type(dv):
    untyped = bulk(dv, "CreateMultiple", [account("TYPE-1"), {"name": "No type", "accountnumber": "TYPE-2"}])
    assert untyped.status_code == 400
    assert "Item 1 of Targets has no '@odata.type'" in error_of(untyped)["message"]
    other = bulk(dv, "CreateMultiple", [{"@odata.type": "Microsoft.Dynamics.CRM.contact", "lastname": "Wrong"}])
    assert other.status_code == 400
    assert "'Microsoft.Dynamics.CRM.account'" in error_of(other)["message"]
    assert accounts_numbered(dv, "TYPE-") == {}


def test_a_bulk_message_is_one_request_toward_the_request_limit(dv):
    dv.handle.configure(throttle={"requests": 2, "window_s": 300})
    assert bulk(dv, "CreateMultiple", [account(f"RL-{n}") for n in range(5)]).status_code == 200
    assert dv.get("accounts?$top=1").status_code == 200
    refused = dv.get("accounts?$top=1")
    assert refused.status_code == 429
    assert error_of(refused)["code"] == "0x80072322"


def test_each_target_counts_toward_execution_time(dv):
    dv.handle.configure(execution_time={"limit_ms": 1000, "window_s": 300}, operation_ms=300)
    assert bulk(dv, "CreateMultiple", [account(f"ET-{n}") for n in range(4)]).status_code == 200  # 1,200 ms
    assert dv.handle.stats()["operations"] == 4
    refused = dv.get("accounts?$top=1")
    assert refused.status_code == 429
    assert error_of(refused)["code"] == "0x80072321"


def test_a_bulk_message_inside_a_batch_charges_its_targets(dv):
    boundary = "batch_bulk"
    body = json.dumps({"Targets": [account(f"BB-{n}") for n in range(3)]})
    part = (f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            f"POST {dv.api}accounts/Microsoft.Dynamics.CRM.CreateMultiple HTTP/1.1\r\n"
            f"Content-Type: application/json\r\n\r\n{body}\r\n--{boundary}--\r\n")
    response = dv.handle.session.post(dv.url("$batch"), data=part.encode(), timeout=60,
                                      headers=dv.headers(**{"Content-Type": f"multipart/mixed; boundary={boundary}"}))
    assert response.status_code == 200, response.text
    assert dv.handle.stats()["operations"] == 3
    assert set(accounts_numbered(dv, "BB-")) == {"BB-0", "BB-1", "BB-2"}


def test_metadata_declares_the_bulk_messages_as_bound_actions(dv):
    root = ET.fromstring(dv.get("$metadata").content)  # noqa: S314 - the emulator's own document, over loopback
    actions = {action.get("Name"): action for action in root.iter(f"{EDM}Action")}
    assert set(actions) == {"CreateMultiple", "UpdateMultiple", "UpsertMultiple"}
    create = actions["CreateMultiple"]
    assert create.get("IsBound") == "true"
    assert [(p.get("Name"), p.get("Type")) for p in create.findall(f"{EDM}Parameter")] == [
        ("entityset", "Collection(mscrm.crmbaseentity)"), ("Targets", "Collection(mscrm.crmbaseentity)")]
    assert create.find(f"{EDM}ReturnType").get("Type") == "mscrm.CreateMultipleResponse"


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.stop()


def test_webhooks_fire_for_each_record_as_single_writes_would_and_not_for_a_rolled_back_request(dv, receiver):
    registered = dv.handle.session.post(f"{dv.handle.origin}/_emulator/webhooks", timeout=10, json={
        "url": receiver.url, "entities": ["account"], "messages": ["Create", "Update"],
        "auth": {"type": "WebhookKey", "value": "k3y"}})
    assert registered.status_code == 201, registered.text
    assert bulk(dv, "CreateMultiple", [account("WH-1"), account("WH-2", name="y" * 161)]).status_code == 400
    ids = bulk(dv, "CreateMultiple", [account("WH-3"), account("WH-4")]).json()["Ids"]
    assert bulk(dv, "UpdateMultiple", [{"@odata.type": ACCOUNT, "accountid": ids[0], "name": "Renamed"}]
                ).status_code == 204
    wait_until(lambda: len(receiver.received) >= 3, what="three webhooks")
    assert [(d.body["MessageName"], d.body["PrimaryEntityId"]) for d in receiver.received] == [
        ("Create", ids[0]), ("Create", ids[1]), ("Update", ids[0])]
