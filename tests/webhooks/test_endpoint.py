"""POST /api/webhooks/dataverse/<project>/: secret, shapes, de-duplication, re-reads, deletes, no-ops, errors.

The body only says which record changed: every row it queues is read from Dataverse before anything is written.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from integration.models import KeyLink, Project, RecordSync, SyncRun, WebhookDelivery
from tests.webhooks import contexts
from tests.webhooks.conftest import SECRET

pytestmark = pytest.mark.django_db
URL = "/api/webhooks/dataverse/p2c/"
HEADER = "x-p2c-webhook-key"


def post(body, *, key: str | None = SECRET, code: str | None = None, url: str = URL, client: Client | None = None,
         content_type: str = "application/json", **headers):
    """POST a context with the secret in the header (`key`) and/or the query string (`code`)."""
    query = f"?code={code}" if code is not None else ""
    if key is not None:
        headers[HEADER] = key
    return (client or Client()).post(url + query, json.dumps(body) if not isinstance(body, str) else body,
                                     content_type=content_type, headers=headers)


def link(project, map_name: str, source_key: str, source_id: str) -> KeyLink:
    return KeyLink.objects.create(entity_map=project.entity_maps.get(name=map_name), source_key=source_key,
                                  source_id=source_id, destination_key=f"US-{source_key}", synced_at=timezone.now())


def test_an_update_queues_a_one_record_run_that_reads_the_record_from_dataverse(project,
                                                                               django_capture_on_commit_callbacks):
    body = contexts.context("Update", target={"telephone1": "+1 425 555 0199"},
                            image=contexts.account_attributes(telephone1="+1 425 555 0199"))
    with django_capture_on_commit_callbacks() as queued:
        response = post(body)
    assert response.status_code == 202
    answer = response.json()
    run = SyncRun.objects.get(pk=answer["run"])
    assert answer["status"] == "queued"
    assert (run.mode, run.trigger, run.is_bulk, run.requested_by) == ("record", "webhook", False, "dataverse webhook")
    assert len(queued) == 1  # the first stage's task, published after the commit
    record = run.records.get()
    # The image names the record (its key, shown until the record is read); nothing of it is kept as the record.
    assert (record.entity_map.name, record.source_key, record.source_id, record.refresh, record.snapshot) == (
        "Accounts", "ACC-01001-ABCDEF", contexts.ACCOUNT_ID, True, None)
    assert WebhookDelivery.objects.get().run == run


def test_a_create_is_read_from_dataverse_too_whatever_its_target_says(project):
    body = contexts.context("Create", target=contexts.account_attributes(name="FORGED"))
    assert post(body).status_code == 202
    record = RecordSync.objects.get()
    assert (record.source_key, record.refresh, record.snapshot) == ("ACC-01001-ABCDEF", True, None)


@pytest.mark.parametrize("header", ["x-p2c-webhook-key", "X-P2C-Webhook-Key"])
def test_the_secret_comes_in_the_header(project, header):
    response = post(contexts.context(image=contexts.account_attributes()), key=None, **{header: SECRET})
    assert response.status_code == 202


@override_settings(P2C_WEBHOOK_HEADER="x-contoso-hook")
def test_the_header_name_is_configurable(project):
    body = contexts.context(image=contexts.account_attributes())
    assert post(body, key=None, **{"x-p2c-webhook-key": SECRET}).status_code == 401
    assert post(body, key=None, **{"x-contoso-hook": SECRET}).status_code == 202


def test_the_secret_as_code_in_the_query_string_is_refused_unless_the_project_allows_it(project):
    body = contexts.context(image=contexts.account_attributes())
    refused = post(body, key=None, code=SECRET)
    assert (refused.status_code, refused.json()) == (401, {"detail": "unauthorized"})
    assert not SyncRun.objects.exists()
    Project.objects.filter(pk=project.pk).update(webhook_secret_in_query=True)
    assert post(body, key=None, code=SECRET).status_code == 202


@pytest.mark.parametrize(("key", "url"), [
    ("wrong", URL),
    (SECRET[:-1], URL),
    ("", URL),
    (None, URL),
    (SECRET, "/api/webhooks/dataverse/no-such-project/"),
])
def test_a_wrong_or_missing_secret_or_an_unknown_project_is_the_same_401(project, key, url):
    response = post(contexts.context(image=contexts.account_attributes()), key=key, url=url)
    assert (response.status_code, response.json()) == (401, {"detail": "unauthorized"})
    assert not SyncRun.objects.exists()


def test_a_project_without_a_secret_accepts_no_webhooks(project):
    project.webhook_secret = ""
    project.save()
    assert post(contexts.context(image=contexts.account_attributes()), key="").status_code == 401


def test_a_weak_secret_stored_before_the_strength_rule_matches_nothing(project):
    Project.objects.filter(pk=project.pk).update(webhook_secret="hook-secret-123")  # bypasses the form's check
    assert post(contexts.context(image=contexts.account_attributes()), key="hook-secret-123").status_code == 401
    assert not SyncRun.objects.exists()


def test_no_csrf_token_and_no_session_are_needed(project):
    client = Client(enforce_csrf_checks=True)
    assert post(contexts.context(image=contexts.account_attributes()), client=client).status_code == 202


def test_a_redelivery_is_answered_without_a_second_run(project):
    body = contexts.context(image=contexts.account_attributes())
    first = post(body)
    again = post(body)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == {"status": "duplicate", "note": "this delivery was received before",
                            "run": first.json()["run"]}
    assert SyncRun.objects.count() == 1


def test_a_new_operation_on_the_same_record_is_a_new_run(project):
    assert post(contexts.context(image=contexts.account_attributes())).status_code == 202
    assert post(contexts.context(image=contexts.account_attributes(name="Renamed"))).status_code == 202
    assert SyncRun.objects.count() == 2


def test_without_an_operation_id_the_body_tells_redeliveries_apart(project):
    empty = "00000000-0000-0000-0000-000000000000"
    body = contexts.context(image=contexts.account_attributes(), operation_id=empty, correlation_id="c-1")
    other = contexts.context(image=contexts.account_attributes(name="Other"), operation_id=empty,
                             correlation_id="c-1")
    assert [post(b).status_code for b in (body, body, other)] == [202, 200, 202]


def test_a_stripped_payload_names_a_linked_record_by_its_links_key(project):
    link(project, "Accounts", "ACC-01001-ABCDEF", contexts.ACCOUNT_ID)
    body = contexts.stripped(contexts.context(image=contexts.account_attributes()))
    response = post(body, **{"x-ms-dynamics-msg-size-exceeded": "true"})
    assert response.status_code == 202
    record = RecordSync.objects.get()
    assert (record.source_key, record.source_id, record.refresh, record.snapshot) == (
        "ACC-01001-ABCDEF", contexts.ACCOUNT_ID, True, None)


def test_an_update_without_an_image_names_the_record_by_its_links_key(project):
    link(project, "Accounts", "ACC-00042-QWERTY", contexts.ACCOUNT_ID)
    assert post(contexts.context(target={"telephone1": "1"})).status_code == 202
    record = RecordSync.objects.get()
    assert (record.source_key, record.refresh) == ("ACC-00042-QWERTY", True)


def test_a_never_synced_record_whose_key_is_unknown_is_queued_by_its_id(project):
    response = post(contexts.stripped(contexts.context()), **{"x-ms-dynamics-msg-size-exceeded": "true"})
    assert response.status_code == 202
    record = RecordSync.objects.get()
    assert (record.source_key, record.source_id, record.refresh) == (contexts.ACCOUNT_ID, contexts.ACCOUNT_ID, True)


def test_a_contact_goes_to_both_contact_maps_which_decide_by_their_conditions(project):
    contact_id = "9d8e0000-0000-0000-0000-00000000c001"
    image = {"contactid": contact_id, "msdynce_contactnumber": "CON-01001-XYZ", "msdynce_isactivecustomer": False,
             "msdynce_iscompanyanaccount": True,
             "parentcustomerid": contexts.reference("account", contexts.ACCOUNT_ID, "Fabrikam Inc"),
             "owningbusinessunit": contexts.reference("businessunit", contexts.BUSINESS_UNIT),
             "transactioncurrencyid": contexts.reference("transactioncurrency", contexts.CURRENCY),
             "firstname": "Ada", "lastname": "Lovelace", "emailaddress1": None, "telephone1": None, "jobtitle": None,
             "address1_line1": None, "address1_city": None, "address1_stateorprovince": None,
             "address1_postalcode": None, "address1_country": None}
    response = post(contexts.context(entity_name="contact", record_id=contact_id, image=image))
    assert response.status_code == 202
    records = RecordSync.objects.order_by("stage__order")
    assert [r.entity_map.name for r in records] == ["Contacts", "Contacts to customers"]
    assert {(r.source_key, r.refresh) for r in records} == {("CON-01001-XYZ", True)}


def test_a_delete_deletes_the_record_linked_by_its_id_once_a_read_confirms_it_is_gone(project):
    link(project, "Accounts", "ACC-01001-ABCDEF", contexts.ACCOUNT_ID)
    assert post(contexts.context("Delete")).status_code == 202
    record = RecordSync.objects.get()
    assert (record.operation, record.source_key, record.refresh) == ("delete", "ACC-01001-ABCDEF", True)


def test_a_delete_of_a_record_never_synced_does_nothing(project):
    response = post(contexts.context("Delete"))
    assert response.status_code == 200
    assert response.json()["note"] == f"account {contexts.ACCOUNT_ID} was never synced; nothing to delete"
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize(("entity_name", "message", "note"), [
    ("lead", "Update", "no enabled entity map of project p2c reads leads; nothing to do"),
    ("product", "Update", "no enabled entity map of project p2c reads products; nothing to do"),  # F&O → Sales
    ("account", "Assign", "message Assign is not synced (only Create, Update, Delete)"),
])
def test_a_change_no_entity_map_reads_writes_nothing(project, entity_name, message, note):
    response = post(contexts.context(message, entity_name=entity_name, image={"name": "x"}))
    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "note": note, "run": None}
    assert not SyncRun.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_a_disabled_map_reads_nothing(project):
    project.entity_maps.filter(name="Accounts").update(enabled=False)
    assert post(contexts.context(image=contexts.account_attributes())).json()["status"] == "ignored"


def test_a_paused_project_queues_nothing(project):
    project.paused = True
    project.save()
    response = post(contexts.context(image=contexts.account_attributes()))
    assert response.status_code == 200
    assert "paused" in response.json()["note"]
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize(("body", "detail"), [
    ([1, 2], "the body must be a JSON object (a RemoteExecutionContext)"),
    ({"MessageName": "Update", "PrimaryEntityName": "account"}, "PrimaryEntityId is missing"),
    ({**contexts.context(), "InputParameters": {"Target": 1}}, "InputParameters must be a list of {key, value} pairs"),
    ({**contexts.context(), "PrimaryEntityId": "ACC-00042"}, "PrimaryEntityId 'ACC-00042' is not a record id (a GUID)"),
])
def test_a_body_that_is_not_a_context_is_400_and_queues_nothing(project, body, detail):
    response = post(body)
    assert response.status_code == 400
    assert response.json() == {"detail": detail}
    assert not SyncRun.objects.exists()
    assert not WebhookDelivery.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=20_000)
@pytest.mark.parametrize(("request_", "status", "detail"), [
    ({"body": "{not json"}, 400, "JSON parse error"),
    ({"body": {"filler": "x" * 30_000}}, 413, "the body is larger than 20000 bytes"),
    ({"body": "MessageName=Update", "content_type": "text/plain"}, 415, "Unsupported media type"),
    ({"body": {}, "key": "wrong"}, 401, "unauthorized"),
])
def test_every_error_is_json(project, request_, status, detail):
    response = post(**request_)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert detail in response.json()["detail"]
    assert not SyncRun.objects.exists()


def test_a_bad_body_with_a_wrong_secret_is_still_401(project):
    assert post("{not json", key="wrong").status_code == 401
