"""The request headers that change what Dataverse does: `Prefer` and the conditional `If-Match`/`If-None-Match`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from connectors.emulators.server import Headers

MAX_PAGE_SIZE = 5000
_PREFERENCE = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^,;]*))?\s*(?:;[^,]*)?(?:,|$)')
_ETAG = re.compile(r'\s*(\*|W/"[^"]*"|"[^"]*")\s*(?:,|$)')


@dataclass
class Preferences:
    max_page_size: int | None = None
    return_representation: bool = False
    annotations: list[str] | None = None
    track_changes: bool = False
    continue_on_error: bool = False
    applied: list[str] = field(default_factory=list)

    def apply(self, preference: str) -> None:
        """Remember a preference the response honours, for its `Preference-Applied` header."""
        if preference not in self.applied:
            self.applied.append(preference)

    def header(self) -> list[tuple[str, str]]:
        return [("Preference-Applied", ",".join(self.applied))] if self.applied else []


def parse_prefer(headers: Headers) -> Preferences:
    """Read the `Prefer` header; values it cannot use are ignored, as preferences are hints."""
    prefs = Preferences()
    text = headers.get("Prefer") or ""
    for match in _PREFERENCE.finditer(text):
        name, value = match.group(1).lower(), (match.group(2) or "").strip()
        if not name:
            continue
        if value.startswith('"'):
            value = value[1:-1]
        if name == "odata.maxpagesize" and value.isdigit() and int(value) > 0:
            prefs.max_page_size = min(int(value), MAX_PAGE_SIZE)
        elif name == "return" and value == "representation":
            prefs.return_representation = True
        elif name in ("odata.include-annotations", "include-annotations"):
            prefs.annotations = [item.strip() for item in value.split(",") if item.strip()]
        elif name == "odata.track-changes":
            prefs.track_changes = True
        elif name == "odata.continue-on-error" and value in ("", "true"):
            prefs.continue_on_error = True
    return prefs


def etag_list(value: str | None) -> list[str] | None:
    """The entity tags of an If-Match/If-None-Match header: `["*"]`, `['W/"12"', ...]`, or None when absent.

    `If-None-Match: null`, which Microsoft tells every client to send, is no condition at all.
    """
    if value is None or value.strip().lower() in ("", "null"):
        return None
    tags = [match.group(1) for match in _ETAG.finditer(value) if match.group(1)]
    return tags or None


def etag_version(tag: str) -> int | None:
    """The row version inside `W/"123"`, or None when the tag is not one of ours."""
    inner = tag.removeprefix("W/").strip('"')
    return int(inner) if inner.isdigit() else None
