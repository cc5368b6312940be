"""Buttons on an object's own page (run now, cancel, retry, ignore...), where people look for them, instead of
only in the list page's action menu. Each button posts to a URL of its admin, which checks the permission the
button names and calls a service; a button may also be a plain link (to a page with a form of its own)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse


@dataclass(frozen=True)
class Button:
    name: str
    label: str
    permission: str  # "app_label.codename"
    handler: Callable[[HttpRequest, object], HttpResponse | None] | None = None  # None: a link
    url: str = ""  # for a link
    title: str = ""
    danger: bool = False


class ButtonsMixin:
    """For a ModelAdmin: `object_buttons(request, obj)` lists the buttons that apply to `obj` now."""

    change_form_template = "admin/integration/change_form_buttons.html"

    def object_buttons(self, request: HttpRequest, obj) -> list[Button]:
        return []

    def _button_url_name(self) -> str:
        meta = self.model._meta
        return f"{meta.app_label}_{meta.model_name}_button"

    def get_urls(self):
        own = [path("<path:object_id>/button/<slug:name>/", self.admin_site.admin_view(self.button_view),
                    name=self._button_url_name())]
        return own + super().get_urls()

    def _allowed(self, request: HttpRequest, obj) -> list[Button]:
        return [button for button in self.object_buttons(request, obj) if request.user.has_perm(button.permission)]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        shown = []
        if obj is not None:
            for button in self._allowed(request, obj):
                url = button.url or reverse(f"admin:{self._button_url_name()}", args=[obj.pk, button.name])
                shown.append({"label": button.label, "url": url, "post": button.handler is not None,
                              "title": button.title, "danger": button.danger, "name": button.name})
        extra_context = {**(extra_context or {}), "p2c_buttons": shown}
        return super().change_view(request, object_id, form_url, extra_context)

    def button_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, object_id)
        if obj is None or not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        button = next((b for b in self.object_buttons(request, obj) if b.name == name and b.handler), None)
        back = reverse(f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_change", args=[obj.pk])
        if button is None:
            self.message_user(request, "That is not something this page can do now.", messages.WARNING)
            return HttpResponseRedirect(back)
        if not request.user.has_perm(button.permission):
            raise PermissionDenied
        return button.handler(request, obj) or HttpResponseRedirect(back)
