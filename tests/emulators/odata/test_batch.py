from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.emulators.odata.batch import (
    BatchFormatError,
    BatchOperation,
    ChangeSet,
    OperationResult,
    parse_batch,
    render_batch_response,
    resolve_content_id_reference,
)
from connectors.emulators.odata.errors import ODataQueryError

API = "https://org.crm.dynamics.com/api/data/v9.2"


def crlf(*lines: str) -> bytes:
    return "\r\n".join(lines).encode()


# A change set that creates an account and then updates it through its Content-ID, then a GET outside it.
DATAVERSE_BATCH = crlf(
    "--batch_7f3e",
    "Content-Type: multipart/mixed; boundary=changeset_a91c",
    "",
    "--changeset_a91c",
    "Content-Type: application/http",
    "Content-Transfer-Encoding:binary",
    "Content-ID: 1",
    "",
    f"POST {API}/accounts HTTP/1.1",
    "Content-Type: application/json; type=entry",
    "",
    '{"name":"Batch account","accountnumber":"B-1"}',
    "--changeset_a91c",
    "Content-Type: application/http",
    "Content-Transfer-Encoding:binary",
    "Content-ID: 2",
    "",
    "PATCH $1 HTTP/1.1",
    "Content-Type: application/json; type=entry",
    "If-Match: *",
    "",
    '{"telephone1":"+1 555 0100"}',
    "--changeset_a91c--",
    "",
    "--batch_7f3e",
    "Content-Type: application/http",
    "Content-Transfer-Encoding:binary",
    "",
    f"GET {API}/accounts?$select=name&$filter=accountnumber%20eq%20'B-1' HTTP/1.1",
    "Accept: application/json",
    "",
    "--batch_7f3e--",
    "",
)


def test_a_dataverse_batch_with_a_change_set_is_read_field_by_field():
    items = parse_batch('multipart/mixed; boundary="batch_7f3e"', DATAVERSE_BATCH)
    assert items == [
        ChangeSet([
            BatchOperation(
                method="POST",
                url=f"{API}/accounts",
                headers={"content-type": "application/json; type=entry"},
                body=b'{"name":"Batch account","accountnumber":"B-1"}',
                content_id="1",
            ),
            BatchOperation(
                method="PATCH",
                url="$1",
                headers={"content-type": "application/json; type=entry", "if-match": "*"},
                body=b'{"telephone1":"+1 555 0100"}',
                content_id="2",
            ),
        ]),
        BatchOperation(
            method="GET",
            url=f"{API}/accounts?$select=name&$filter=accountnumber%20eq%20'B-1'",
            headers={"accept": "application/json"},
            body=b"",
            content_id=None,
        ),
    ]


# F&O style: unquoted boundary, LF line endings, a preamble and an epilogue, no final line break, Content-ID on
# the inner request, DELETE without a body.
FINOPS_BATCH = "\n".join([
    "This preamble is ignored.",
    "--batch_c0ffee",
    "Content-Type: multipart/mixed; boundary=changeset_beef",
    "",
    "--changeset_beef",
    "Content-Type: application/http",
    "Content-Transfer-Encoding: binary",
    "",
    "POST https://env.operations.dynamics.com/data/CustomersV3?cross-company=true HTTP/1.1",
    "Content-ID: 10",
    "Content-Type: application/json",
    "OData-Version: 4.0",
    "",
    '{"dataAreaId":"usmf","CustomerAccount":"US-900","CustomerGroupId":"10"}',
    "--changeset_beef",
    "Content-Type: application/http",
    "",
    "DELETE https://env.operations.dynamics.com/data/CustomersV3(dataAreaId='usmf',CustomerAccount='US-901') HTTP/1.1",
    "--changeset_beef--",
    "--batch_c0ffee--",
    "This epilogue is ignored too.",
]).encode()


def test_a_finops_batch_with_lf_endings_preamble_and_epilogue_is_read():
    [change_set] = parse_batch("multipart/mixed;boundary=batch_c0ffee", FINOPS_BATCH)
    create, delete = change_set.operations
    assert create == BatchOperation(
        "POST",
        "https://env.operations.dynamics.com/data/CustomersV3?cross-company=true",
        {"content-id": "10", "content-type": "application/json", "odata-version": "4.0"},
        b'{"dataAreaId":"usmf","CustomerAccount":"US-900","CustomerGroupId":"10"}',
        "10",
    )
    assert delete == BatchOperation(
        "DELETE", "https://env.operations.dynamics.com/data/CustomersV3(dataAreaId='usmf',CustomerAccount='US-901')",
        {}, b"", None,
    )


def test_missing_final_line_break_after_the_close_delimiter_is_fine():
    body = crlf("--b", "Content-Type: application/http", "", "GET /api/data/v9.2/accounts HTTP/1.1", "--b--")
    [operation] = parse_batch("multipart/mixed; boundary=b", body)
    assert (operation.method, operation.url, operation.body) == ("GET", "/api/data/v9.2/accounts", b"")


def test_binary_bodies_keep_every_byte_including_lone_cr_and_dashes():
    body = b"line1\r\nline2\nline3\r--b not a delimiter\r\n--bb\r\n-- b\r\n\x00\xff"
    request = crlf("--b", "Content-Type: application/http", "", "PUT /x HTTP/1.1", "", "").rstrip(b"\r\n")
    request += b"\r\n\r\n" + body + b"\r\n--b--\r\n"
    [operation] = parse_batch("multipart/mixed; boundary=b", request)
    assert operation.body == body


def test_a_blank_line_before_the_delimiter_stays_in_the_body_unless_content_length_cuts_it():
    part = ["--b", "Content-Type: application/http", "", "POST /accounts HTTP/1.1"]
    loose = crlf(*part, "", '{"a":1}', "", "--b--")
    assert parse_batch("multipart/mixed; boundary=b", loose)[0].body == b'{"a":1}\r\n'
    measured = crlf(*part, "Content-Length: 7", "", '{"a":1}', "", "--b--")
    assert parse_batch("multipart/mixed; boundary=b", measured)[0].body == b'{"a":1}'


def test_header_names_are_lowercased_repeats_joined_and_folded_lines_continued():
    body = crlf(
        "--b", "Content-Type: application/http", "",
        "GET /accounts HTTP/1.1", "Prefer: odata.maxpagesize=10", "PREFER: odata.track-changes",
        "X-Long: first", "\tsecond", "", "--b--",
    )
    [operation] = parse_batch("multipart/mixed; boundary=b", body)
    assert operation.headers == {"prefer": "odata.maxpagesize=10, odata.track-changes", "x-long": "first second"}


def test_part_content_id_wins_over_the_inner_one():
    body = crlf("--b", "Content-Type: application/http", "Content-ID: 5", "", "POST /a HTTP/1.1", "Content-ID: 6",
                "", "{}", "--b--")
    assert parse_batch("multipart/mixed; boundary=b", body)[0].content_id == "5"


def test_boundary_parameter_may_be_quoted_and_its_name_in_any_case():
    body = crlf("--batch 1", "Content-Type: application/http", "", "GET /a HTTP/1.1", "--batch 1--")
    assert parse_batch('Multipart/Mixed; charset=utf-8; BOUNDARY="batch 1"', body)[0].url == "/a"


# -- errors -----------------------------------------------------------------------------------------------------

GET_PART = ("Content-Type: application/http", "", "GET /accounts HTTP/1.1")


def fails(content_type: str, body: bytes) -> str:
    with pytest.raises(BatchFormatError) as caught:
        parse_batch(content_type, body)
    assert isinstance(caught.value, ODataQueryError)
    return caught.value.message


def test_the_content_type_must_be_multipart_mixed_with_a_valid_boundary():
    body = crlf("--b", *GET_PART, "--b--")
    assert fails("application/json", body) == (
        "Batch: the Content-Type must be multipart/mixed; got 'application/json'."
    )
    assert fails("multipart/mixed", body) == (
        "Batch: the Content-Type has no boundary parameter: 'multipart/mixed'."
    )
    assert fails("multipart/mixed; boundary=", body) == "Batch: the boundary '' is not a valid multipart boundary."
    long = "x" * 71
    assert fails(f"multipart/mixed; boundary={long}", body) == (
        f"Batch: the boundary '{long}' is not a valid multipart boundary."
    )
    assert fails('multipart/mixed; boundary="a{b}"', body) == (
        "Batch: the boundary 'a{b}' is not a valid multipart boundary."
    )


def test_a_body_without_the_boundary_or_its_close_is_rejected():
    assert fails("multipart/mixed; boundary=b", crlf("--other", *GET_PART, "--other--")) == (
        "Batch: no line is '--b', so there is no part."
    )
    assert fails("multipart/mixed; boundary=b", b"") == "Batch: no line is '--b', so there is no part."
    assert fails("multipart/mixed; boundary=b", crlf("--b", *GET_PART)) == "Batch: the body does not end with '--b--'."


def test_an_empty_batch_is_rejected():
    assert fails("multipart/mixed; boundary=b", crlf("--b--", "")) == "Batch: there are no parts."


def test_a_part_that_is_not_application_http_is_rejected():
    body = crlf("--b", "Content-Type: application/json", "", "{}", "--b--")
    assert fails("multipart/mixed; boundary=b", body) == (
        "Batch part 1: the Content-Type is 'application/json'; expected application/http."
    )
    body = crlf("--b", "", "GET /a HTTP/1.1", "--b--")
    assert fails("multipart/mixed; boundary=b", body) == (
        "Batch part 1: the Content-Type is ''; expected application/http."
    )


def test_a_transfer_encoding_other_than_binary_is_rejected():
    body = crlf("--b", "Content-Type: application/http", "Content-Transfer-Encoding: base64", "", "R0VU", "--b--")
    assert fails("multipart/mixed; boundary=b", body) == (
        "Batch part 1: Content-Transfer-Encoding 'base64' is not supported; use binary."
    )


@pytest.mark.parametrize(
    "line", ["GET /accounts", "GET /accounts HTTP/2", "get /accounts HTTP/1.1", "GET  /accounts HTTP/1.1", "{}"]
)
def test_a_malformed_request_line_is_rejected(line):
    body = crlf("--b", "Content-Type: application/http", "", line, "--b--")
    assert fails("multipart/mixed; boundary=b", body) == (
        f"Batch part 1: '{line}' is not a request line (METHOD URL HTTP/1.1)."
    )


def test_a_part_without_a_request_is_rejected():
    body = crlf("--b", "Content-Type: application/http", "", "", "--b--")
    assert fails("multipart/mixed; boundary=b", body) == "Batch part 1: the request line is missing."


def test_a_malformed_header_line_is_rejected():
    body = crlf("--b", *GET_PART, "Accept application/json", "", "--b--")
    assert fails("multipart/mixed; boundary=b", body) == (
        "Batch part 1: 'Accept application/json' is not a header line."
    )


def test_a_part_without_the_blank_line_before_its_request_is_rejected():
    body = crlf("--b", "Content-Type: application/http", f"GET {API}/accounts HTTP/1.1", "", "--b--")
    assert fails("multipart/mixed; boundary=b", body) == (
        f"Batch part 1: 'GET {API}/accounts HTTP/1.1' is not a header line."
    )


def test_a_body_shorter_than_its_content_length_is_rejected():
    body = crlf("--b", *GET_PART, "Content-Length: 10", "", "{}", "--b--")
    assert fails("multipart/mixed; boundary=b", body) == (
        "Batch part 1: the body is shorter than its Content-Length (2 < 10)."
    )


def test_a_change_set_inside_a_change_set_is_rejected():
    body = crlf(
        "--b", "Content-Type: multipart/mixed; boundary=cs1", "",
        "--cs1", "Content-Type: multipart/mixed; boundary=cs2", "",
        "--cs2", *GET_PART, "--cs2--",
        "--cs1--", "--b--",
    )
    assert fails("multipart/mixed; boundary=b", body) == (
        "Batch part 1, change set part 1: a change set cannot contain another change set."
    )


def test_change_set_errors_name_the_part():
    empty = crlf("--b", "Content-Type: multipart/mixed; boundary=cs", "", "--cs--", "--b--")
    assert fails("multipart/mixed; boundary=b", empty) == "Batch part 1 (a change set): there are no parts."
    no_boundary = crlf("--b", "Content-Type: multipart/mixed", "", "--cs--", "--b--")
    assert fails("multipart/mixed; boundary=b", no_boundary) == (
        "Batch part 1 (a change set): the Content-Type has no boundary parameter: 'multipart/mixed'."
    )
    bad_line = crlf("--b", *GET_PART, "--b", "Content-Type: multipart/mixed; boundary=cs", "",
                    "--cs", "Content-Type: application/http", "", "POST", "--cs--", "--b--")
    assert fails("multipart/mixed; boundary=b", bad_line) == (
        "Batch part 2, change set part 1: 'POST' is not a request line (METHOD URL HTTP/1.1)."
    )


def test_a_content_id_used_twice_in_a_change_set_is_rejected():
    part = ("--cs", "Content-Type: application/http", "Content-ID: 1", "", "POST /accounts HTTP/1.1", "", "{}")
    body = crlf("--b", "Content-Type: multipart/mixed; boundary=cs", "", *part, *part, "--cs--", "--b--")
    assert fails("multipart/mixed; boundary=b", body) == (
        "Batch part 1, change set part 2: Content-ID '1' is used twice in the change set."
    )


# -- Content-ID references ------------------------------------------------------------------------------------


def test_a_reference_is_replaced_by_the_created_entity_url():
    created = {"1": f"{API}/accounts(00000000-0000-0000-0000-000000000001)", "12": f"{API}/contacts(abc)"}
    assert resolve_content_id_reference("$1", created) == created["1"]
    assert resolve_content_id_reference("$1/primarycontactid/$ref", created) == created["1"] + "/primarycontactid/$ref"
    assert resolve_content_id_reference("$12?$select=fullname", created) == created["12"] + "?$select=fullname"


def test_anything_that_is_not_a_leading_reference_is_unchanged():
    created = {"1": "x"}
    for value in (f"{API}/accounts", "/accounts($1)", "$metadata", "$batch", "accounts", "", "$1x"):
        if value == "$1x":
            with pytest.raises(ODataQueryError):
                resolve_content_id_reference(value, created)
        else:
            assert resolve_content_id_reference(value, created) == value


def test_a_reference_to_an_undeclared_content_id_is_rejected():
    with pytest.raises(ODataQueryError) as caught:
        resolve_content_id_reference("$2", {"1": "x"})
    assert caught.value.message == "Content-ID Reference: '$2' does not exist in the batch context."


# -- rendering responses ----------------------------------------------------------------------------------------


def parse_response(content_type: str, body: bytes) -> list:
    """Test-only reader of a multipart response: a change set becomes a list; CRLF is required throughout."""
    boundary = re.fullmatch(r"multipart/mixed; boundary=(\S+)", content_type).group(1).encode()
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary)
    assert chunks[0] == b""
    assert chunks[-1] in (b"--", b"--\r\n")  # a nested change set's close is followed by the outer delimiter
    items = []
    for chunk in chunks[1:-1]:
        assert chunk.startswith(b"\r\n")
        head, _, rest = chunk[2:].partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        if headers["Content-Type"].startswith("multipart/mixed"):
            items.append(parse_response(headers["Content-Type"], rest))
            continue
        assert headers["Content-Transfer-Encoding"] == "binary"
        assert headers["Content-Type"] == "application/http"
        status_block, _, payload = rest.partition(b"\r\n\r\n")
        status_line, *header_lines = status_block.decode().split("\r\n")
        version, status, reason = status_line.split(" ", 2)
        assert version == "HTTP/1.1"
        items.append({
            "status": int(status),
            "reason": reason,
            "headers": [tuple(line.split(": ", 1)) for line in header_lines],
            "body": payload,
            "content_id": headers.get("Content-ID"),
        })
    return items


def test_a_response_renders_parts_and_change_sets_that_parse_back():
    entity = f"{API}/accounts(00000000-0000-0000-0000-000000000001)"
    content_type, body = render_batch_response([
        [
            OperationResult(204, [("Location", entity), ("OData-EntityId", entity)], b"", "1"),
            OperationResult(204, [("OData-Version", "4.0")], b"", "2"),
        ],
        OperationResult(200, [("Content-Type", "application/json; odata.metadata=minimal")], b'{"value":[]}'),
        OperationResult(412, [("Content-Type", "application/json")], b'{"error":{"code":"","message":"x"}}'),
    ])
    assert re.fullmatch(r"multipart/mixed; boundary=batchresponse_[0-9a-f-]{36}", content_type)
    assert b"\n" not in body.replace(b"\r\n", b"")
    change_set_type = re.search(rb"Content-Type: (multipart/mixed; boundary=changesetresponse_[0-9a-f-]{36})\r\n", body)
    assert change_set_type is not None
    assert parse_response(content_type, body) == [
        [
            {"status": 204, "reason": "No Content", "headers": [("Location", entity), ("OData-EntityId", entity)],
             "body": b"", "content_id": "1"},
            {"status": 204, "reason": "No Content", "headers": [("OData-Version", "4.0")], "body": b"",
             "content_id": "2"},
        ],
        {"status": 200, "reason": "OK", "headers": [("Content-Type", "application/json; odata.metadata=minimal")],
         "body": b'{"value":[]}', "content_id": None},
        {"status": 412, "reason": "Precondition Failed", "headers": [("Content-Type", "application/json")],
         "body": b'{"error":{"code":"","message":"x"}}', "content_id": None},
    ]


def test_each_response_gets_fresh_boundaries_unlike_the_request():
    first, body = render_batch_response([[OperationResult(204)]])
    second, _ = render_batch_response([[OperationResult(204)]])
    assert first != second
    assert b"batch_7f3e" not in body
    assert b"changeset_a91c" not in body


def test_reason_phrases_follow_the_status():
    statuses = [OperationResult(429), OperationResult(500), OperationResult(599)]
    assert [item["reason"] for item in parse_response(*render_batch_response(statuses))] == [
        "Too Many Requests", "Internal Server Error", "Unknown"
    ]


def test_a_header_with_a_line_break_is_refused():
    with pytest.raises(ValueError, match="line break"):
        render_batch_response([OperationResult(200, [("X-Evil", "a\r\nInjected: 1")])])


def test_an_empty_response_is_only_the_close_delimiter():
    content_type, body = render_batch_response([])
    assert body == f"--{content_type.split('=')[1]}--\r\n".encode()


# -- round trips --------------------------------------------------------------------------------------------------


def build_request(items: list, boundary: str) -> bytes:
    """Test-only writer of a batch request, as a client would build one."""
    out = b""
    for item in items:
        out += f"--{boundary}\r\n".encode()
        if isinstance(item, ChangeSet):
            inner = f"changeset_{boundary}"
            out += f"Content-Type: multipart/mixed; boundary={inner}\r\n\r\n".encode()
            out += build_request(item.operations, inner)
            out += b"\r\n"
        else:
            out += _request_part(item) + b"\r\n"
    return out + f"--{boundary}--".encode()


def _request_part(operation: BatchOperation) -> bytes:
    head = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if operation.content_id is not None:
        head.append(f"Content-ID: {operation.content_id}")
    head += ["", f"{operation.method} {operation.url} HTTP/1.1"]
    head += [f"{name}: {value}" for name, value in operation.headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + operation.body


HEADER_NAMES = st.sampled_from(["content-type", "if-match", "prefer", "accept", "odata-version", "x-custom"])
HEADER_VALUES = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20)
OPERATIONS = st.builds(
    BatchOperation,
    method=st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE"]),
    url=st.one_of(
        st.just("$1"),
        st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40).map(lambda s: "/" + s),
    ),
    headers=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=4),
    body=st.binary(max_size=200),
    content_id=st.one_of(st.none(), st.integers(1, 999).map(str)),
)
CHANGE_SETS = st.lists(OPERATIONS, min_size=1, max_size=4, unique_by=lambda op: op.content_id or id(op)).map(ChangeSet)


@given(st.lists(st.one_of(OPERATIONS, CHANGE_SETS), min_size=1, max_size=5))
def test_any_request_a_client_builds_parses_back_unchanged(items):
    body = build_request(items, "batch_2d4e6f")
    assert parse_batch("multipart/mixed; boundary=batch_2d4e6f", body) == items


@given(st.lists(st.builds(OperationResult, status=st.sampled_from([200, 201, 204, 400, 404, 412, 429, 500]),
                          headers=st.lists(st.tuples(st.sampled_from(["Location", "ETag", "X-A"]), HEADER_VALUES),
                                           max_size=3),
                          body=st.binary(max_size=100), content_id=st.one_of(st.none(), st.just("7"))),
                min_size=1, max_size=4))
def test_any_response_renders_and_reads_back(results):
    content_type, body = render_batch_response([results, *results])
    change_set, *parts = parse_response(content_type, body)
    for expected, got in zip([*results, *results], [*change_set, *parts], strict=True):
        assert (got["status"], got["headers"], got["body"], got["content_id"]) == (
            expected.status, expected.headers, expected.body, expected.content_id)
