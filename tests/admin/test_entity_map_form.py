"""An entity map's page in the admin: key fields are typed as a list of names and conditions one a line
(`field op value`), never as JSON; what is saved is what the engine reads, and a line it cannot read is refused
naming it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integration.models import EntityMap
from tests.support import factories

pytestmark = pytest.mark.django_db


def as_posted(response, **changes) -> dict:
    """What the page posts when saved unchanged (the map and its field-map lines), with `changes`."""
    def values(form, prefix: str = "") -> dict:
        found = {}
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            found[f"{prefix}{name}"] = "on" if value is True else value
        return found

    data = values(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update({f"{formset.prefix}-{name}": value for name, value in formset.management_form.initial.items()})
        for form in formset.forms:
            data.update(values(form, f"{form.prefix}-"))
    data.update(changes)
    return data


@pytest.fixture
def accounts():
    return factories.template_project().entity_maps.get(name="Accounts")


def test_key_fields_and_conditions_are_text_and_saved_as_the_engine_reads_them(admin_client_with_perms, accounts):
    url = reverse("admin:integration_entitymap_change", args=[accounts.pk])
    page = admin_client_with_perms.get(url)
    text = page.content.decode()
    assert 'value="accountnumber"' in text  # the key fields, as names
    assert "accountnumber not_blank" in text  # a condition, as a line
    assert "[{" not in text.split('id="content-main"')[1]  # no JSON to type anywhere

    response = admin_client_with_perms.post(url, as_posted(
        page, source_key_fields="accountnumber, name",
        conditions="accountnumber not_blank\ncustomertypecode in 3, 4\nmsdynce_isactivecustomer eq true"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    saved = EntityMap.objects.get(pk=accounts.pk)
    assert saved.source_key_fields == ["accountnumber", "name"]
    assert saved.conditions == [{"field": "accountnumber", "op": "not_blank"},
                                {"field": "customertypecode", "op": "in", "value": [3, 4]},
                                {"field": "msdynce_isactivecustomer", "op": "eq", "value": True}]


def test_a_condition_line_that_cannot_be_read_is_refused_naming_it(admin_client_with_perms, accounts):
    url = reverse("admin:integration_entitymap_change", args=[accounts.pk])
    page = admin_client_with_perms.get(url)

    response = admin_client_with_perms.post(url, as_posted(page, conditions="statecode equals 0"))

    assert response.status_code == 200
    [error] = response.context["adminform"].form.errors["conditions"]
    assert error.startswith("'statecode equals 0': expected field, then one of eq, ")
    assert EntityMap.objects.get(pk=accounts.pk).conditions == accounts.conditions  # nothing saved
