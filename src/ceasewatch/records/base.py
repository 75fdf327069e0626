"""The record base class: frozen pydantic models, canonical JSON (RFC 8785), content hash.

A record's identity for the ledger is the SHA-256 of its canonical JSON: the JSON
Canonicalization Scheme of RFC 8785 (sorted keys, ECMAScript number form, UTF-8), over
{"type": ..., fields...}, fields that are None left out so that adding an optional field
later does not change the hash of records that do not use it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, ClassVar

import rfc8785
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

__all__ = ["ORGS_CONTEXT", "Record", "canonical_json", "check_org_known"]

#: Key of the validation context that carries {org id: role} (see `check_org_known`).
ORGS_CONTEXT = "orgs"


def canonical_json(obj: Any) -> bytes:
    """RFC 8785 canonical JSON of a JSON-compatible value."""
    return bytes(rfc8785.dumps(obj))


def check_org_known(value: str, info: ValidationInfo, roles: tuple[str, ...] = ()) -> str:
    """Refuse an org id the theater does not list (when validated with a context of orgs).

    Args:
        value: the org id.
        info: pydantic's validation info; `info.context["orgs"]` maps org id to role.
        roles: if given, the roles the org must have (e.g. ("side", "both")).
    """
    orgs: Mapping[str, str] | None = (info.context or {}).get(ORGS_CONTEXT)
    if orgs is None:
        return value
    if value not in orgs:
        known = ", ".join(sorted(orgs)) or "none"
        raise ValueError(f"unknown org {value!r}; the theater's orgs are: {known}")
    if roles and orgs[value] not in roles:
        raise ValueError(f"org {value!r} has role {orgs[value]!r}; expected {' or '.join(roles)}")
    return value


class Record(BaseModel):
    """Base of every record kind. Frozen: what goes into the ledger never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    #: The record type, under the key "type" in the canonical JSON.
    record_type: ClassVar[str]
    #: Extra columns a user kept (prefixed x_ in CSV): carried along, never interpreted.
    #: Empty values are dropped (an empty CSV cell and a missing column are the same).
    extra: dict[str, str] = {}

    @field_validator("extra")
    @classmethod
    def _extra_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not key.startswith("x_"):
                raise ValueError(f"extra field {key!r} must start with x_")
        return {k: v for k, v in value.items() if v}

    @field_validator("*", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        # A CSV reader strips cells, so a record that kept surrounding blanks would not
        # survive write -> read, and two spellings of one report would hash differently.
        # str.strip() here, not pydantic's str_strip_whitespace: that one leaves \x1c-\x1f,
        # which str.strip() removes, so the two would disagree.
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, dict):
            return {
                k.strip() if isinstance(k, str) else k: v.strip() if isinstance(v, str) else v
                for k, v in value.items()
            }
        return value

    @field_validator("*")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        # NUL cannot be stored in PostgreSQL text and usually means a UTF-16 or binary
        # file; a lone surrogate cannot be encoded as UTF-8, so RFC 8785 refuses it.
        texts = [*value.keys(), *value.values()] if isinstance(value, dict) else [value]
        for text in texts:
            if not isinstance(text, str):
                continue
            if "\x00" in text:
                raise ValueError("contains a NUL character; remove it")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    "contains a lone surrogate code point, which is not valid Unicode text"
                ) from None
        return value

    def as_json(self) -> dict[str, Any]:
        """The record as JSON-compatible data: {"type", fields...}, None fields omitted."""
        data = self.model_dump(mode="json", exclude_none=True, by_alias=True)
        if not data.get("extra"):
            data.pop("extra", None)
        return {"type": self.record_type, **data}

    def canonical(self) -> bytes:
        """RFC 8785 canonical JSON bytes of `as_json()`."""
        return canonical_json(self.as_json())

    def content_hash(self) -> str:
        """Hex SHA-256 of the canonical JSON: the record's identity in the ledger."""
        return hashlib.sha256(self.canonical()).hexdigest()
