"""The Dataverse emulator sends webhooks: a RemoteExecutionContext per committed write, with Dataverse's headers,
its size limit and its single retry."""

from __future__ import annotations

import pytest
import requests

from integration.webhook_context import parse_context
from tests.support.waiting import wait_until
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.stop()


def register(dataverse, receiver, **overrides) -> dict:
    body = {"url": receiver.url, "entities": ["account", "contact"], "messages": ["Create", "Update", "Delete"],
            "auth": {"type": "WebhookKey", "value": "k3y"}, **overrides}
    response = dataverse.session.post(f"{dataverse.origin}/_emulator/webhooks", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def api(dataverse, method: str, path: str, *, headers: dict | None = None, **kwargs) -> requests.Response:
    headers = dataverse.auth_headers(**{"OData-Version": "4.0", "Accept": "application/json", **(headers or {})})
    response = dataverse.session.request(method, dataverse.api_url + path, headers=headers, timeout=30, **kwargs)
    assert response.status_code < 300, response.text
    return response


def create_account(dataverse, **fields) -> str:
    response = api(dataverse, "POST", "accounts", json={"name": "Fabrikam", **fields})
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def test_a_write_sends_a_context_with_the_headers_and_key_dataverse_uses(dataverse, receiver):
    register(dataverse, receiver)
    account_id = create_account(dataverse, creditlimit=1000)
    delivery = wait_until(lambda: receiver.received and receiver.received[0], what="the Create webhook")
    assert delivery.path == "/hook?code=k3y"
    headers = delivery.headers
    assert headers["x-ms-dynamics-entity-name"] == "account"
    assert headers["x-ms-dynamics-request-name"] == "Create"
    assert headers["x-ms-correlation-request-id"] == delivery.body["CorrelationId"]
    assert headers["x-ms-dynamics-organization"] == dataverse.origin.split("//")[1]
    assert "x-ms-dynamics-msg-size-exceeded" not in headers
    body = delivery.body
    assert (body["MessageName"], body["PrimaryEntityName"], body["PrimaryEntityId"], body["Stage"]) == (
        "Create", "account", account_id, 40)
    image = parse_context(body).post_image  # the receiving side's reading of it, per the reference
    assert image["accountid"] == account_id
    assert image["creditlimit"] == 1000
    assert image["statecode"] == 0
    assert image["accountnumber"].startswith("ACC-")
    assert image["transactioncurrencyid"] is None  # an empty lookup: a null attribute of its plain name
    assert image["_owningbusinessunit_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "businessunit"
    assert image["modifiedon"].endswith("Z")
    # Counted once the POST has returned, which is after the receiver has it: wait for the count, not just the body.
    wait_until(lambda: dataverse.stats()["webhooks_sent"] == 1, what="the delivery to be counted")


def test_an_update_carries_the_changed_columns_as_target_and_the_whole_record_as_image(dataverse, receiver):
    account_id = create_account(dataverse, telephone1="1")
    register(dataverse, receiver)
    api(dataverse, "PATCH", f"accounts({account_id})", json={"telephone1": "2"}, headers={"If-Match": "*"})
    body = wait_until(lambda: receiver.received and receiver.received[0], what="the Update webhook").body
    context = parse_context(body)
    assert context.message == "Update"
    assert set(context.target) - {"modifiedon"} == {"accountid", "telephone1"}  # modifiedon has whole seconds
    assert context.post_image["telephone1"] == "2"
    assert context.post_image["name"] == "Fabrikam"


def test_a_delete_sends_a_reference_and_no_image(dataverse, receiver):
    account_id = create_account(dataverse)
    register(dataverse, receiver, messages=["Delete"])
    api(dataverse, "DELETE", f"accounts({account_id})")
    body = wait_until(lambda: receiver.received and receiver.received[0], what="the Delete webhook").body
    assert (body["MessageName"], body["PrimaryEntityId"], body["PostEntityImages"]) == ("Delete", account_id, [])


def test_only_registered_tables_and_messages_are_sent_and_seeding_sends_nothing(dataverse, receiver):
    register(dataverse, receiver, entities=["contact"], messages=["Update"])
    dataverse.seed(accounts=5, contacts=5)
    create_account(dataverse)
    contact = api(dataverse, "POST", "contacts", json={"lastname": "Lovelace"})
    contact_id = contact.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    api(dataverse, "PATCH", f"contacts({contact_id})", json={"firstname": "Ada"}, headers={"If-Match": "*"})
    wait_until(lambda: receiver.received, what="the contact's Update")
    assert [(d.body["MessageName"], d.body["PrimaryEntityName"]) for d in receiver.received] == [("Update", "contact")]


def test_a_change_set_that_rolls_back_sends_nothing(dataverse, receiver):
    register(dataverse, receiver)
    boundary, changeset = "batch_1", "changeset_1"
    parts = []
    for content_id, body in ((1, '{"name": "Rolled back"}'), (2, '{"name": "x", "nosuchcolumn": 1}')):
        parts.append(f"--{changeset}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
                     f"Content-ID: {content_id}\r\n\r\nPOST {dataverse.api_url}accounts HTTP/1.1\r\n"
                     f"Content-Type: application/json\r\n\r\n{body}\r\n")
    payload = (f"--{boundary}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n" + "".join(parts)
               + f"--{changeset}--\r\n--{boundary}--\r\n")
    response = dataverse.session.post(dataverse.api_url + "$batch", data=payload.encode(), timeout=30,
                                      headers=dataverse.auth_headers(**{
                                          "Content-Type": f"multipart/mixed; boundary={boundary}",
                                          "OData-Version": "4.0"}))
    assert response.status_code == 400
    create_account(dataverse, name="Committed")
    wait_until(lambda: receiver.received, what="the committed Create")
    assert [parse_context(d.body).post_image["name"] for d in receiver.received] == ["Committed"]


def test_a_502_503_or_504_is_retried_once_with_the_same_body(dataverse, receiver):
    register(dataverse, receiver)
    receiver.statuses.extend([503, 503])
    create_account(dataverse)
    wait_until(lambda: len(receiver.received) == 2, what="the retry")
    first, retry = receiver.received
    assert first.body == retry.body
    listed = dataverse.session.get(f"{dataverse.origin}/_emulator/webhooks", timeout=10).json()["webhooks"][0]
    wait_until(lambda: dataverse.session.get(f"{dataverse.origin}/_emulator/webhooks", timeout=10)
               .json()["webhooks"][0]["failed"] == 1, what="the failure to be counted")
    assert listed["auth"] == {"type": "WebhookKey", "name": "code"}  # the key itself is not listed
    wait_until(lambda: dataverse.stats()["webhooks_sent"] == 2, what="both deliveries to be counted")


def test_other_failures_are_not_retried(dataverse, receiver):
    register(dataverse, receiver)
    receiver.statuses.append(500)
    create_account(dataverse, name="First")
    create_account(dataverse, name="Second")
    wait_until(lambda: len(receiver.received) == 2, what="both deliveries")
    names = [parse_context(d.body).post_image["name"] for d in receiver.received]
    assert names == ["First", "Second"]


def test_an_oversized_context_is_stripped_and_flagged(dataverse, receiver):
    register(dataverse, receiver, max_size_bytes=2000)
    create_account(dataverse)
    delivery = wait_until(lambda: receiver.received and receiver.received[0], what="the stripped webhook")
    assert delivery.headers["x-ms-dynamics-msg-size-exceeded"] == "true"
    assert (delivery.body["InputParameters"], delivery.body["PostEntityImages"]) == ([], [])
    assert delivery.body["PrimaryEntityId"]


def test_a_header_secret_is_sent_as_a_header(dataverse, receiver):
    register(dataverse, receiver, auth={"type": "HttpHeader", "name": "x-p2c-webhook-key", "value": "k3y"})
    create_account(dataverse)
    delivery = wait_until(lambda: receiver.received and receiver.received[0], what="the webhook")
    assert (delivery.path, delivery.headers["x-p2c-webhook-key"]) == ("/hook", "k3y")


def test_registrations_are_listed_cleared_and_reset(dataverse, receiver):
    register(dataverse, receiver)
    control = f"{dataverse.origin}/_emulator/webhooks"
    assert len(dataverse.session.get(control, timeout=10).json()["webhooks"]) == 1
    assert dataverse.session.delete(control, timeout=10).json() == {"webhooks": []}
    register(dataverse, receiver)
    dataverse.reset()
    assert dataverse.session.get(control, timeout=10).json() == {"webhooks": []}


@pytest.mark.parametrize(("change", "error"), [
    ({"url": "http://10.0.0.1/hook"}, "loopback"),
    ({"url": "ftp://127.0.0.1/"}, "http(s) URL"),
    ({"entities": ["unicorn"]}, "logical names"),
    ({"messages": ["Merge"]}, "Create, Update, Delete"),
    ({"auth": {"type": "Basic", "value": "x"}}, "auth must be"),
    ({"auth": {"type": "HttpHeader", "value": "x"}}, "needs a name"),
])
def test_bad_registrations_are_refused(dataverse, receiver, change, error):
    body = {"url": receiver.url, "entities": ["account"], "auth": {"type": "WebhookKey", "value": "k"}, **change}
    response = dataverse.session.post(f"{dataverse.origin}/_emulator/webhooks", json=body, timeout=10)
    assert response.status_code == 400
    assert error in response.json()["error"]
