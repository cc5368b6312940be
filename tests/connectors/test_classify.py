"""Error bodies to error types, for the cases the body changes the answer the status alone would give."""

from __future__ import annotations

import pickle

import pytest

from connectors.classify import classify_dataverse, classify_finops, retry_after_seconds
from connectors.errors import (
    AuthError,
    ChangeTrackingExpiredError,
    ConflictError,
    DuplicateError,
    NotFoundError,
    ThrottledError,
    TransientError,
    ValidationError,
)


def dv(status, code="", message="m", headers=None):
    return classify_dataverse(status, headers or {}, {"error": {"code": code, "message": message}},
                              entity_set="accounts", key={"accountnumber": "A1"})


def fo(status, message="m", inner_type="", outer="An error has occurred."):
    body = {"error": {"code": "", "message": outer, "innererror": {"message": message, "type": inner_type}}}
    return classify_finops(status, {}, body, entity_set="CustomersV3")


@pytest.mark.parametrize(("error", "kind"), [
    (dv(412, "0x80060892", "A record with matching key values already exists."), DuplicateError),
    (dv(412, "", "A record with matching key values already exists."), DuplicateError),
    (dv(412, "", "The version of the existing record doesn't match the RowVersion property provided."),
     ConflictError),
    (dv(412, "0x80060882", "version mismatch"), ConflictError),
    (dv(500, "-2147220937", "Cannot insert duplicate key."), DuplicateError),
    (dv(404, "0x80060891", "A record with the specified key values does not exist"), NotFoundError),
    (dv(400, "0x80044352", "Version stamp associated with the client has expired."), ChangeTrackingExpiredError),
    (dv(400, "0x80044331", "The length of the 'name' attribute exceeded the maximum"), ValidationError),
    (dv(500, "0x80040216", "An unexpected error occurred."), TransientError),
    (dv(503, "", "unavailable"), TransientError),
    (dv(403, "0x80040220", "Principal user is missing prvCreateAccount privilege"), AuthError),
    (dv(429, "0x80072322", "Number of requests exceeded", {"Retry-After": "7"}), ThrottledError),
    (fo(500, "Write failed for table row of type 'CustCustomerV3Entity'. Infolog: Warning: The value 'Local' in "
             "field 'Customer group' is not found", "Microsoft.Dynamics.Platform.Integration.Services.OData."
                                                    "AxODataWriteException"), ValidationError),
    (fo(500, "Write failed for table row of type 'CustCustomerV3Entity'. Infolog: Error: The record already "
             "exists..", "Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException"),
     DuplicateError),
    (fo(500, "", "", outer="An error has occurred."), TransientError),
    (fo(412, "stale"), ConflictError),
    (fo(404, "No resource"), NotFoundError),
    (fo(401, "bad token"), AuthError),
])
def test_body_and_status_together_decide_the_type(error, kind):
    assert type(error) is kind
    assert error.retryable == (kind in (ThrottledError, TransientError))


def test_errors_carry_the_apis_own_message_and_where_it_happened():
    error = fo(500, "Write failed. Infolog: Customer group 'X' not found", "AxODataWriteException")
    assert error.message == "Write failed. Infolog: Customer group 'X' not found"
    assert error.status == 500
    assert error.entity_set == "CustomersV3"
    assert error.permanent
    text = str(dv(412, "0x80060892", "dup"))
    assert "HTTP 412" in text
    assert "0x80060892" in text
    assert "accounts" in text
    assert "A1" in text


def test_throttled_errors_carry_retry_after_in_seconds():
    assert dv(429, headers={"Retry-After": "7"}).retry_after == 7
    assert dv(429).retry_after is None
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None


def test_an_error_without_a_json_body_keeps_its_text():
    error = classify_dataverse(502, {}, "<html>Bad Gateway</html>")
    assert type(error) is TransientError
    assert "Bad Gateway" in error.message


def test_errors_survive_pickling_with_their_details():
    error = dv(429, "0x80072322", "slow down", {"Retry-After": "9"})
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert type(copy) is ThrottledError
    assert (copy.message, copy.status, copy.code, copy.retry_after, copy.key) == (
        "slow down", 429, "0x80072322", 9, {"accountnumber": "A1"})
