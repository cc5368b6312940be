"""The admin site: Django's, plus the project overview page, linked from the index.

Kept apart from `integration/admin/` because INSTALLED_APPS imports it before any model is loaded.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.urls import path


class P2CAdminSite(admin.AdminSite):
    site_header = "p2c administration"
    site_title = "p2c"
    index_title = "Sales ↔ Finance and Operations"
    index_template = "admin/p2c_index.html"

    def get_urls(self):
        from integration.admin.overview import overview_view

        return [path("overview/", self.admin_view(overview_view), name="overview"), *super().get_urls()]


class P2CAdminConfig(AdminConfig):
    default_site = "integration.adminsite.P2CAdminSite"
