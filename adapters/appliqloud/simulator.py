"""AppliQloud as its document describes it (appliqloud-purchase-orders-update.txt).

``PUT /pic/link/purchase-orders/update`` with Basic auth. The simulator validates the bulk
with the adapter's own wire models and rules (int ``quantity``, the closed enums, SERVICE only
with EXPENSE, INVENTORY only with GOODS and a ``locationId``, the required fields), and keeps
the state the document implies:

- the POs its backend (``SAP_APQ``, the 201 example's ``backendId``) knows, since an *update*
  of an unknown PO is a per-PO ``PurchaseOrderNotFoundException`` in a 201 reply;
- its external mappings (``MasterData``): "The accountingEntityId and vendorBusinessPartnerId
  must correspond to the external mapping of an AppliQloud accounting entity and business
  partner", productGroupId/productId/locationId likewise, and "the product ... must be a part
  of the product group". An id the backend does not know (an invented default, say) fails
  that PO in ``errors``; the document names no cause for it, so the causes
  ``ExternalMappingNotFoundException`` and ``ProductNotInGroupException`` are the simulator's.

Beyond the document, ``create_unknown`` (on by default) lets an update create a PO the
backend does not know, so the hub's end-to-end routing works without seeding; tests turn it
off (and ``forget`` a PO) to provoke the document's not-found case.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import orjson

from adapters._sim import SimReply, SimRequest, Simulator, from_reply, same_secret
from adapters.appliqloud.replies import (
    ErrorReply,
    PoError,
    ReplyPurchaseOrder,
    UpdateReply,
    accepted,
    error_reply,
)
from adapters.appliqloud.rules import check
from adapters.appliqloud.schema import (
    PATH,
    SYSTEM,
    PurchaseOrderHeader,
    PurchaseOrderInput,
    PurchaseOrderItem,
    UpdateRequest,
)
from adapters.registry import samples_dir
from core.errors import InvalidInput
from core.validation import validate_json

BACKEND_ID = "SAP_APQ"
"""The backend of the document's 201 example ("not found in backend SAP_APQ")."""
OPEN = "OPEN"
"""The only ``purchaseOrderStatus`` the document shows after an update (200 example)."""


@dataclass
class MasterData:
    """The backend's external mappings: the ids a PO may name."""

    entities: set[str] = field(default_factory=set)
    """accountingEntityId values."""
    partners: set[str] = field(default_factory=set)
    """vendorBusinessPartnerId values."""
    products: dict[str, str] = field(default_factory=dict)
    """productId -> the productGroupId it is part of."""
    locations: set[str] = field(default_factory=set)
    """locationId values."""

    @classmethod
    def document(cls) -> MasterData:
        """The ids of the document's cURL example: entity AE1, partner 9715, product 101 in
        group 1, location MX-LOC."""
        return cls({"AE1"}, {"9715"}, {"101": "1"}, {"MX-LOC"})

    def problems(self, header: PurchaseOrderHeader, items: list[PurchaseOrderItem]) -> list[str]:
        """What this PO names that the backend has no external mapping for."""
        found = []
        if header.accountingEntityId not in self.entities:
            found.append(f"accounting entity {header.accountingEntityId}")
        if header.vendorBusinessPartnerId not in self.partners:
            found.append(f"business partner {header.vendorBusinessPartnerId}")
        for item in items:
            if item.productId not in self.products:
                found.append(f"product {item.productId} (item {item.itemId})")
            if item.locationId is not None and item.locationId not in self.locations:
                found.append(f"location {item.locationId} (item {item.itemId})")
        return found

    def outside_group(self, items: list[PurchaseOrderItem]) -> list[str]:
        return [
            f"product {i.productId} is not part of product group {i.productGroupId} (item {i.itemId})"
            for i in items
            if i.productId in self.products and self.products[i.productId] != i.productGroupId
        ]


class AppliqloudSimulator(Simulator):
    """The bulk update endpoint with its backend's set of known POs."""

    system = SYSTEM

    def __init__(self, secrets: dict[str, str], create_unknown: bool = True) -> None:
        super().__init__(secrets)
        self.create_unknown = create_unknown
        """When True, an update of a PO the backend does not know creates it (not documented)."""
        self.purchase_orders: dict[str, dict[str, Any]] = {}
        """PO id -> the PO as last confirmed in ``success`` (header with status and totals)."""
        self.master = MasterData.document()
        """The external mappings of the backend; tests add the ids their POs name."""
        self.reset(create_unknown)
        self.route("PUT", PATH, self.update)

    # state -------------------------------------------------------------------------------
    def reset(self, create_unknown: bool = True) -> None:
        """Back to the document's backend: it knows PO 450000001 as the 200 example shows it,
        and the external mappings of the cURL example."""
        self.create_unknown = create_unknown
        self.master = MasterData.document()
        self.purchase_orders = {}
        example = orjson.loads((samples_dir(SYSTEM) / "replies" / "200-success.json").read_bytes())
        for po in example["success"]:
            self.purchase_orders[po["header"]["purchaseOrderId"]] = po

    def forget(self, po_id: str) -> None:
        """Remove a PO from the backend, so its next update is a ``PurchaseOrderNotFound``."""
        self.purchase_orders.pop(po_id, None)

    # the document's envelopes ------------------------------------------------------------
    def authenticate(self, request: SimRequest) -> SimReply | None:
        """Basic auth "with the username and password of the backend" (document, Authorization)."""
        given = _basic_credentials(request.header("authorization"))
        user, password = given if given is not None else (None, None)
        user_ok = same_secret(user, self.secrets.get("username", ""))
        password_ok = same_secret(password, self.secrets.get("password", ""))
        configured = "username" in self.secrets and "password" in self.secrets
        if user_ok and password_ok and configured:
            return None
        return self.error(401, "Authorization required")

    def error(
        self, status: int, message: str, field: str | None = None, rule: str | None = None
    ) -> SimReply:
        """``{traceId, cause, message}`` for every status (``replies.error_reply``)."""
        return from_reply(error_reply(status, message, field, rule))

    # the endpoint ------------------------------------------------------------------------
    def update(self, request: SimRequest) -> SimReply:
        """Validate the whole bulk first (400 names the first broken field and its rule; the
        document has no 400 example), then apply each PO: unknown ones fail on their own."""
        try:
            wire = validate_json(UpdateRequest, request.body, SYSTEM)
            check(wire)
        except InvalidInput as exc:
            first = exc.first
            return self.error(400, f"{first.message} ({first.rule})", first.path)
        success: list[ReplyPurchaseOrder] = []
        errors: list[PoError] = []
        for po_input in wire.inputs:
            outcome = self._apply(po_input)
            if isinstance(outcome, PoError):
                errors.append(outcome)
            else:
                success.append(outcome)
        reply = UpdateReply.of(success, errors)
        return _reply(reply.http_status, reply)

    def _apply(self, po_input: PurchaseOrderInput) -> ReplyPurchaseOrder | PoError:
        """One PO of the bulk: the document's 201 example is a PO the backend does not know."""
        po_id = po_input.header.purchaseOrderId
        if po_id not in self.purchase_orders and not self.create_unknown:
            return PoError.not_found(po_id, BACKEND_ID)
        unknown = self.master.problems(po_input.header, po_input.lines)
        if unknown:
            message = f"No external mapping in backend {BACKEND_ID} for {', '.join(unknown)}"
            return PoError.of("ExternalMappingNotFoundException", message, po_id, BACKEND_ID)
        outside = self.master.outside_group(po_input.lines)
        if outside:
            return PoError.of("ProductNotInGroupException", "; ".join(outside), po_id, BACKEND_ID)
        confirmed = accepted(po_input.model_dump(exclude_unset=True), OPEN)
        self.purchase_orders[po_id] = confirmed.model_dump(mode="json", exclude_unset=True)
        return confirmed


def _reply(status: int, body: ErrorReply | UpdateReply) -> SimReply:
    return SimReply(status, body.model_dump(mode="json", exclude_unset=True))


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    """``Authorization: Basic base64(user:password)``; anything else is no credentials."""
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None
