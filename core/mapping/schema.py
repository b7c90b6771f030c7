"""The schema every ``mappings/<system>.yaml`` is validated against before it is used.

Mappings are data, never code: nothing in them is evaluated. Every field carries a
description so the schema doubles as the reference (``MappingFile.model_json_schema()``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from core.model import PoStatus

Key = Annotated[str, StringConstraints(min_length=1, max_length=256)]


def _known_zone(name: str) -> str:
    """An IANA zone the machine knows; ``Not/AZone`` would make every dated push fail later."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Asia/Kolkata)") from exc
    return name


Zone = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_known_zone)]
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


Rounding = Literal["refuse", "half_even", "half_up", "down", "up"]


class UnitConversion(_Strict):
    """How a quantity in one unit is written in another (KG -> G: factor 1000)."""

    to: Key = Field(description="The canonical unit the quantity is written in.")
    factor: Annotated[Decimal, Field(gt=0, max_digits=30)] = Field(
        description="Quantity in `to` = quantity x factor; unit prices are divided by it."
    )
    rounding: Rounding = Field(
        default="refuse",
        description=(
            "What to do when the converted quantity is still fractional and the system takes "
            "integers only: `refuse` (the delivery goes dead, naming the line) or round."
        ),
    )


class UnitTable(_Strict):
    """Units of measure."""

    default: Value | None = Field(
        default=None,
        description=(
            "Unit the system's quantities are in when its payload carries none (read inbound "
            "only; never written to a target in place of a missing unit)."
        ),
    )
    map: dict[Key, Value] = Field(
        default_factory=dict,
        description="Canonical unit -> the system's unit code. Units not listed pass through.",
    )
    convert: dict[Key, UnitConversion] = Field(
        default_factory=dict,
        description=(
            "Canonical unit -> a conversion applied before writing to this system "
            "(e.g. KG -> G x1000 for a system that takes integer quantities)."
        ),
    )


class MappingFile(_Strict):
    """One system's mapping: statuses, id crosswalks, units and defaults."""

    system: Key = Field(description="The system id this mapping belongs to (file name stem).")
    description: str | None = Field(default=None, description="Free text for admins.")
    timezone: Zone = Field(
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
    reverse: dict[Key, dict[Key, Value]] = Field(
        default_factory=dict,
        description=(
            "Explicit reverse tables: system id -> hub key, for crosswalks where several hub "
            "keys share one system id (many-to-one). Read inbound instead of inverting the "
            "crosswalk; an id with no row reads back as no hub key."
        ),
    )
    units: UnitTable = Field(default_factory=UnitTable, description="Unit conversion.")
    defaults: dict[Key, Value | int | float | bool | None] = Field(
        default_factory=dict,
        description=(
            "Values an admin chose for what a source does not carry and the system requires "
            "(checked by its spec). Nothing is defaulted in code: a default that is not "
            "written here is a MappingMissing (the delivery parks until it is added). A "
            "default written as null means: send null."
        ),
    )


class CrosswalkSpec(BaseModel):
    """What an adapter declares about one crosswalk table it reads."""

    model_config = ConfigDict(frozen=True)

    description: str
    required: bool = False
    choices: tuple[str, ...] | None = Field(
        default=None,
        description=(
            "The only values the system accepts in this table (an enumeration of its "
            "document, e.g. AppliQloud itemType GOODS|SERVICE); None: an id, any non-blank text."
        ),
    )
    id_format: str | None = Field(
        default=None,
        description=(
            "What the system's document states about the format of the id this table holds; "
            "None: the document states none (it types the field as a string), so the hub "
            "checks only that it is not blank, never a format of its own invention."
        ),
    )


LEVELS = ("document", "line", "schedule")
"""The levels a status is written at (``statuses.<level>``); ``inbound`` reads codes back."""


class StatusCodes(BaseModel):
    """The status codes a system's own schema or rules name, declared by its adapter.

    ``closed``: the adapter cannot handle a code outside ``codes`` (AlphaAlpha's lifecycle plans
    only over its own statuses), so such a code is refused. Open: the document gives no list
    (``codes`` are its examples); any non-blank code is accepted and a new one is pointed out
    when a draft is reviewed.
    """

    model_config = ConfigDict(frozen=True)

    codes: tuple[str, ...] = ()
    closed: bool = False
    levels: tuple[str, ...] = LEVELS
    source: str = "the adapter names no status codes"


class MappingSpec(BaseModel):
    """What an adapter needs from its mapping file; validated by ``check-config``."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    crosswalks: dict[str, CrosswalkSpec] = Field(default_factory=dict)
    defaults: type[BaseModel] | None = None
    statuses: StatusCodes = Field(default_factory=StatusCodes)
