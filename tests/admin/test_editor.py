"""The mapping editor, against the emulators' metadata: fields offered from `$metadata`, a value map as a table of
plain text typed by the destination property, transforms as form fields, validation on save with the pre-flight
check's rules, "add the values that failed", and the preview of one record; then a template upgrade keeps an edit
made here and reports a conflicting one."""

from __future__ import annotations

import copy
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from integration.models import FieldMap, ProjectCheck, RecordStatus, RunStatus
from integration.services.environment_metadata import environments_forget
from integration.services.templates import template_read
from tests.support import factories
from tests.support.projects import prospect_to_cash_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(dataverse, finops):
    made = prospect_to_cash_project(dataverse, finops, name="contoso")
    yield made
    environments_forget(project=made)


def field_map(project, entity_map: str, destination: str) -> FieldMap:
    return FieldMap.objects.get(entity_map__project=project, entity_map__name=entity_map,
                                destination_field=destination)


def writes(emulator) -> int:
    return sum(n for methods in emulator.stats()["requests_by_entity_set"].values() for method, n in methods.items()
               if method != "GET")


def editor_url(fm: FieldMap) -> str:
    return reverse("admin:integration_fieldmap_change", args=[fm.pk])


def form_data(client, url: str, **changes) -> dict:
    """What the editor would post if nothing was changed, with `changes` (value map rows as value_rows=[...])."""
    response = client.get(url)
    form, formset = response.context["form"], response.context["formset"]
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or value is False:
            continue
        data[name] = value
    rows = changes.pop("value_rows", [(f.initial.get("source_value", ""), f.initial.get("destination_value", ""))
                                      for f in formset.forms if f.initial])
    data["value_map-TOTAL_FORMS"] = str(len(rows))
    data["value_map-INITIAL_FORMS"] = "0"
    for n, (source, target) in enumerate(rows):
        data[f"value_map-{n}-source_value"] = source
        data[f"value_map-{n}-destination_value"] = target
    data.update(changes)
    return data


def test_fields_are_offered_from_the_environments_metadata_and_nothing_is_json(admin_client_with_perms, project):
    page = admin_client_with_perms.get(editor_url(field_map(project, "Accounts", "AddressCountryRegionId")))
    text = page.content.decode()
    assert '<option value="CustomerGroupId">' in text  # a CustomerV3 property, for the destination field
    assert '<option value="address1_country">' in text  # an account column, for the source field
    assert "Edm.String" in text
    assert text.count("<textarea") == 1  # only the reference's "within" lines: plain text, no JSON anywhere
    assert '<textarea name="reference_where"' in text
    assert 'value="United States"' in text  # the value map, as a table of text boxes
    assert 'name="step_1"' in text


def test_a_value_map_target_is_text_and_a_number_only_where_the_property_is_one(admin_client_with_perms, project):
    country = field_map(project, "Accounts", "AddressCountryRegionId")
    url = editor_url(country)
    rows = [(e.source_value, e.destination_value) for e in country.value_map.all()] + [("Greece", "GRC")]
    response = admin_client_with_perms.post(url, form_data(admin_client_with_perms, url, value_rows=rows))
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert country.value_map.get(source_value="Greece").destination_value == "GRC"
    assert field_map(project, "Accounts", "AddressCountryRegionId").pk == country.pk

    kind = field_map(project, "Products", "producttypecode")  # Edm.Int32 in Sales
    url = editor_url(kind)
    wrong = admin_client_with_perms.post(url, form_data(admin_client_with_perms, url,
                                                        value_rows=[("Item", "1"), ("Service", "three")]))
    assert "&#x27;three&#x27; is not a whole number" in wrong.content.decode()
    admin_client_with_perms.post(url, form_data(admin_client_with_perms, url,
                                                value_rows=[("Item", "1"), ("Service", "3"), ("Kit", "2")]))
    assert dict(kind.value_map.values_list("source_value", "destination_value")) == {"Item": 1, "Service": 3,
                                                                                     "Kit": 2}


def test_an_edit_the_environment_refuses_is_not_saved_unless_asked(admin_client_with_perms, project):
    group = field_map(project, "Accounts", "CustomerGroupId")
    url = editor_url(group)

    response = admin_client_with_perms.post(url, form_data(admin_client_with_perms, url, default_value="99"))

    text = response.content.decode()
    assert response.status_code == 200
    assert "This edit would bring 2 problems" in text  # one per legal entity of the project
    assert "&#x27;99&#x27; is not a CustomerGroups record in company usmf" in text
    assert field_map(project, "Accounts", "CustomerGroupId").default_value == "10"
    admin_client_with_perms.post(url, form_data(admin_client_with_perms, url, default_value="99",
                                                save_anyway="on"))
    assert field_map(project, "Accounts", "CustomerGroupId").default_value == "99"

    unknown = admin_client_with_perms.post(url, form_data(admin_client_with_perms, url,
                                                          destination_field="CustomerGroupCode"))
    assert "CustomerV3 has no property CustomerGroupCode" in unknown.content.decode()


def test_transforms_and_their_options_are_form_fields(admin_client_with_perms, project):
    currency = field_map(project, "Accounts", "SalesCurrencyCode")
    url = editor_url(currency)
    form = admin_client_with_perms.get(url).context["form"]
    assert (form.initial["step_1"], form.initial["reference_entity_set"], form.initial["reference_return_field"]) \
        == ("reference", "transactioncurrencies", "isocurrencycode")

    admin_client_with_perms.post(url, form_data(admin_client_with_perms, url, step_2="format",
                                                format_template="{value}"))

    currency = field_map(project, "Accounts", "SalesCurrencyCode")
    assert currency.transforms == ["reference", "format"]
    assert currency.options["format"] == {"template": "{value}"}
    assert currency.options["reference"]["match_field"] == "transactioncurrencyid"


def test_the_values_that_failed_are_added_to_the_value_map_table(admin_client_with_perms, project):
    country = field_map(project, "Accounts", "AddressCountryRegionId")
    run = factories.run(project, status=RunStatus.WARNING, records=[("Accounts", RecordStatus.FAILED)])
    run.records.update(error_field="AddressCountryRegionId", error_message="no value map entry for 'Atlantis'")
    page = admin_client_with_perms.get(editor_url(country)).content.decode()
    assert "Add the 1 value that failed" in page
    assert "1 record failing on this field" in page

    response = admin_client_with_perms.get(editor_url(country), {"add_failed": "1"})

    sources = [f.initial["source_value"] for f in response.context["formset"].forms if f.initial]
    assert sources[-1] == "Atlantis"
    assert "Save and retry the 1 record failing on this field" in response.content.decode()


def test_the_preview_shows_the_payload_and_what_differs_at_the_destination(admin_client_with_perms, project,
                                                                          dataverse, finops):
    dataverse.seed(accounts=3, seed=7)
    account = next(a for a in dataverse.rows("accounts") if a.get("accountnumber"))
    finops.session.post(f"{finops.api_url}CustomersV3", params={"cross-company": "true"},
                        headers=finops.auth_headers(), json={
                            "dataAreaId": "usmf", "CustomerAccount": account["accountnumber"], "PartyType":
                            "Organization", "OrganizationName": "An old name", "CustomerGroupId": "10",
                            "SalesCurrencyCode": "USD"}).raise_for_status()
    accounts = project.entity_maps.get(name="Accounts")

    response = admin_client_with_perms.get(reverse("admin:integration_entitymap_preview", args=[accounts.pk]),
                                           {"key": account["accountnumber"]})

    text = response.content.decode()
    assert 'data-outcome="update"' in text
    rows = {row["field"]: row for row in response.context["rows"]}
    assert rows["OrganizationName"]["differs"]
    assert rows["OrganizationName"]["holds"] == "An old name"
    assert rows["OrganizationName"]["sends"] == account["name"]
    assert not rows["CustomerAccount"]["differs"]
    missing = admin_client_with_perms.get(reverse("admin:integration_entitymap_preview", args=[accounts.pk]),
                                          {"key": "NO-SUCH-ACCOUNT"})
    assert "has no record with accountnumber &#x27;NO-SUCH-ACCOUNT&#x27;" in missing.content.decode()


def test_an_unsaved_edit_is_previewed_on_a_record_and_nothing_is_saved_or_written(admin_client_with_perms, project,
                                                                                 dataverse, finops):
    dataverse.seed(accounts=3, seed=7)
    account = next(a for a in dataverse.rows("accounts") if a.get("accountnumber"))
    name = field_map(project, "Accounts", "OrganizationName")
    url = editor_url(name)
    writes_before = writes(finops)

    response = admin_client_with_perms.post(url, form_data(
        admin_client_with_perms, url, step_1="format", format_template="{value} (US)", _preview="Preview",
        preview_key=account["accountnumber"]))

    text = response.content.decode()
    assert "With this edit (not saved)" in text
    assert 'data-outcome="create"' in text
    rows = {row["field"]: row for row in response.context["rows"]}
    assert rows["OrganizationName"]["sends"] == f"{account['name']} (US)"
    assert rows["OrganizationName"]["focus"]
    assert field_map(project, "Accounts", "OrganizationName").transforms == name.transforms  # not saved
    assert writes(finops) == writes_before
    keyless = admin_client_with_perms.post(url, form_data(admin_client_with_perms, url, _preview="Preview"))
    assert "Give a source record&#x27;s key to preview the edit with." in keyless.content.decode()


def test_the_check_button_reports_the_check_with_a_link(admin_client_with_perms, project):
    page = admin_client_with_perms.post(reverse("admin:integration_project_button", args=[project.pk, "check"]),
                                        follow=True).content.decode()
    check = ProjectCheck.objects.get()
    assert f"#{check.pk} Clean</a> (0 errors, 0 warnings," in page


def upgrade(tmp_path, template: dict) -> tuple[int, str]:
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    out = StringIO()
    code = 0
    try:
        call_command("load_template", "prospect_to_cash", "--project", "contoso", "--sales-connection",
                     "contoso-sales", "--finops-connection", "contoso-finops", "--file", str(path), "--replace",
                     stdout=out, stderr=StringIO())
    except SystemExit as exit_:
        code = exit_.code
    return code, out.getvalue()


def next_template() -> dict:
    template = copy.deepcopy(template_read(name="prospect_to_cash"))
    accounts = next(m for m in template["entity_maps"] if m["name"] == "Accounts")
    fields = {f["destination_field"]: f for f in accounts["field_maps"]}
    fields["AddressCountryRegionId"]["value_map"]["Austria"] = "AUT"
    fields["CustomerGroupId"]["default_value"] = "20"
    return template


def test_a_value_map_edit_made_here_survives_a_template_upgrade_and_a_conflict_is_reported(
        admin_client_with_perms, project, tmp_path):
    country = field_map(project, "Accounts", "AddressCountryRegionId")
    url = editor_url(country)
    rows = [(e.source_value, e.destination_value) for e in country.value_map.all()] + [("Greece", "GRC")]
    assert admin_client_with_perms.post(url, form_data(admin_client_with_perms, url, value_rows=rows)
                                        ).status_code == 302

    code, output = upgrade(tmp_path, next_template())

    assert code == 0, output
    entries = dict(field_map(project, "Accounts", "AddressCountryRegionId").value_map.values_list(
        "source_value", "destination_value"))
    assert (entries["Greece"], entries["Austria"]) == ("GRC", "AUT")  # the edit kept, the template's change taken
    assert field_map(project, "Accounts", "AddressCountryRegionId").pk == country.pk  # updated in place
    assert field_map(project, "Accounts", "CustomerGroupId").default_value == "20"
    assert "the project's own edits kept: 1; conflicts: 0" in output

    group_url = editor_url(field_map(project, "Accounts", "CustomerGroupId"))
    admin_client_with_perms.post(group_url, form_data(admin_client_with_perms, group_url, default_value="10"))
    changed = next_template()
    next(f for m in changed["entity_maps"] if m["name"] == "Accounts" for f in m["field_maps"]
         if f["destination_field"] == "CustomerGroupId")["default_value"] = "30"

    code, output = upgrade(tmp_path, changed)

    assert code == 1
    assert ("! entity maps / Accounts / field maps / CustomerGroupId / default_value: the template changed it from "
            '"20" to "30", the project to "10"; kept the project\'s') in output
    assert field_map(project, "Accounts", "CustomerGroupId").default_value == "10"
