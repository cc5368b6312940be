"""Each error type, raised from a real emulator response, with the API's own message and a retry verdict."""

from __future__ import annotations

import pytest

from connectors import (
    AuthError,
    ChangeTrackingExpiredError,
    ConflictError,
    DataverseClient,
    DuplicateError,
    FinOpsClient,
    NotFoundError,
    ThrottledError,
    TransientError,
    ValidationError,
)


def test_throttled_carries_retry_after(dataverse, finops, dv_config, fo_config):
    for handle, client, entity_set in ((dataverse, DataverseClient(dv_config(max_retries=0)), "accounts"),
                                       (finops, FinOpsClient(fo_config(max_retries=0)), "CustomersV3")):
        handle.configure(throttle={"requests": 1, "window_s": 5})
        next(client.pages(entity_set))
        with pytest.raises(ThrottledError) as caught:
            next(client.pages(entity_set))
        assert caught.value.status == 429
        assert caught.value.retry_after >= 1
        assert caught.value.retryable
        assert "limit of 1" in caught.value.message


def test_transient_for_503_and_for_a_500_without_a_validation_body(dataverse, finops, dv_config, fo_config):
    dataverse.configure(unavailable_rate=1.0)
    with pytest.raises(TransientError) as unavailable:
        next(DataverseClient(dv_config(max_retries=0)).pages("accounts"))
    assert unavailable.value.status == 503
    finops.configure(fault_rate=1.0)
    with pytest.raises(TransientError) as fault:
        next(FinOpsClient(fo_config(max_retries=0)).pages("CustomersV3"))
    assert fault.value.status == 500
    assert fault.value.retryable


def test_not_found(dv, fo):
    with pytest.raises(NotFoundError) as dataverse_missing:
        dv.get("accounts", {"accountnumber": "NOPE"})
    assert dataverse_missing.value.status == 404
    with pytest.raises(NotFoundError) as finops_missing:
        fo.get("CustomersV3", {"dataAreaId": "usmf", "CustomerAccount": "NOPE"})
    assert finops_missing.value.permanent


def test_duplicate_is_not_a_conflict_on_dataverse(dv):
    dv.upsert("accounts", {"accountnumber": "DUP-1"}, {"name": "a"})
    with pytest.raises(DuplicateError) as caught:
        dv.upsert("accounts", {"accountnumber": "DUP-1"}, {"name": "b"}, mode="create")
    assert caught.value.status == 412
    assert caught.value.permanent


def test_stale_etag_is_a_conflict_on_both(dv, fo):
    first = dv.upsert("accounts", {"accountnumber": "STALE-1"}, {"name": "a"})
    dv.upsert("accounts", {"accountnumber": "STALE-1"}, {"name": "b"})
    with pytest.raises(ConflictError) as dataverse_stale:
        dv.upsert("accounts", {"accountnumber": "STALE-1"}, {"name": "c"}, etag=first.etag)
    assert dataverse_stale.value.status == 412
    key = {"dataAreaId": "usmf", "CustomerAccount": "STALE-1"}
    created = fo.upsert("CustomersV3", key, {"OrganizationName": "a", "CustomerGroupId": "10"}, exists=False)
    fo.upsert("CustomersV3", key, {"OrganizationName": "b"})
    with pytest.raises(ConflictError):
        fo.upsert("CustomersV3", key, {"OrganizationName": "c"}, etag=created.etag)


def test_finops_duplicate_create_is_a_500_that_is_not_retried(finops, fo):
    key = {"dataAreaId": "usmf", "CustomerAccount": "DUP-2"}
    body = {"OrganizationName": "a", "CustomerGroupId": "10"}
    fo.upsert("CustomersV3", key, body, exists=False)
    finops.control("DELETE", "stats")
    with pytest.raises(DuplicateError) as caught:
        fo.write(fo.create_operation("CustomersV3", {**body, **key}))
    assert caught.value.status == 500
    assert "already exists" in caught.value.message
    assert finops.stats()["requests"] == 1


def test_finops_validation_500_carries_the_infolog_and_is_not_retried(finops, fo):
    with pytest.raises(ValidationError) as caught:
        fo.upsert("CustomersV3", {"CustomerAccount": "BADGROUP"}, {"OrganizationName": "x",
                                                                   "CustomerGroupId": "NO-SUCH"}, exists=False)
    assert caught.value.status == 500
    assert "Infolog" in caught.value.message
    assert "An error has occurred" not in caught.value.message  # the innererror text, not the outer one
    assert finops.stats()["requests"] == 1


def test_dataverse_validation_carries_the_message(dv):
    with pytest.raises(ValidationError) as caught:
        dv.upsert("accounts", {"accountnumber": "BAD-FIELD"}, {"no_such_column": 1})
    assert caught.value.status == 400
    assert "no_such_column" in caught.value.message


def test_auth_error_when_the_app_user_has_no_token(dataverse, dv_config):
    with pytest.raises(AuthError):
        next(DataverseClient(dv_config(client_secret="nope")).pages("accounts"))


def test_change_tracking_expired(dataverse, dv):
    read = dv.delta_changes("accounts", select=["name"])
    list(read)
    link, _, _ = read.cursor.partition("$deltatoken=")
    stale = f"{link}$deltatoken=1000%2101%2f01%2f2020%2000%3a00%3a00"  # a version stamped years ago
    with pytest.raises(ChangeTrackingExpiredError):
        list(dv.delta_changes("accounts", select=["name"], cursor=stale))
