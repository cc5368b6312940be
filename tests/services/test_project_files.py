"""Maps as files: export (stable, no ids, no secrets), import in place, diffs, and the three-way template upgrade
that keeps a project's own edits and reports conflicts."""

from __future__ import annotations

import copy
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from integration.models import ChangeCursor, Connection, EntityMap, FieldMap, KeyLink, System, ValueMapEntry
from integration.services.field_maps import value_map_save
from integration.services.project_files import (
    document_text,
    documents_diff,
    project_document,
    project_import,
)
from integration.services.templates import UpgradeRefused, template_load, template_read, template_upgrade

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    sales = Connection.objects.create(name="sales", system=System.DATAVERSE, base_url="https://sales.example",
                                      authority="https://login.microsoftonline.com/t", client_id="a",
                                      client_secret="never-exported")
    fno = Connection.objects.create(name="fno", system=System.FINOPS, base_url="https://fno.example",
                                    authority="https://login.microsoftonline.com/t", client_id="a")
    return template_load(name="prospect_to_cash", project="contoso", sales_connection=sales, finops_connection=fno)


def country(project) -> FieldMap:
    return FieldMap.objects.get(entity_map__project=project, entity_map__name="Accounts",
                                destination_field="AddressCountryRegionId")


def upgraded(project, template: dict, **options):
    return template_upgrade(project=project, name="prospect_to_cash", template=template,
                            sales_connection=project.sales_connection, finops_connection=project.finops_connection,
                            **options)


# --- export and import ---------------------------------------------------------------------------------------------
def test_an_export_is_stable_and_holds_no_ids_and_no_secrets(project):
    text = document_text(project_document(project=project))
    assert text == document_text(project_document(project=project))
    document = json.loads(text)
    assert [m["name"] for m in document["entity_maps"]][:3] == ["Products", "Product price list items", "Accounts"]
    assert '"id"' not in text
    assert "never-exported" not in text
    accounts = next(m for m in document["entity_maps"] if m["name"] == "Accounts")
    assert accounts["field_maps"][0]["destination_field"] == "dataAreaId"  # field maps in their order
    values = next(f for f in accounts["field_maps"] if f["destination_field"] == "AddressCountryRegionId")
    assert list(values["value_map"]) == sorted(values["value_map"])


def test_the_command_prints_the_export(project):
    out = StringIO()
    call_command("export_project", "contoso", stdout=out)
    assert out.getvalue() == document_text(project_document(project=project))


def test_importing_a_file_applies_it_in_place_and_round_trips(project):
    accounts = project.entity_maps.get(name="Accounts")
    link = KeyLink.objects.create(entity_map=accounts, source_key="A-1", destination_key="x",
                                  synced_at=timezone.now())
    cursor = ChangeCursor.objects.create(entity_map=accounts, value="delta")
    field_id = country(project).pk
    document = project_document(project=project)
    accounts_spec = next(m for m in document["entity_maps"] if m["name"] == "Accounts")
    spec = next(f for f in accounts_spec["field_maps"] if f["destination_field"] == "AddressCountryRegionId")
    spec["value_map"]["Greece"] = "GRC"
    accounts_spec["field_maps"] = [f for f in accounts_spec["field_maps"] if f["destination_field"] != "LanguageId"]

    assert [str(c) for c in documents_diff(project_document(project=project), document)] == [
        '+ entity maps / Accounts / field maps / AddressCountryRegionId / value_map / Greece: "GRC"',
        "- entity maps / Accounts / field maps / LanguageId (was a field map)",
    ]
    project_import(document=document, name="contoso")

    assert country(project).pk == field_id  # in place: same field map
    assert dict(country(project).value_map.values_list("source_value", "destination_value"))["Greece"] == "GRC"
    assert not FieldMap.objects.filter(entity_map=accounts, destination_field="LanguageId").exists()
    assert KeyLink.objects.filter(pk=link.pk).exists()
    assert ChangeCursor.objects.filter(pk=cursor.pk).exists()
    assert documents_diff(project_document(project=project), document) == []


def test_a_file_makes_a_new_project_and_diffs_between_projects_and_files(project, tmp_path):
    path = Path(tmp_path / "maps.json")
    path.write_text(document_text(project_document(project=project)))
    out = StringIO()
    call_command("import_project", str(path), "--project", "copy", "--sales-connection", "sales",
                 "--finops-connection", "fno", stdout=out)
    assert "created project copy" in out.getvalue()
    value_map_save(field_map=FieldMap.objects.get(entity_map__project__name="copy", entity_map__name="Accounts",
                                                  destination_field="AddressCountryRegionId"),
                   entries={"Atlantis": "ATL"})
    out = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("diff_projects", str(path), "copy", stdout=out)
    assert exit_.value.code == 1
    lines = out.getvalue().splitlines()
    assert '+ entity maps / Accounts / field maps / AddressCountryRegionId / value_map / Atlantis: "ATL"' in lines
    assert lines[-1].startswith(f"{len(lines) - 1} difference(s) between {path} and copy")


# --- the three-way upgrade -------------------------------------------------------------------------------------------
def changed_template() -> dict:
    """The next version of the template: a new country in the value map, a new default customer group."""
    template = copy.deepcopy(template_read(name="prospect_to_cash"))
    accounts = next(m for m in template["entity_maps"] if m["name"] == "Accounts")
    fields = {f["destination_field"]: f for f in accounts["field_maps"]}
    fields["AddressCountryRegionId"]["value_map"]["Austria"] = "AUT"
    fields["CustomerGroupId"]["default_value"] = "20"
    return template


def test_an_upgrade_applies_the_templates_changes_and_keeps_the_projects_edits(project):
    value_map_save(field_map=country(project), entries={
        **dict(country(project).value_map.values_list("source_value", "destination_value")), "Greece": "GRC"})
    kept_entry = ValueMapEntry.objects.get(field_map=country(project), source_value="Germany").pk

    upgrade = upgraded(project, changed_template())

    entries = dict(country(project).value_map.values_list("source_value", "destination_value"))
    assert (entries["Greece"], entries["Austria"]) == ("GRC", "AUT")
    assert ValueMapEntry.objects.filter(pk=kept_entry).exists()
    group = FieldMap.objects.get(entity_map__project=project, destination_field="CustomerGroupId",
                                 entity_map__name="Accounts")
    assert group.default_value == "20"
    assert upgrade.report.conflicts == []
    assert [c.path[-1] for c in upgrade.report.kept] == ["Greece"]
    assert sorted(c.path[-1] for c in upgrade.report.applied) == ["Austria", "default_value"]


def test_an_edit_both_sides_made_differently_is_a_conflict_that_keeps_the_project_value(project):
    FieldMap.objects.filter(entity_map__project=project, entity_map__name="Accounts",
                            destination_field="CustomerGroupId").update(default_value="30")

    upgrade = upgraded(project, changed_template())

    (conflict,) = upgrade.report.conflicts
    assert conflict.path == ("entity maps", "Accounts", "field maps", "CustomerGroupId", "default_value")
    assert (conflict.base, conflict.ours, conflict.theirs) == ("10", "30", "20")
    assert "kept the project's" in str(conflict)
    assert FieldMap.objects.get(entity_map__project=project, entity_map__name="Accounts",
                                destination_field="CustomerGroupId").default_value == "30"
    assert dict(country(project).value_map.values_list("source_value", "destination_value"))["Austria"] == "AUT"


def test_a_project_without_its_template_is_refused_unless_reset(project):
    project.template_base = None
    project.save()
    with pytest.raises(UpgradeRefused, match="export_project contoso"):
        upgraded(project, changed_template())
    upgrade = upgraded(project, changed_template(), reset=True)
    assert project.template_base == changed_template()
    assert len(upgrade.report.applied) == 2


def test_two_way_settings_go_out_in_a_file_and_come_back(project):
    """A reverse map is named in the file, and a file that pairs two maps pairs them in the project."""
    document = project_document(project=project)
    orders = next(m for m in document["entity_maps"] if m["name"] == "Sales orders")
    assert orders["reverse_map"] == "Sales orders from F&O"
    assert orders["create_only"] is True
    assert orders["system_of_record"] == "finops"

    EntityMap.objects.filter(project=project, name__startswith="Sales order").update(reverse_map=None)
    project_import(document=document, name="contoso")

    pairs = dict(project.entity_maps.filter(reverse_map__isnull=False).values_list("name", "reverse_map__name"))
    assert pairs["Sales orders"] == "Sales orders from F&O"
    assert pairs["Sales orders from F&O"] == "Sales orders"
    assert pairs["Sales order lines"] == "Sales order lines from F&O"
