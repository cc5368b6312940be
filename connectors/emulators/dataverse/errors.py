"""Dataverse's error responses: `{"error":{"code":"0x...","message":"..."}}`, with the codes and wording the
real service uses, so a connector can branch on `error.code` the way it must against Microsoft.

Sources: the reference (../shared/reference/dynamics-apis.md 1.8), Microsoft's "Troubleshoot Web API client
errors" page, its data-service error code list, and captured responses in public code. Where none gave the
exact text, the function says so.
"""

from __future__ import annotations

from connectors.emulators.server import Response, json_response

ODATA_VERSION = ("OData-Version", "4.0")
PAYLOAD_HELP = ("For more information on this error please follow this help link "
                "https://go.microsoft.com/fwlink/?linkid=2195293")


class DataverseError(Exception):
    """Raised anywhere below a request handler; the emulator turns it into the API's error response."""

    def __init__(self, status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or []


def error_response(status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return json_response(status, {"error": {"code": code, "message": message}}, [ODATA_VERSION, *(headers or [])])


def segment_not_found(segment: str) -> DataverseError:
    return DataverseError(404, "0x8006088a", f"Resource not found for the segment '{segment}'.")


def query_error(message: str) -> DataverseError:
    """A malformed URL or query option (captured responses carry 0x80060888 for these)."""
    return DataverseError(400, "0x80060888", message)


def not_found(logical: str, record_id: str) -> DataverseError:
    return DataverseError(404, "0x80040217", f"{logical} With Id = {record_id} Does Not Exist")


def not_found_by_key(logical: str) -> DataverseError:
    return DataverseError(404, "0x80060891",
                          f"A record with the specified key values does not exist in {logical} entity")


def duplicate_record() -> DataverseError:
    return DataverseError(412, "0x80040237", "A record with matching key values already exists.")


def duplicate_key(columns: list[str]) -> DataverseError:
    """DuplicateRecordEntityKey. Assumption: the wording is the SDK's message for this code, which names the columns
    and the key by display name; the metadata has none, so the logical names stand in."""
    names = ", ".join(columns)
    return DataverseError(412, "0x80060892", f"A record that has the attribute values {names} already exists. The "
                          f"entity key {names} Key requires that this set of attributes contains unique values. "
                          "Select unique values and try again.")


def version_mismatch() -> DataverseError:
    """ConcurrencyVersionMismatch (-2147088254): a stale If-Match etag."""
    return DataverseError(412, "0x80060882",
                          "The version of the existing record doesn't match the RowVersion property provided.")


def payload_error(entity_set: str, inner: str) -> DataverseError:
    """The 0x80048d19 wrapper Dataverse puts around body errors (unknown property, bad navigation, bad literal)."""
    return DataverseError(400, "0x80048d19", f"Error identified in Payload provided by the user for Entity "
                          f":'{entity_set}', {PAYLOAD_HELP}  ---->  InnerException : {inner}")


def unknown_property(name: str, entity_type: str) -> DataverseError:
    """A body property the entity type does not declare: ODataLib's message, which Dataverse returns as is."""
    return DataverseError(400, "0x80060888", f"The property '{name}' does not exist on type '{entity_type}'. Make "
                          "sure to only use property names that are defined by the type or mark the type as open "
                          "type.")


def undeclared_navigation(entity_set: str, name: str) -> DataverseError:
    return payload_error(entity_set, f"Microsoft.OData.ODataException: An undeclared property '{name}' which only "
                         "has property annotations in the payload but no property value was found in the payload. "
                         "In OData, only declared navigation properties and declared named streams can be "
                         "represented as properties without values.")


def bad_literal(entity_set: str, value: object, edm: str, name: str) -> DataverseError:
    """Assumption: ODataLib names the literal and type only; the property is added so the caller can fix it."""
    return payload_error(entity_set, f"Microsoft.OData.ODataException: Cannot convert the literal '{value}' to the "
                         f"expected type '{edm}' for the property '{name}'.")


def unknown_bind_target(entity_set: str, segment: str) -> DataverseError:
    """A bind to a table the environment does not serve. Assumption: Dataverse's URI parser refuses the segment
    inside the payload wrapper, as it refuses any unknown segment."""
    return payload_error(entity_set, "Microsoft.OData.UriParser.ODataUnrecognizedPathException: Resource not found "
                         f"for the segment '{segment}'.")


def key_not_defined(logical: str) -> DataverseError:
    """EntityKeyNotDefined: the URL's key columns are not an Active alternate key of the table (data-service error
    list). Assumption: the status, 400, as for the other malformed-URL errors."""
    return DataverseError(400, "0x80060890", f"The specified key attributes are not a defined key for the {logical} "
                          "entity")


def change_tracking_off(logical: str) -> DataverseError:
    """ChangeTrackingNotEnabledForEntity (data-service error list). Assumption: the status, 400."""
    return DataverseError(400, "0x80072491", f"Entity {logical} isn't enabled for change tracking.")


def required_missing(name: str, logical: str) -> DataverseError:
    """RequiredFieldMissing (0x80040200, "Required field missing." in the data-service error list). Assumption: the
    status, 400, and the sentence naming the column, which the documented message does not."""
    return DataverseError(400, "0x80040200", f"Required field missing. The '{name}' attribute of the '{logical}' "
                          "entity is system required and has no value.")


def unit_not_in_group(detail: str) -> DataverseError:
    """UnitNotInSchedule (0x80043b16), the product rule of Dynamics 365 Sales. Assumption: code and wording are the
    SDK error list's (a 3P copy); the status, 400; the sentence after it names the records."""
    return DataverseError(400, "0x80043b16", f"The unit does not exist in the specified unit schedule. {detail}")


def unit_not_for_product(detail: str) -> DataverseError:
    """ProductInvalidUnit (0x80043b14), the line rule of Dynamics 365 Sales; assumptions as for unit_not_in_group."""
    return DataverseError(400, "0x80043b14", f"The specified unit is not valid for this product. {detail}")


def definition_not_found(name: str) -> DataverseError:
    """ObjectDoesNotExist for a table definition. Assumption: the Web API answers 404 with the SDK's message for a
    RetrieveEntity of an unknown logical name."""
    return DataverseError(404, "0x80040217", f"Could not find an entity with name {name} and id "
                          "00000000-0000-0000-0000-000000000000.")


def lookup_value_written() -> DataverseError:
    return DataverseError(400, "0x80060888", "CRM do not support direct update of Entity Reference properties, Use "
                          "Navigation properties instead.")


def too_long(name: str, logical: str, max_length: int) -> DataverseError:
    return DataverseError(400, "0x80044331", f"A validation error occurred.  The length of the '{name}' attribute "
                          f"of the '{logical}' entity exceeded the maximum allowed length of '{max_length}'.")


def out_of_range(name: str, logical: str, value: object) -> DataverseError:
    """Assumption: the wording of Dataverse's choice-value validation error (code 0x8004431a)."""
    return DataverseError(400, "0x8004431a", f"A validation error occurred. The value {value} of '{name}' on record "
                          f"of type '{logical}' is outside the valid range.")


def invalid_argument(message: str) -> DataverseError:
    """InvalidArgument (0x80040203), for requests the platform refuses that no more specific code covers."""
    return DataverseError(400, "0x80040203", message)
