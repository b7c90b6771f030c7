"""The admin web page (``/admin``): static HTML + JS modules, and the stats it charts."""

from gateway.api.admin.controller import AdminController, StatsController

__all__ = ["AdminController", "StatsController"]
