"""Alerts (issue 15): a notification when trouble starts, once per cause until it clears.

``causes`` finds what is wrong now (a dead or parked reason per target, an open circuit, a
backlog older than its limit); ``ledger`` keeps the causes already announced in the store,
so several processes never announce one twice; ``payload`` words an alert; ``channels``
sends it (a Standard Webhooks signed POST, Slack/Teams text, SMTP mail) from a bounded
queue; ``runner`` ties them together on a timer.
"""

from gateway.alerts.causes import Cause
from gateway.alerts.runner import Alerts

__all__ = ["Alerts", "Cause"]
