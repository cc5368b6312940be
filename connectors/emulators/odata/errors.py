"""The one error type the OData helpers raise, with text fit to send back to an API caller."""

from __future__ import annotations


class ODataQueryError(ValueError):
    """A request the service would answer with 400; `message` names the problem and where it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def unknown_property(name: str, entity_type: str) -> ODataQueryError:
    """Dataverse's wording, which F&O's OData stack shares, for a name the entity type does not declare."""
    return ODataQueryError(f"Could not find a property named '{name}' on type '{entity_type}'.")
