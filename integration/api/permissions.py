"""Django's model permissions for the API: view permissions to read, explicit permissions to act."""

from __future__ import annotations

from rest_framework.permissions import BasePermission, DjangoModelPermissions


class ModelPermissions(DjangoModelPermissions):
    """DjangoModelPermissions, plus the view permission for reads (DRF lets any authenticated user read).

    The model comes from the view's class-level `queryset`, never from `get_queryset()`: that one looks up the
    URL's project or run, and a 404 before the permission check would tell a stranger what exists.
    """

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        return user.has_perms(self.get_required_permissions(request.method, view.queryset.model))


class ActionPermission(BasePermission):
    """An action view names the permissions it needs in `required_permissions`."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perms(view.required_permissions))
