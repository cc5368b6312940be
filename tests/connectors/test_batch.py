"""`$batch` against the emulators: every part read, failures attributed, change sets atomic."""

from __future__ import annotations

import dataclasses

import pytest

from connectors import ChangeSet, DuplicateError, NotExecutedError, NotFoundError, ValidationError


def test_dataverse_batch_of_upserts_gives_one_result_per_operation(dataverse, dv):
    operations = [dv.upsert_operation("accounts", {"accountnumber": f"B-{n}"}, {"name": f"Batch {n}"})
                  for n in range(20)]
    outcomes = dv.batch(operations)
    results = [dv.result_of(outcome) for outcome in outcomes]
    assert [result.outcome for result in results] == ["created"] * 20
    assert all(result.key["accountid"] for result in results)
    assert dataverse.stats()["requests"] == 1
    again = [dv.result_of(outcome) for outcome in dv.batch(operations)]
    assert [result.outcome for result in again] == ["updated"] * 20


def _three_with_a_duplicate(dv, position, *, content_ids=False):
    dv.upsert("accounts", {"accountnumber": "TAKEN"}, {"name": "Taken"})
    numbers = ["FIRST", "SECOND", "THIRD"]
    numbers[position] = "TAKEN"
    return [dataclasses.replace(dv.upsert_operation("accounts", {"accountnumber": number}, {"name": number},
                                                    mode="create"), content_id=str(n) if content_ids else None)
            for n, number in enumerate(numbers)]


def test_a_stopped_batch_that_does_not_say_which_part_failed_leaves_every_outcome_open(dv):
    # Without continue-on-error Dataverse stops and answers with the failing response alone: a duplicate in
    # second place looks like one in first place, so no operation is reported as done or as failed for good.
    outcomes = dv.batch(_three_with_a_duplicate(dv, 1))
    assert all(isinstance(outcome.error, NotExecutedError) for outcome in outcomes)
    assert all(outcome.error.retryable for outcome in outcomes)
    assert "already exists" in outcomes[0].error.message
    assert dv.get("accounts", {"accountnumber": "FIRST"})  # it did run
    with pytest.raises(NotFoundError):
        dv.get("accounts", {"accountnumber": "THIRD"})


def test_a_stopped_batch_is_attributed_by_content_id_when_the_parts_carry_one(dv):
    outcomes = dv.batch(_three_with_a_duplicate(dv, 1, content_ids=True))
    assert outcomes[0].ok
    assert outcomes[0].status is None  # it ran; the service sent no response for it
    assert isinstance(outcomes[1].error, DuplicateError)
    assert isinstance(outcomes[2].error, NotExecutedError)
    with pytest.raises(DuplicateError):
        dv.result_of(outcomes[1])
    with pytest.raises(NotFoundError):
        dv.get("accounts", {"accountnumber": "THIRD"})


def test_dataverse_batch_goes_on_after_a_failure_with_continue_on_error(dv):
    outcomes = dv.batch(_three_with_a_duplicate(dv, 1), continue_on_error=True)
    assert [outcome.ok for outcome in outcomes] == [True, False, True]
    assert isinstance(outcomes[1].error, DuplicateError)
    assert dv.get("accounts", {"accountnumber": "THIRD"})


def test_dataverse_change_set_is_all_or_nothing(dv):
    changeset = ChangeSet((
        dv.create_operation("accounts", {"name": "In a change set", "accountnumber": "CS-1"}),
        dv.create_operation("accounts", {"name": "Broken", "no_such_column": 1}),
    ))
    outcomes = dv.batch([changeset])
    assert isinstance(outcomes[1].error, ValidationError)
    assert not outcomes[0].ok
    with pytest.raises(NotFoundError):
        dv.get("accounts", {"accountnumber": "CS-1"})


def test_finops_batch_answers_200_with_an_inner_500_for_a_failed_change_set(finops, fo):
    good = fo.create_operation("CustomersV3", {"CustomerAccount": "FB-1", "OrganizationName": "Good",
                                               "CustomerGroupId": "10"}, key_fields=("dataAreaId", "CustomerAccount"))
    bad = fo.create_operation("CustomersV3", {"CustomerAccount": "FB-2", "OrganizationName": "Bad",
                                              "CustomerGroupId": "NO-SUCH"})
    alone = fo.create_operation("CustomersV3", {"CustomerAccount": "FB-3", "OrganizationName": "Alone",
                                                "CustomerGroupId": "10"}, key_fields=("dataAreaId", "CustomerAccount"))
    outcomes = fo.batch([ChangeSet((good, bad)), alone])
    assert not outcomes[0].ok
    assert isinstance(outcomes[1].error, ValidationError)
    assert outcomes[1].status == 500
    assert "Infolog" in outcomes[1].error.message
    created = fo.result_of(outcomes[2])
    assert created.outcome == "created"
    assert created.attributes["PartyNumber"]
    with pytest.raises(NotFoundError):
        fo.get("CustomersV3", {"dataAreaId": "usmf", "CustomerAccount": "FB-1"})


def test_batch_size_is_checked_before_sending(dataverse, dv):
    operations = [dv.create_operation("accounts", {"name": str(n)}) for n in range(1001)]
    with pytest.raises(ValidationError, match="at most 1000"):
        dv.batch(operations)
    assert dataverse.stats()["requests"] == 0
