"""Source values the database cannot store, dealt with one record at a time before anything is written.

PostgreSQL refuses a NUL character (U+0000) in text and in jsonb, and neither PostgreSQL nor SQLite can encode a
lone UTF-16 surrogate (JSON lets "\\ud800" through, Python decodes it, UTF-8 cannot encode it). One such value in
one source record used to fail the insert of its whole chunk of planned rows, again at every re-plan, and held the
project's run lock for good. So a snapshot is cleaned before it is stored: NUL characters are removed and lone
surrogates become U+FFFD, and the record says which fields were cleaned. Neither is meaningful text in Dynamics,
and removing it is what the user would do by hand.

A record's identity (its key and id) is never cleaned: that could merge it with another record or break its link.
A record whose key or id holds such a character, or is longer than the columns that store it, is refused with a
message that names the field, and nothing else about it is stored. No I/O here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from integration import mapping

KEY_LENGTH = 400  # RecordSync.source_key and KeyLink.source_key
ID_LENGTH = 100  # RecordSync.source_id and KeyLink.source_id

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(value: str) -> str:
    """The text without NUL characters, lone surrogates replaced by U+FFFD (messages, too, can carry them)."""
    if not _UNSTORABLE.search(value):
        return value
    return _UNSTORABLE.sub(lambda found: "" if found.group() == "\x00" else "\ufffd", value)


def _clean(value: object, path: str, cleaned: list[str]) -> object:
    if isinstance(value, str):
        result = clean_text(value)
        if result is not value:
            cleaned.append(path)
        return result
    if isinstance(value, Mapping):
        out = {}
        for name, item in value.items():
            clean_name = clean_text(name) if isinstance(name, str) else name
            if clean_name is not name:
                cleaned.append(f"{path}/{clean_name}" if path else clean_name)
            out[clean_name] = _clean(item, f"{path}/{clean_name}" if path else str(clean_name), cleaned)
        return out
    if isinstance(value, list):
        return [_clean(item, f"{path}/{position}", cleaned) for position, item in enumerate(value)]
    return value


@dataclass(frozen=True)
class Prepared:
    """A source record as it can be stored: `record` cleaned, the `cleaned` fields named, or a `refusal`."""

    record: dict
    cleaned: tuple[str, ...] = ()
    refusal: tuple[str, str] | None = None  # (field, reason): the record's identity cannot be stored

    @property
    def note(self) -> str:
        """What the record's row says about the cleaning (empty when nothing was cleaned)."""
        if not self.cleaned:
            return ""
        return ("characters the database cannot store (NUL, lone surrogates) were removed from "
                f"{', '.join(dict.fromkeys(self.cleaned))}")


def prepare(definition: mapping.MapDefinition, record: Mapping) -> Prepared:
    """Clean a source record for storing, or refuse it when its key or id cannot be stored as they are."""
    cleaned: list[str] = []
    clean = _clean(record, "", cleaned)
    identity = [*definition.source_key_fields, definition.source_id_field]
    for name in identity:
        if name and name in cleaned:
            return Prepared(clean, tuple(cleaned), (name, f"holds {_described(record.get(name))}, which the "
                                                          "database cannot store; fix it in the source"))
    for name, limit in [*((name, KEY_LENGTH) for name in definition.source_key_fields),
                        (definition.source_id_field, ID_LENGTH)]:
        value = record.get(name) if name else None
        if isinstance(value, str) and len(value) > limit:
            return Prepared(clean, tuple(cleaned), (name, f"is {len(value)} characters long; p2c stores keys "
                                                          f"of at most {limit}"))
    return Prepared(clean, tuple(cleaned))


def identity_text(value: str, limit: int = KEY_LENGTH) -> str:
    """A key or id as it can be stored on a refused record's row: unstorable characters spelled out (`\\u0000`),
    and a value too long cut short with a hash of the whole, so two refused records never share a row."""
    shown = _UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", value)
    if len(shown) <= limit:
        return shown
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{shown[:limit - 18]}…#{digest}"


def _described(value: object) -> str:
    return f"a NUL character or a lone surrogate ('{identity_text(str(value), 80)}')"
