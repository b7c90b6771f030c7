"""Cross-cutting records: structured logs, Prometheus metrics, the audit log."""
