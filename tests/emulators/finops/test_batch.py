"""`$batch`: atomic change sets that fail inside an outer 200, independent operations, Content-ID references."""

from __future__ import annotations

import json
import re

from tests.emulators.finops.conftest import WRITE_EXCEPTION


def _operation(method: str, url: str, body: dict | None = None, content_id: str | None = None) -> str:
    head = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        head.append(f"Content-ID: {content_id}")
    request = [f"{method} {url} HTTP/1.1", "OData-Version: 4.0", "Accept: application/json"]
    if body is not None:
        request.append("Content-Type: application/json; odata.metadata=minimal")
    return "\r\n".join([*head, "", *request, "", json.dumps(body) if body is not None else ""])


def _batch(fo, *items: str | list[str]) -> tuple:
    parts = []
    for number, item in enumerate(items):
        if isinstance(item, list):
            change_set = f"changeset_{number}"
            inner = "".join(f"--{change_set}\r\n{operation}\r\n" for operation in item)
            parts.append(f"Content-Type: multipart/mixed; boundary={change_set}\r\n\r\n{inner}--{change_set}--")
        else:
            parts.append(item)
    body = "".join(f"--batch_b1\r\n{part}\r\n" for part in parts) + "--batch_b1--\r\n"
    response = fo.handle.session.post(f"{fo.api}$batch", data=body.encode(), headers=fo.headers(**{
        "Content-Type": "multipart/mixed; boundary=batch_b1"}), timeout=60)
    return response, _parts(response.headers.get("Content-Type", ""), response.content.decode())


def _parts(content_type: str, text: str) -> list:
    """The responses in a multipart body: (status, headers, body) tuples, a change set as a nested list."""
    match = re.search(r"boundary=([^;\s]+)", content_type)
    if match is None:
        return []
    found = []
    for chunk in text.split(f"--{match.group(1)}")[1:-1]:
        head, _, rest = chunk.strip("\r\n").partition("\r\n\r\n")
        if "multipart/mixed" in head:
            found.append(_parts(head, rest))
            continue
        status_block, _, body = rest.partition("\r\n\r\n")
        lines = status_block.split("\r\n")
        headers = dict(line.split(": ", 1) for line in head.split("\r\n") + lines[1:] if ": " in line)
        found.append((int(lines[0].split()[1]), headers, json.loads(body) if body.strip() else None))
    return found


def _customer(account: str, group: str = "10") -> dict:
    return {"dataAreaId": "usmf", "CustomerAccount": account, "OrganizationName": account, "CustomerGroupId": group}


def test_change_set_creates_atomically_and_echoes_content_ids(fo):
    response, parts = _batch(fo, [_operation("POST", f"{fo.api}CustomersV3", _customer("B-1"), "1"),
                                  _operation("POST", "CDSSalesQuotationHeaders",
                                             {"SalesQuotationNumber": "Q-1", "RequestingCustomerAccountNumber": "B-1"},
                                             "2")])
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("multipart/mixed; boundary=batchresponse_")
    [change_set] = parts
    assert [(status, headers["Content-ID"]) for status, headers, _ in change_set] == [(201, "1"), (201, "2")]
    assert change_set[0][1]["Location"] == f"{fo.api}CustomersV3(dataAreaId='usmf',CustomerAccount='B-1')"
    assert change_set[1][2]["InvoiceCustomerAccountNumber"] == "B-1"


def test_failing_change_set_answers_200_with_the_inner_500_and_undoes_everything(fo):
    response, parts = _batch(fo, [_operation("POST", "CustomersV3", _customer("B-1"), "1"),
                                  _operation("POST", "CustomersV3", _customer("B-2", group="Local"), "2")])
    assert response.status_code == 200
    [[(status, headers, body)]] = parts
    assert status == 500
    assert headers["Content-ID"] == "2"
    assert headers["Content-Type"] == "application/json; odata.metadata=minimal; charset=utf-8"
    assert body["error"]["message"] == "An error has occurred."
    assert body["error"]["innererror"]["type"] == WRITE_EXCEPTION
    assert "'Local' in field 'Customer group'" in body["error"]["innererror"]["message"]
    assert fo.get("CustomersV3/$count").text == "0"


def test_operations_outside_change_sets_run_independently(fo):
    response, parts = _batch(fo, _operation("POST", "CustomersV3", _customer("B-1")),
                             _operation("POST", "CustomersV3", _customer("B-1")),
                             _operation("GET", "CustomersV3?$select=CustomerAccount"),
                             _operation("DELETE", "CustomersV3(dataAreaId='usmf',CustomerAccount='NOPE')"))
    assert response.status_code == 200
    assert [status for status, _, _ in parts] == [201, 500, 200, 404]
    assert [row["CustomerAccount"] for row in parts[2][2]["value"]] == ["B-1"]


def test_content_id_reference_addresses_the_created_entity(fo):
    _, parts = _batch(fo, [_operation("POST", "CustomersV3", _customer("B-1"), "1"),
                           _operation("PATCH", "$1", {"CreditLimit": 900}, "2")])
    assert [status for status, _, _ in parts[0]] == [201, 204]
    assert fo.get("CustomersV3(dataAreaId='usmf',CustomerAccount='B-1')").json()["CreditLimit"] == 900
    _, parts = _batch(fo, [_operation("PATCH", "$7", {"CreditLimit": 1}, "1")])
    [[(status, _, body)]] = parts
    assert status == 400
    assert "Content-ID Reference: '$7' does not exist" in body["error"]["message"]


def test_get_inside_a_change_set_fails_the_change_set(fo):
    _, parts = _batch(fo, [_operation("POST", "CustomersV3", _customer("B-1"), "1"),
                           _operation("GET", "CustomersV3", None, "2")])
    assert [status for status, _, _ in parts[0]] == [400]
    assert fo.get("CustomersV3/$count").text == "0"


def test_a_batch_is_one_request_for_throttling_and_its_operations_are_counted(fo):
    fo.handle.configure(throttle={"requests": 2, "window_s": 60})
    response, parts = _batch(fo, [_operation("POST", "CustomersV3", _customer(f"B-{n}"), str(n)) for n in range(10)])
    assert response.status_code == 200
    assert len(parts[0]) == 10
    stats = fo.handle.stats()
    assert stats["requests_by_entity_set"]["$batch"] == {"POST": 1}
    assert stats["batch_operations"] == 10
    assert fo.get("CustomersV3/$count").text == "10"


def test_batch_limits_and_format_errors_are_400(fo):
    response, _ = _batch(fo, *[_operation("GET", "LegalEntities") for _ in range(5001)])
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The batch holds 5001 operations; at most 5000 are allowed."
    bad = fo.handle.session.post(f"{fo.api}$batch", data=b"--x\r\n", headers=fo.headers(**{
        "Content-Type": "application/json"}), timeout=10)
    assert bad.status_code == 400
    assert "multipart/mixed" in bad.json()["error"]["message"]


def test_a_batch_is_one_request_whose_every_operation_takes_its_own_time(fo):
    fo.handle.configure(throttle={"requests": 1, "window_s": 300})
    response, parts = _batch(fo, *[[_operation("POST", "CustomersV3", _customer(f"OT-{n}"), "1")] for n in range(3)],
                             _operation("GET", "LegalEntities"))
    assert response.status_code == 200
    assert [part[0][0] for part in parts[:3]] == [201, 201, 201]
    stats = fo.handle.stats()
    assert (stats["operations"], stats["batch_operations"]) == (4, 4)
    assert fo.get("LegalEntities").status_code == 429  # the batch was the one request the window allows
