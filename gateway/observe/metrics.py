"""Prometheus metrics (``/metrics``); names are constants, labels are system and target."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

RECEIVED = Counter("pohub_received_total", "Inbound messages stored", ["system"], registry=REGISTRY)
REJECTED = Counter(
    "pohub_rejected_total", "Inbound messages refused", ["system"], registry=REGISTRY
)
AUTH_FAILED = Counter(
    "pohub_inbound_auth_failed_total", "Inbound requests with bad credentials", ["system"],
    registry=REGISTRY,
)  # fmt: skip
API_AUTH_FAILED = Counter(
    "pohub_api_auth_failed_total", "API requests with a wrong key", registry=REGISTRY
)
AUTH_THROTTLED = Counter(
    "pohub_auth_throttled_total",
    "Requests refused (429) after too many failed sign-ins from their address",
    ["surface"], registry=REGISTRY,
)  # fmt: skip
DELIVERED = Counter("pohub_delivered_total", "Deliveries done", ["target"], registry=REGISTRY)
RETRIED = Counter(
    "pohub_retried_total", "Delivery attempts to retry", ["target"], registry=REGISTRY
)
RECONCILED = Counter(
    "pohub_reconciled_total",
    "Read-backs made instead of sending a call again after a lost reply (issue 12), by what "
    "they found: already_done, not_done, conflict",
    ["target", "outcome"], registry=REGISTRY,
)  # fmt: skip
DEAD = Counter("pohub_dead_total", "Deliveries given up", ["target"], registry=REGISTRY)
PARKED = Counter("pohub_parked_total", "Deliveries parked", ["target", "kind"], registry=REGISTRY)
DELIVERY_SECONDS = Histogram(
    "pohub_delivery_seconds", "One delivery attempt, send to reply", ["target"], registry=REGISTRY
)
END_TO_END_SECONDS = Histogram(
    "pohub_end_to_end_seconds", "Received to delivered", ["target"], registry=REGISTRY,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200),
)  # fmt: skip
QUEUE_DEPTH = Gauge("pohub_queue_depth", "Deliveries per state", ["state"], registry=REGISTRY)
CIRCUIT_OPEN = Gauge("pohub_circuit_open", "1 while a target's breaker is open", ["target"],
                     registry=REGISTRY)  # fmt: skip
API_RATE_LIMITED = Counter(
    "pohub_api_rate_limited_total", "Operations API requests refused by the per-key rate limit",
    ["key"], registry=REGISTRY,
)  # fmt: skip
ALERTS = Counter(
    "pohub_alerts_total", "Alerts per channel kind (webhook, email) and outcome (sent, failed, "
    "dropped: the send queue was full)", ["channel", "outcome"], registry=REGISTRY,
)  # fmt: skip
