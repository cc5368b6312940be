"""RemoteExecutionContext bodies as Dataverse posts them (reference 1.10), written by hand for the tests."""

from __future__ import annotations

import uuid

CONTRACTS = "http://schemas.microsoft.com/xrm/2011/Contracts"
ACCOUNT_ID = "5f2b1a4e-0c1d-4e8b-9a51-000000000001"
BUSINESS_UNIT = "7a1c0000-0000-0000-0000-0000000000b1"
CURRENCY = "7a1c0000-0000-0000-0000-0000000000c1"


def reference(logical_name: str, id_: str, name: str | None = None) -> dict:
    return {"__type": f"EntityReference:{CONTRACTS}", "Id": id_, "KeyAttributes": [], "LogicalName": logical_name,
            "Name": name, "RowVersion": None}


def option(value: int) -> dict:
    return {"__type": f"OptionSetValue:{CONTRACTS}", "Value": value}


def money(value: float) -> dict:
    return {"__type": f"Money:{CONTRACTS}", "Value": value}


def entity(logical_name: str, id_: str, attributes: dict, formatted: dict | None = None) -> dict:
    return {"__type": f"Entity:{CONTRACTS}", "Attributes": [{"key": k, "value": v} for k, v in attributes.items()],
            "EntityState": None, "FormattedValues": [{"key": k, "value": v} for k, v in (formatted or {}).items()],
            "Id": id_, "KeyAttributes": [], "LogicalName": logical_name, "RelatedEntities": [], "RowVersion": "1234"}


def account_attributes(**overrides) -> dict:
    """Every column the Accounts map reads, as an SDK image carries them (nulls included)."""
    attributes = {
        "accountid": ACCOUNT_ID, "accountnumber": "ACC-01001-ABCDEF", "name": "Fabrikam Inc",
        "owningbusinessunit": reference("businessunit", BUSINESS_UNIT, "Contoso US"),
        "transactioncurrencyid": reference("transactioncurrency", CURRENCY, "US Dollar"),
        "creditlimit": money(25000.5), "telephone1": "+1 425 555 0100", "emailaddress1": "info@fabrikam.example",
        "address1_line1": "1 Main St", "address1_city": "Redmond", "address1_stateorprovince": "WA",
        "address1_postalcode": "98052", "address1_country": "United States", "statecode": option(0),
        "modifiedon": "/Date(1714557600000)/",
    }
    return {**attributes, **overrides}


def context(message: str = "Update", *, entity_name: str = "account", record_id: str = ACCOUNT_ID,
            target: dict | None = None, image: dict | None = None, operation_id: str | None = None,
            correlation_id: str | None = None) -> dict:
    """A RemoteExecutionContext for one operation on one record; a new operation id unless one is given."""
    body = {
        "BusinessUnitId": BUSINESS_UNIT, "CorrelationId": correlation_id or str(uuid.uuid4()), "Depth": 1,
        "InitiatingUserId": str(uuid.uuid4()), "InputParameters": [], "IsExecutingOffline": False,
        "IsInTransaction": False, "IsOfflinePlayback": False, "IsolationMode": 1, "MessageName": message, "Mode": 1,
        "OperationCreatedOn": "/Date(1714557600000-0700)/", "OperationId": operation_id or str(uuid.uuid4()),
        "OrganizationId": str(uuid.uuid4()), "OrganizationName": "contoso", "OutputParameters": [],
        "OwningExtension": {"Id": str(uuid.uuid4()), "KeyAttributes": [], "LogicalName": "sdkmessageprocessingstep",
                            "Name": "p2c webhook", "RowVersion": None},
        "ParentContext": None, "PostEntityImages": [], "PreEntityImages": [], "PrimaryEntityId": record_id,
        "PrimaryEntityName": entity_name, "RequestId": str(uuid.uuid4()), "SecondaryEntityName": "none",
        "SharedVariables": [], "Stage": 40, "UserId": str(uuid.uuid4()),
    }
    if message == "Delete":
        body["InputParameters"] = [{"key": "Target", "value": reference(entity_name, record_id)}]
    elif target is not None:
        body["InputParameters"] = [{"key": "Target", "value": entity(entity_name, record_id, target)}]
    if image is not None:
        body["PostEntityImages"] = [{"key": "PostImage", "value": entity(entity_name, record_id, image,
                                                                           {"statecode": "Active"})}]
    return body


def stripped(body: dict) -> dict:
    """What Dataverse sends above 256 KB: no parent context, input parameters or images."""
    return {**body, "ParentContext": None, "InputParameters": [], "PreEntityImages": [], "PostEntityImages": []}
