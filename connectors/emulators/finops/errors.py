"""F&O's error responses. Write failures are HTTP 500 with the Infolog in `innererror.message` (reference 2.4), so a
client must read the body, not only the status, to tell a duplicate or a bad foreign key from an outage.

Assumptions where the reference is silent: query errors are 400 in ASP.NET Web API OData's shape (the message
prefixed "The query specified in the URI is not valid." for system query options); 404, 405 and 412 use the
same `{"error": {"code": "", "message": ...}}` envelope.
"""

from __future__ import annotations

from connectors.emulators.odata.errors import ODataQueryError
from connectors.emulators.server import Response, json_response

CONTENT_TYPE = "application/json; odata.metadata=minimal; charset=utf-8"
ODATA_VERSION = ("OData-Version", "4.0")
WRITE_EXCEPTION = "Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException"
QUERY_EXCEPTION = "Microsoft.OData.ODataException"


class BadRequest(Exception):
    """A request the OData layer refuses before any entity logic runs (400)."""

    def __init__(self, message: str, *, query_option: bool = False):
        super().__init__(message)
        self.message = message
        self.query_option = query_option


class NotFound(Exception):
    """No visible entity has the key; `segment` is the entity set named in the 404 body."""

    def __init__(self, segment: str):
        super().__init__(segment)
        self.segment = segment


class PreconditionFailed(Exception):
    """The If-Match ETag is not the entity's current one (412)."""


class WriteFailed(Exception):
    """A create, update or delete the entity's validation refused; `infolog` holds its messages, in order."""

    def __init__(self, ax_entity: str, infolog: list[str]):
        super().__init__("; ".join(infolog))
        self.ax_entity = ax_entity
        self.infolog = infolog

    @property
    def message(self) -> str:
        return f"Write failed for table row of type '{self.ax_entity}'. Infolog: {'; '.join(self.infolog)}"


def body(message: str, inner_message: str | None = None, inner_type: str | None = None) -> dict:
    error: dict = {"code": "", "message": message}
    if inner_type is not None:
        error["innererror"] = {"message": inner_message or message, "type": inner_type, "stacktrace": ""}
    return {"error": error}


def error_response(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return json_response(status, body(message), [ODATA_VERSION, *(headers or [])], content_type=CONTENT_TYPE)


def bad_request(message: str, *, query_option: bool = False) -> Response:
    outer = f"The query specified in the URI is not valid. {message}" if query_option else message
    return json_response(400, body(outer, message, QUERY_EXCEPTION), [ODATA_VERSION], content_type=CONTENT_TYPE)


def write_failed(failure: WriteFailed) -> Response:
    return json_response(500, body("An error has occurred.", failure.message, WRITE_EXCEPTION), [ODATA_VERSION],
                         content_type=CONTENT_TYPE)


def not_found(entity_set: str) -> Response:
    return error_response(404, f"Resource not found for the segment '{entity_set}'.")


def no_route(url: str) -> Response:
    return error_response(404, f"No HTTP resource was found that matches the request URI '{url}'.")


def method_not_allowed(method: str, allowed: list[str]) -> Response:
    """ASP.NET Web API's wording, with the methods the resource does take in Allow."""
    return error_response(405, f"The requested resource does not support http method '{method}'.",
                          [("Allow", ", ".join(allowed))])


def precondition_failed() -> Response:
    return error_response(412, "The ETag value in the If-Match header does not match the current version of the "
                               "record; it was changed after it was read.")


def from_exception(exc: Exception) -> Response | None:
    """The response for one of this module's exceptions (or an OData query error), None for anything else."""
    if isinstance(exc, WriteFailed):
        return write_failed(exc)
    if isinstance(exc, BadRequest):
        return bad_request(exc.message, query_option=exc.query_option)
    if isinstance(exc, ODataQueryError):
        return bad_request(exc.message, query_option=True)
    if isinstance(exc, NotFound):
        return not_found(exc.segment)
    if isinstance(exc, PreconditionFailed):
        return precondition_failed()
    return None
