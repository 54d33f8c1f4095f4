"""The sandbox's own admin building block: it imports nothing of the product (the other side of the wire)."""


class ReadOnlyAdminMixin:
    """What the sandbox recorded: shown in the admin, never added or edited there."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
