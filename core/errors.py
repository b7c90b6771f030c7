"""The one error tree of pohub.

::

    PohubError
     ├── InvalidInput            a payload breaks its dialect's rules (JSON path + rule)   exit 2
     ├── MappingMissing          a crosswalk has no entry for a key (table + key)           exit 3
     ├── StateRequired           a status-only event needs the PO's stored state           exit 3
     │    └── IdentityMissing  the target's own id for the PO is not known yet       exit 3
     ├── CannotExpress           the target's dialect has no way to say a value            exit 3
     ├── TransitionNotAllowed    the target's lifecycle forbids the change
     ├── ConfigError             config.yaml or a mapping file is wrong (file, line, path)
     └── DeliveryError           what a system's client makes of a reply
          ├── RetryableDelivery   5xx, 429, timeouts, connection errors
          └── PermanentDelivery   4xx, per-PO errors, exceptions in the envelope
               └── AuthFailure    401/403: permanent until credentials change

Every adapter translates its system's failures into this tree at one border, so the
gateway decides retry, park or dead-letter without knowing any dialect.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


class PohubError(Exception):
    """Root of everything pohub raises on purpose."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One broken rule at one place: ``$.purchaseOrderItems[0].quantity`` / ``required``."""

    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} ({self.rule})"


def json_path(loc: Iterable[str | int]) -> str:
    """Render a pydantic-style location tuple as a JSON path rooted at ``$``."""
    out = "$"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


class InvalidInput(PohubError):
    """The payload breaks its dialect's schema or the document's own rules."""

    exit_code = 2

    def __init__(self, system: str, errors: Sequence[FieldError]) -> None:
        self.system = system
        self.errors = list(errors)
        super().__init__(self._summary())

    @classmethod
    def one(cls, system: str, path: str, rule: str, message: str) -> InvalidInput:
        return cls(system, [FieldError(path, rule, message)])

    def _summary(self) -> str:
        shown = "; ".join(str(e) for e in self.errors[:5])
        more = f" (+{len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        return f"invalid {self.system} payload: {shown}{more}"

    @property
    def first(self) -> FieldError:
        return self.errors[0]


class MappingMissing(PohubError):
    """A crosswalk table has no entry for a key; never papered over with a default."""

    exit_code = 3

    def __init__(self, system: str, table: str, key: str | None, path: str | None = None) -> None:
        self.system = system
        self.table = table
        self.key = key
        self.path = path
        where = f" at {path}" if path else ""
        super().__init__(
            f"mapping missing: {system} table '{table}' has no entry for {key!r}{where}"
        )

    @property
    def fixable(self) -> bool:
        """Whether a mapping row could ever fill the gap. Not for a key of None (the PO has
        no value to add a row for) nor for table ``canonical`` (a value the PO itself
        lacks): the gateway dead-letters those at once instead of parking them."""
        return self.key is not None and self.table != "canonical"


class StateRequired(PohubError):
    """A status-only event must be merged into the PO's stored state before this target."""

    exit_code = 3

    def __init__(self, system: str, po_number: str) -> None:
        self.system = system
        self.po_number = po_number
        super().__init__(
            f"unknown PO: {system} needs the full PO {po_number!r}, and the hub has no state for it"
        )


class IdentityMissing(StateRequired):
    """The target names the PO by an id (or version) only it can give, and the hub has not
    learnt it yet (EnKash ``objectId``/``objectVersion``): parked like an unknown PO until an
    event or reply reveals it, never filled with the hub's own number."""

    def __init__(self, system: str, po_number: str, what: str, path: str) -> None:
        self.what = what
        self.path = path
        PohubError.__init__(
            self,
            f"identity missing: {system} needs its own {what} for PO {po_number!r} at {path}, "
            "and the hub has not learnt it",
        )
        self.system = system
        self.po_number = po_number


class CannotExpress(PohubError):
    """The target's dialect cannot carry a value the PO has (a currency, a fraction, a unit).

    Unlike ``MappingMissing`` no mapping row can fix it: the delivery goes dead with this
    reason (``translate`` exits 3), because writing the PO without the value, or with a
    rounded one, would tell the partner something the source never said.
    """

    exit_code = 3

    def __init__(self, system: str, path: str, reason: str) -> None:
        self.system = system
        self.path = path
        self.reason = reason
        super().__init__(f"cannot express in {system} at {path}: {reason}")


class TransitionNotAllowed(PohubError):
    """The target's lifecycle cannot go from its current state to the requested one."""

    exit_code = 3

    def __init__(self, system: str, current: str | None, wanted: str | None) -> None:
        self.system = system
        self.current = current
        self.wanted = wanted
        super().__init__(f"{system} lifecycle does not allow {current!r} -> {wanted!r}")


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a config or mapping file: where it is and what is wrong."""

    file: str
    line: int | None
    path: str
    message: str
    rule: str | None = None
    """The rule broken (``choice``, ``not_blank``, pydantic's error type...), for callers that
    show or test it apart from the message."""

    def __str__(self) -> str:
        at = f":{self.line}" if self.line else ""
        return f"{self.file}{at}: {self.path}: {self.message}"


class ConfigError(PohubError):
    """config.yaml or a mapping file cannot be used; lists every problem found."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class DeliveryError(PohubError):
    """A delivery attempt failed; subclasses say whether trying again can help."""

    message: str
    status: int | None = None
    body: str | None = None
    remote_ids: dict[str, str] = field(default_factory=dict)
    step: int = 0
    """Index of the plan step that failed: a retry resumes there (AlphaAlpha plans)."""
    last_reply: Any = None
    """The reply of the last step that succeeded before the failure, if any."""

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)

    def __str__(self) -> str:
        return self.message


@dataclass
class RetryableDelivery(DeliveryError):
    """Worth trying again later: 5xx, 429, timeouts, connection errors."""

    retry_after: float | None = None


@dataclass
class PermanentDelivery(DeliveryError):
    """Trying again with the same payload cannot succeed."""


@dataclass
class AuthFailure(PermanentDelivery):
    """401/403: permanent until someone fixes the credentials."""


__all__ = [
    "AuthFailure",
    "CannotExpress",
    "ConfigError",
    "ConfigProblem",
    "DeliveryError",
    "FieldError",
    "IdentityMissing",
    "InvalidInput",
    "MappingMissing",
    "PermanentDelivery",
    "PohubError",
    "RetryableDelivery",
    "StateRequired",
    "TransitionNotAllowed",
    "json_path",
]
