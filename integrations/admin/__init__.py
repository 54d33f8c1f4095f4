"""The admin pages of the integrations app, one module per area; importing them registers them."""

from integrations.admin import connections, customers, events, quota, reports, review, runs, schemes  # noqa: F401
