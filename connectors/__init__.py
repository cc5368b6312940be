"""HTTP clients for Dataverse and Finance and Operations. Plain Python: no Django, no Celery."""

from connectors.base import ODataClient, WriteResult
from connectors.batch import BatchOutcome, ChangeSet, Operation
from connectors.changes import Change, ChangeRead
from connectors.config import AppUser, Certificate, ConnectionConfig
from connectors.dataverse import DataverseClient
from connectors.errors import (
    AuthError,
    BulkTargetError,
    ChangeTrackingExpiredError,
    ConflictError,
    ConnectorError,
    DuplicateError,
    NotExecutedError,
    NotFoundError,
    ThrottledError,
    TransientError,
    ValidationError,
)
from connectors.factory import client_for, forget_client
from connectors.finops import FinOpsClient, KeyMatches

__all__ = [
    "AppUser",
    "AuthError",
    "BatchOutcome",
    "BulkTargetError",
    "Certificate",
    "Change",
    "ChangeRead",
    "ChangeSet",
    "ChangeTrackingExpiredError",
    "ConflictError",
    "ConnectionConfig",
    "ConnectorError",
    "DataverseClient",
    "DuplicateError",
    "FinOpsClient",
    "KeyMatches",
    "NotExecutedError",
    "NotFoundError",
    "ODataClient",
    "Operation",
    "ThrottledError",
    "TransientError",
    "ValidationError",
    "WriteResult",
    "client_for",
    "forget_client",
]
