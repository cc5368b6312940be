"""The multipart/mixed `$batch` format on its own: what we send, and how any answer maps back to operations."""

from __future__ import annotations

import json

import pytest

from connectors.batch import ChangeSet, Operation, decode_batch, encode_batch, match_outcomes
from connectors.classify import classify_dataverse, classify_finops
from connectors.errors import NotExecutedError, TransientError, ValidationError

API = "https://org.example/api/data/v9.2/"


def op(method, path, body=None, **kw):
    return Operation(method, API + path, body, **kw)


def response_part(status_line, headers=(), body="", content_id=None):
    mime = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        mime.append(f"Content-ID: {content_id}")
    return "\r\n".join([*mime, "", status_line, *headers, "", body])


def multipart(boundary, parts):
    lines = []
    for part in parts:
        lines += [f"--{boundary}", part]
    lines.append(f"--{boundary}--")
    return "\r\n".join(lines) + "\r\n"


def test_encoding_gives_change_set_operations_content_ids_and_fresh_boundaries():
    parts = [op("GET", "accounts?$top=1"),
             ChangeSet((op("POST", "accounts", {"name": "Ünïcode"}), op("PATCH", "$1", {"name": "b"},
                                                                           content_id="7")))]
    content_type, body, sent = encode_batch(parts)
    text = body.decode()
    boundary = content_type.split("boundary=")[1]
    assert content_type.startswith("multipart/mixed; boundary=batch_")
    assert text.startswith(f"--{boundary}\r\n")
    assert text.endswith(f"--{boundary}--\r\n")
    assert "GET https://org.example/api/data/v9.2/accounts?$top=1 HTTP/1.1" in text
    assert "Content-ID: 1\r\n" in text
    assert "Content-ID: 7\r\n" in text
    assert '{"name":"Ünïcode"}' in text
    assert "Content-Type: application/json; type=entry" in text
    assert [o.content_id for o in sent[1].operations] == ["1", "7"]
    assert encode_batch(parts)[0] != content_type  # a new boundary every time
    with pytest.raises(ValueError, match="GET"):
        ChangeSet((op("GET", "accounts"),))


def test_decoding_reads_nested_change_sets_and_bodies():
    changeset = multipart("changesetresponse_x", [
        response_part("HTTP/1.1 204 No Content", ["OData-EntityId: " + API + "accounts(1)"], content_id="1"),
        response_part("HTTP/1.1 201 Created", ["Content-Type: application/json"], json.dumps({"a": 1}),
                      content_id="2"),
    ])
    body = multipart("batchresponse_y", [
        "Content-Type: multipart/mixed; boundary=changesetresponse_x\r\n\r\n" + changeset,
        response_part("HTTP/1.1 200 OK", ["Content-Type: application/json"], json.dumps({"value": []})),
    ])
    decoded = decode_batch("multipart/mixed; boundary=batchresponse_y", body.encode())
    assert [r.status for r in decoded[0]] == [204, 201]
    assert [r.content_id for r in decoded[0]] == ["1", "2"]
    assert decoded[0][0].headers["odata-entityid"].endswith("accounts(1)")
    assert decoded[0][1].body == {"a": 1}
    assert decoded[1].body == {"value": []}


def test_a_batch_that_stopped_at_a_failure_leaves_the_rest_not_run():
    parts = [op("POST", "accounts", {"n": 1}), op("POST", "accounts", {"n": 2}), op("POST", "accounts", {"n": 3})]
    error = json.dumps({"error": {"code": "0x80044331", "message": "too long"}})
    body = multipart("b", [response_part("HTTP/1.1 204 No Content"),
                           response_part("HTTP/1.1 400 Bad Request", ["Content-Type: application/json"], error)])
    decoded = decode_batch("multipart/mixed; boundary=b", body.encode())
    outcomes = match_outcomes(parts, decoded, classify_dataverse, stopped=True)
    assert [o.status for o in outcomes] == [204, 400, None]
    assert outcomes[0].ok
    assert isinstance(outcomes[1].error, ValidationError)
    assert outcomes[1].error.message == "too long"
    assert isinstance(outcomes[2].error, NotExecutedError)
    assert outcomes[2].error.retryable


def test_a_failed_change_set_blames_its_operation_and_rolls_back_the_others():
    parts = [ChangeSet((op("POST", "a", {}), op("POST", "b", {}), op("POST", "c", {})))]
    _, _, sent = encode_batch(parts)
    error = json.dumps({"error": {"code": "", "message": "bad b"}})
    body = multipart("b", [response_part("HTTP/1.1 400 Bad Request", ["Content-Type: application/json"], error,
                                         content_id="2")])
    outcomes = match_outcomes(sent, decode_batch("multipart/mixed; boundary=b", body.encode()), classify_dataverse)
    assert [type(o.error) for o in outcomes] == [NotExecutedError, ValidationError, NotExecutedError]
    assert outcomes[1].error.message == "bad b"


def test_a_change_set_failure_that_names_no_operation_belongs_to_all_of_them():
    parts = [ChangeSet((op("POST", "a", {}), op("POST", "b", {})))]
    _, _, sent = encode_batch(parts)
    error = json.dumps({"error": {"code": "", "message": "An error has occurred.", "innererror": {
        "message": "Write failed. Infolog: the value is not found", "type": "AxODataWriteException"}}})
    inner = multipart("cs", [response_part("HTTP/1.1 500 Internal Server Error",
                                           ["Content-Type: application/json"], error)])
    body = multipart("b", ["Content-Type: multipart/mixed; boundary=cs\r\n\r\n" + inner])
    outcomes = match_outcomes(sent, decode_batch("multipart/mixed; boundary=b", body.encode()), classify_finops)
    assert all(isinstance(o.error, ValidationError) for o in outcomes)
    assert outcomes[0].error.message.startswith("Write failed. Infolog")


def test_bare_newlines_and_quoted_boundaries_are_read_too():
    body = "--q\nContent-Type: application/http\n\nHTTP/1.1 503 Service Unavailable\n\n--q--\n"
    decoded = decode_batch('multipart/mixed; boundary="q"', body.encode())
    outcome = match_outcomes([op("GET", "x")], decoded, classify_dataverse)[0]
    assert outcome.status == 503
    assert isinstance(outcome.error, TransientError)


def test_a_lone_failure_from_a_stopped_batch_is_attributed_only_when_it_can_be():
    parts = [op("POST", "a", {}), op("POST", "b", {})]
    error = json.dumps({"error": {"code": "0x80060892", "message": "duplicate"}})
    body = multipart("b", [response_part("HTTP/1.1 412 Precondition Failed", ["Content-Type: application/json"],
                                         error)]).encode()
    unknown = match_outcomes(parts, decode_batch("multipart/mixed; boundary=b", body), classify_dataverse,
                             stopped=True)
    assert [type(o.error) for o in unknown] == [NotExecutedError, NotExecutedError]
    assert "duplicate" in unknown[0].error.message
    single = match_outcomes(parts[:1], decode_batch("multipart/mixed; boundary=b", body), classify_dataverse,
                            stopped=True)
    assert single[0].status == 412
