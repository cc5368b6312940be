"""HTTP clients for Dataverse and Finance and Operations. Plain Python: no Django, no Celery."""

from connectors.base import ODataClient, WriteResult
from connectors.batch import BatchOutcome, ChangeSet, Operation
from connectors.changes import Change, ChangeRead
from connectors.config import Certificate, ConnectionConfig
from connectors.dataverse import DataverseClient
from connectors.errors import (
    AuthError,
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
from connectors.finops import FinOpsClient

__all__ = [
    "AuthError",
    "BatchOutcome",
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
