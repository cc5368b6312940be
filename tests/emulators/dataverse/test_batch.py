"""`$batch`: parts in order, atomic change sets, `$n` references, limits, stop-on-error and continue-on-error."""

from __future__ import annotations

import json
import re

from tests.emulators.dataverse.client import error_of

BOUNDARY = "batch_test"


def _part(method: str, url: str, body: dict | None = None, content_id: str | None = None) -> str:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id:
        head += f"Content-ID: {content_id}\r\n"
    request = f"{method} {url} HTTP/1.1\r\n"
    if body is not None:
        request += f"Content-Type: application/json; type=entry\r\n\r\n{json.dumps(body)}"
    else:
        request += "\r\n"
    return f"{head}\r\n{request}\r\n"


def _change_set(name: str, parts: list[str]) -> str:
    inner = "".join(f"--{name}\r\n{part}" for part in parts) + f"--{name}--\r\n"
    return f"Content-Type: multipart/mixed; boundary={name}\r\n\r\n{inner}"


def _batch(dv, items: list[str], **headers: str):
    body = "".join(f"--{BOUNDARY}\r\n{item}" for item in items) + f"--{BOUNDARY}--\r\n"
    return dv.handle.session.post(dv.url("$batch"), data=body.encode(), timeout=60, headers=dv.headers(
        **{"Content-Type": f"multipart/mixed; boundary={BOUNDARY}", **headers}))


def _statuses(response) -> list[int]:
    return [int(code) for code in re.findall(rb"^HTTP/1\.1 (\d{3})", response.content, re.MULTILINE)]


def _count(dv, entity_set: str) -> int:
    return int(dv.get(f"{entity_set}/$count").text)


def test_change_set_with_content_id_references_in_url_and_bind(dv):
    response = _batch(dv, [
        _change_set("changeset_1", [
            _part("POST", f"{dv.api}accounts", {"name": "Batch parent"}, content_id="1"),
            _part("POST", "/api/data/v9.2/contacts", {"lastname": "Batch child",
                                                       "parentcustomerid_account@odata.bind": "$1"}, content_id="2"),
            _part("PATCH", "$1", {"primarycontactid@odata.bind": "$2"}, content_id="3"),
        ]),
        _part("GET", "accounts?$select=name,_primarycontactid_value"),
    ])
    assert response.status_code == 200
    assert response.headers["OData-Version"] == "4.0"
    content_type = response.headers["Content-Type"]
    assert content_type.startswith("multipart/mixed; boundary=batchresponse_")
    assert BOUNDARY not in content_type
    assert _statuses(response) == [204, 204, 204, 200]
    assert b"Content-ID: 2" in response.content
    assert b"OData-EntityId: " in response.content
    assert b"Location: " in response.content
    account = dv.get("accounts?$select=_primarycontactid_value&$filter=name eq 'Batch parent'").json()["value"][0]
    contact = dv.get(f"contacts({account['_primarycontactid_value']})?$select=_parentcustomerid_value").json()
    assert contact["_parentcustomerid_value"] == account["accountid"]


def test_a_failing_change_set_rolls_back_all_of_its_writes(dv):
    response = _batch(dv, [_change_set("changeset_a", [
        _part("POST", "accounts", {"name": "Rolled back"}, content_id="1"),
        _part("POST", "contacts", {"lastname": "Also rolled back"}, content_id="2"),
        _part("POST", "accounts", {"name": "Bad", "nosuchcolumn": 1}, content_id="3"),
    ])])
    assert response.status_code == 400
    assert _statuses(response) == [400]
    assert b"The property 'nosuchcolumn' does not exist on type 'Microsoft.Dynamics.CRM.account'" in response.content
    assert _count(dv, "accounts") == 0
    assert _count(dv, "contacts") == 0


def test_without_continue_on_error_the_batch_stops_at_the_first_failure(dv):
    response = _batch(dv, [
        _part("POST", "accounts", {"name": "First"}),
        _part("POST", "accounts", {"name": "x" * 200}),
        _part("POST", "accounts", {"name": "Never"}),
    ])
    assert response.status_code == 400
    assert _statuses(response) == [400]
    assert b'"code":"0x80044331"' in response.content
    names = [row["name"] for row in dv.get("accounts?$select=name").json()["value"]]
    assert names == ["First"]


def test_with_continue_on_error_every_part_has_its_own_status(dv):
    response = _batch(dv, [
        _part("POST", "accounts", {"name": "x" * 200}),
        _part("POST", "accounts", {"name": "Second"}),
        _part("GET", "accounts(00000000-0000-0000-0000-000000000001)"),
    ], Prefer="odata.continue-on-error")
    assert response.status_code == 200
    assert response.headers["Preference-Applied"] == "odata.continue-on-error"
    assert _statuses(response) == [400, 204, 404]
    assert _count(dv, "accounts") == 1


def test_get_inside_a_change_set_is_400(dv):
    response = _batch(dv, [_change_set("changeset_g", [_part("GET", "accounts")])])
    assert response.status_code == 400
    assert "An invalid HTTP method 'GET' was detected for a request in a change set" in error_of(response)["message"]


def test_more_than_1000_operations_is_400(dv):
    parts = [_part("POST", "accounts", {"name": f"n{n}"}) for n in range(1001)]
    response = _batch(dv, parts)
    assert response.status_code == 400
    assert "maximum number of '1000' query operations" in error_of(response)["message"]
    assert _count(dv, "accounts") == 0


def test_a_reference_before_its_content_id_is_declared_is_400(dv):
    response = _batch(dv, [_change_set("changeset_f", [
        _part("POST", "contacts", {"lastname": "Early", "parentcustomerid_account@odata.bind": "$1"}, content_id="2"),
        _part("POST", "accounts", {"name": "Late"}, content_id="1"),
    ])])
    assert response.status_code == 400
    assert b"Content-ID Reference: '$1' does not exist in the batch context." in response.content
    assert _count(dv, "accounts") == 0


def test_a_batch_is_one_request_for_throttling_and_counts_its_operations(dv):
    dv.handle.configure(throttle={"requests": 2, "window_s": 30})
    parts = [_part("POST", "accounts", {"name": f"n{n}"}) for n in range(5)]
    assert _batch(dv, parts).status_code == 200
    assert _count(dv, "accounts") == 5
    stats = dv.handle.stats()
    assert stats["batch_operations"] == 5
    assert stats["requests_by_entity_set"]["$batch"] == {"POST": 1}


def test_a_malformed_batch_body_is_400(dv):
    response = dv.handle.session.post(dv.url("$batch"), data=b"not multipart", timeout=60,
                                      headers=dv.headers(**{"Content-Type": "multipart/mixed; boundary=b"}))
    assert response.status_code == 400
    assert error_of(response)["message"]
