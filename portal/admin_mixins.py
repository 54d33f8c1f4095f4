"""Admin building blocks shared by the product apps."""


class ReadOnlyAdminMixin:
    """Records the system writes: shown in the admin, never added or edited there."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LogAdminMixin(ReadOnlyAdminMixin):
    """Audit logs: not deleted from the admin either."""

    def has_delete_permission(self, request, obj=None):
        return False
