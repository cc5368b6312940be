"""Reading a RemoteExecutionContext into the Web API's shape (pure)."""

from __future__ import annotations

import pytest

from integration.webhook_context import ContextInvalid, entity_set_name, parse_context, parse_date, web_api_fields
from tests.webhooks import contexts


@pytest.mark.parametrize(("logical", "entity_set"), [
    ("account", "accounts"), ("contact", "contacts"), ("quote", "quotes"), ("quotedetail", "quotedetails"),
    ("salesorder", "salesorders"), ("opportunity", "opportunities"), ("transactioncurrency", "transactioncurrencies"),
    ("customeraddress", "customeraddresses"), ("Account", "accounts"),
])
def test_entity_set_names_are_the_web_apis_plurals(logical, entity_set):
    assert entity_set_name(logical) == entity_set


@pytest.mark.parametrize(("text", "iso"), [
    ("/Date(1506409448000-0700)/", "2017-09-26T07:04:08Z"),  # the milliseconds are UTC; the offset informs
    ("/Date(1714557600000)/", "2024-05-01T10:00:00Z"),
    ("/Date(-86400000)/", "1969-12-31T00:00:00Z"),
    ("Date(1)", None),
    ("2024-05-01", None),
])
def test_sdk_dates_become_iso_utc(text, iso):
    assert parse_date(text) == iso


def test_values_take_the_web_api_shape():
    assert web_api_fields("parentcustomerid", contexts.reference("account", "a-1", "Fabrikam")) == {
        "_parentcustomerid_value": "a-1",
        "_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "account",
        "_parentcustomerid_value@OData.Community.Display.V1.FormattedValue": "Fabrikam",
    }
    assert web_api_fields("statecode", contexts.option(1)) == {"statecode": 1}
    assert web_api_fields("creditlimit", contexts.money(12.5)) == {"creditlimit": 12.5}
    assert web_api_fields("createdon", "/Date(0)/") == {"createdon": "1970-01-01T00:00:00Z"}
    assert web_api_fields("name", "Fabrikam") == {"name": "Fabrikam"}
    assert web_api_fields("telephone1", None) == {"telephone1": None}
    assert web_api_fields("msdyn_days", [contexts.option(1), contexts.option(3)]) == {"msdyn_days": "1,3"}
    assert web_api_fields("to", [contexts.entity("activityparty", "p", {})]) == {}


def test_a_context_yields_its_operation_target_and_post_image():
    body = contexts.context("Update", target={"name": "New"}, image=contexts.account_attributes(name="New"),
                            operation_id="OP-1", correlation_id="CO-1")
    parsed = parse_context(body)
    assert (parsed.message, parsed.entity, parsed.entity_set, parsed.record_id) == (
        "Update", "account", "accounts", contexts.ACCOUNT_ID)
    assert (parsed.operation_id, parsed.correlation_id) == ("op-1", "co-1")
    assert parsed.target == {"name": "New"}
    assert parsed.post_image["name"] == "New"
    assert parsed.post_image["statecode@OData.Community.Display.V1.FormattedValue"] == "Active"


def test_a_delete_has_an_entity_reference_as_target_and_no_attributes():
    parsed = parse_context(contexts.context("Delete"))
    assert (parsed.message, parsed.target, parsed.post_image) == ("Delete", None, None)


@pytest.mark.parametrize(("change", "message"), [
    ({"MessageName": None}, "MessageName is missing"),
    ({"PrimaryEntityName": ""}, "PrimaryEntityName is missing"),
    ({"PostEntityImages": [{"value": {}}]}, "PostEntityImages must be a list of {key, value} pairs"),
    ({"PostEntityImages": [{"key": "PostImage", "value": "x"}]}, "PostEntityImages must be an Entity object"),
    ({"PrimaryEntityId": "ACC-00042"}, "PrimaryEntityId 'ACC-00042' is not a record id"),
    ({"PrimaryEntityId": contexts.ACCOUNT_ID + "\n"}, "PrimaryEntityId .* is not a record id"),
    ({"PrimaryEntityId": "00000000-0000-0000-0000-000000000000"}, "PrimaryEntityId .* is not a record id"),
])
def test_malformed_contexts_are_refused_with_the_part_named(change, message):
    with pytest.raises(ContextInvalid, match=message.replace("{", r"\{").replace("}", r"\}")):
        parse_context({**contexts.context(), **change})
