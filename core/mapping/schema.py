"""The schema every ``mappings/<system>.yaml`` is validated against before it is used.

Mappings are data, never code: nothing in them is evaluated. Every field carries a
description so the schema doubles as the reference (``MappingFile.model_json_schema()``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.model import PoStatus

Key = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Value = Annotated[str, StringConstraints(max_length=1024)]
Table = Annotated[dict[Key, Value], Field(max_length=100_000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StatusTables(_Strict):
    """Crosswalks between the hub's statuses and the system's codes."""

    document: dict[PoStatus, Value] = Field(
        default_factory=dict,
        description="Canonical PO status -> the system's document status code.",
    )
    line: dict[PoStatus, Value] = Field(
        default_factory=dict,
        description="Canonical status -> the system's line status code (Leo lineInfo.status).",
    )
    schedule: dict[PoStatus, Value] = Field(
        default_factory=dict,
        description="Canonical status -> the system's schedule status code (Leo scheduleInfo).",
    )
    inbound: dict[Key, PoStatus] = Field(
        default_factory=dict,
        description=(
            "Extra system code -> canonical status, read only inbound. Use it where several "
            "system codes mean one canonical status, or to override the inverse of `document`."
        ),
    )


class UnitTable(_Strict):
    """Units of measure."""

    default: Value | None = Field(
        default=None,
        description="Unit assumed when the dialect carries none (Uniware: EA).",
    )
    map: dict[Key, Value] = Field(
        default_factory=dict,
        description="Canonical unit -> the system's unit code. Units not listed pass through.",
    )


class MappingFile(_Strict):
    """One system's mapping: statuses, id crosswalks, units and defaults."""

    system: Key = Field(description="The system id this mapping belongs to (file name stem).")
    description: str | None = Field(default=None, description="Free text for admins.")
    timezone: Key = Field(
        default="Asia/Kolkata",
        description="IANA zone for dates the dialect sends without an offset (Uniware).",
    )
    statuses: StatusTables = Field(
        default_factory=StatusTables, description="Status crosswalks at each level."
    )
    crosswalks: dict[Key, Table] = Field(
        default_factory=dict,
        description=(
            "ID crosswalks by table name, each hub key -> the system's id. The tables an "
            "adapter reads are listed in its MAPPING_SPEC."
        ),
    )
    units: UnitTable = Field(default_factory=UnitTable, description="Unit conversion.")
    defaults: dict[Key, Value | int | float | bool | None] = Field(
        default_factory=dict,
        description="Values the system needs that no other dialect carries (checked by its spec).",
    )


class CrosswalkSpec(BaseModel):
    """What an adapter declares about one crosswalk table it reads."""

    model_config = ConfigDict(frozen=True)

    description: str
    required: bool = False


class MappingSpec(BaseModel):
    """What an adapter needs from its mapping file; validated by ``check-config``."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    crosswalks: dict[str, CrosswalkSpec] = Field(default_factory=dict)
    defaults: type[BaseModel] | None = None
