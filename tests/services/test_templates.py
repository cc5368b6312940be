"""Loading a template into a project: what is created, what a reload keeps, and the command's errors."""

from __future__ import annotations

import copy
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from integration.definitions import map_definition, project_definitions
from integration.mapping import source_fields
from integration.models import (
    ChangeCursor,
    Connection,
    EntityMap,
    FieldMap,
    KeyChange,
    KeyLink,
    Project,
    System,
)
from integration.services.templates import (
    TemplateError,
    organization_mappings_build,
    template_definitions,
    template_load,
    template_read,
    template_upgrade,
)

pytestmark = pytest.mark.django_db
MAP_NAMES = ["Products", "Product price list items", "Accounts", "Contacts", "Contacts to customers", "Quotes",
             "Quote lines", "Sales orders", "Sales order lines", "Sales orders from F&O", "Sales order lines from F&O",
             "Freight tax lines", "Sales invoices", "Sales invoice lines"]


def connection(name: str, system: str) -> Connection:
    return Connection.objects.create(name=name, system=system, base_url=f"https://{name}.example",
                                     authority="https://login.example/tenant", client_id="app")


@pytest.fixture
def sales() -> Connection:
    return connection("sales", System.DATAVERSE)


@pytest.fixture
def finops() -> Connection:
    return connection("finops", System.FINOPS)


def load(sales, finops, **kwargs) -> Project:
    return template_load(name="prospect_to_cash", project=kwargs.pop("project", "p2c"), sales_connection=sales,
                         finops_connection=finops, **kwargs)


# --- loading -------------------------------------------------------------------------------------------------------

def test_loading_creates_the_project_with_the_template_organization_mappings(sales, finops):
    project = load(sales, finops)
    assert (project.name, project.template, project.sales_connection, project.finops_connection) == \
        ("p2c", "prospect_to_cash", sales, finops)
    assert list(project.organization_mappings.order_by("business_unit").values_list(
        "business_unit", "legal_entity", "is_default", "exports_products")) == [
        ("Contoso DE", "demf", False, False), ("Contoso US", "usmf", True, True)]


def test_loading_creates_the_entity_maps_in_order_with_their_settings(sales, finops):
    project = load(sales, finops)
    maps = list(project.entity_maps.all())
    assert [(m.name, m.order, m.enabled) for m in maps] == [(name, n, True) for n, name in enumerate(MAP_NAMES, 1)]
    accounts = maps[2]
    assert (accounts.direction, accounts.source_entity_set, accounts.destination_entity_set,
            accounts.change_detection, accounts.source_key_fields, accounts.source_id_field,
            accounts.destination_key_fields, accounts.link_attributes, accounts.conditions) == (
        "sales_to_finops", "accounts", "CustomersV3", "change_tracking", ["accountnumber"], "accountid",
        ["dataAreaId", "CustomerAccount"], [], [{"field": "accountnumber", "op": "not_blank"}])
    assert maps[3].destination_api_key_fields == ["dataAreaId", "ContactPersonPartyNumber", "AssociatedContactType",
                                                  "AssociatedContactNumber"]
    assert maps[0].source_filter == "dataAreaId eq '{product_company}'"
    assert maps[0].destination_id_field == "productid"


def test_loading_creates_field_maps_in_order_with_their_value_maps(sales, finops):
    project = load(sales, finops)
    accounts = project.entity_maps.get(name="Accounts")
    fields = list(accounts.field_maps.values_list("destination_field", flat=True))
    assert fields[:4] == ["dataAreaId", "CustomerAccount", "PartyType", "OrganizationName"]
    group = accounts.field_maps.get(destination_field="CustomerGroupId")
    assert (group.default_value, group.transforms, group.source_field) == ("10", [], "")
    country = accounts.field_maps.get(destination_field="AddressCountryRegionId")
    entries = dict(country.value_map.values_list("source_value", "destination_value"))
    assert (entries[""], entries["Germany"], entries["US"]) == ("USA", "DEU", "USA")
    assert country.value_map_default is None


def test_the_loaded_definitions_equal_the_template_file(sales, finops):
    project = load(sales, finops)
    loaded = [definition for _, definition in project_definitions(project)]
    assert loaded == template_definitions(template=template_read(name="prospect_to_cash"))


def test_source_select_lists_every_field_a_map_reads(sales, finops):
    project = load(sales, finops)
    for entity_map, definition in project_definitions(project):
        assert entity_map.source_select == list(source_fields(definition))
    contacts = project.entity_maps.get(name="Contacts")
    assert {"msdynce_contactnumber", "contactid", "msdynce_isactivecustomer", "msdynce_iscompanyanaccount",
            "_parentcustomerid_value", "firstname"} <= set(contacts.source_select)


def test_map_definition_reads_field_maps_and_value_maps_together(sales, finops, django_assert_num_queries):
    entity_map = load(sales, finops).entity_maps.get(name="Accounts")
    with django_assert_num_queries(2):
        definition = map_definition(entity_map)
    assert definition.name == "Accounts"
    assert next(r for r in definition.fields if r.destination == "AddressCountryRegionId").value_map["DE"] == "DEU"


def test_project_definitions_reads_the_whole_project_at_once(sales, finops, django_assert_num_queries):
    project = load(sales, finops)
    with django_assert_num_queries(3):
        pairs = project_definitions(project)
    assert [entity_map.name for entity_map, _ in pairs] == MAP_NAMES
    assert all(entity_map.name == definition.name for entity_map, definition in pairs)


def test_custom_organization_mappings_replace_the_template_ones(sales, finops):
    project = load(sales, finops, organization_mappings=[
        {"business_unit": "Fabrikam", "legal_entity": "demf", "is_default": True, "exports_products": True}])
    assert list(project.organization_mappings.values_list("business_unit", "legal_entity")) == [("Fabrikam", "demf")]


# --- reloading -----------------------------------------------------------------------------------------------------

def test_loading_an_existing_project_without_replace_is_refused(sales, finops):
    load(sales, finops)
    with pytest.raises(TemplateError, match="project 'p2c' already exists; load with replace"):
        load(sales, finops)


def test_resetting_brings_the_maps_back_to_the_template_in_place_and_keeps_links_and_cursors(sales, finops):
    project = load(sales, finops)
    accounts = project.entity_maps.get(name="Accounts")
    link = KeyLink.objects.create(entity_map=accounts, source_key="ACC-1", destination_key="x",
                                  synced_at=timezone.now())
    cursor = ChangeCursor.objects.create(entity_map=accounts, value="https://sales.example/delta")
    accounts.field_maps.filter(destination_field="CustomerGroupId").update(default_value="90")
    FieldMap.objects.filter(entity_map__project=project, destination_field="LanguageId").delete()
    EntityMap.objects.filter(pk=accounts.pk).update(source_entity_set="changed", order=99)
    project.entity_maps.filter(name="Contacts").update(enabled=False)
    extra = EntityMap.objects.create(project=project, name="Custom", direction="sales_to_finops",
                                     source_entity_set="x", source_key_fields=["a"], change_detection="full_scan",
                                     destination_entity_set="y", destination_key_fields=["b"])

    again = template_upgrade(project=project, name="prospect_to_cash", sales_connection=sales,
                             finops_connection=finops, template=template_read(name="prospect_to_cash"),
                             reset=True).project

    assert again.pk == project.pk
    accounts = again.entity_maps.get(name="Accounts")
    assert (accounts.source_entity_set, accounts.order) == ("accounts", 3)
    assert KeyLink.objects.filter(pk=link.pk, entity_map=accounts).exists()
    assert ChangeCursor.objects.get(pk=cursor.pk).entity_map == accounts
    assert accounts.field_maps.get(destination_field="CustomerGroupId").default_value == "10"
    assert accounts.field_maps.filter(destination_field="LanguageId").exists()
    assert not again.entity_maps.get(name="Contacts").enabled  # the operator's switch stays
    extra.refresh_from_db()
    assert not extra.enabled  # no longer in the template: disabled, its links and history kept
    loaded = [d for m, d in project_definitions(again) if m.name != "Custom"]
    assert loaded == template_definitions(template=template_read(name="prospect_to_cash"))


def test_replacing_keeps_organization_mappings_unless_new_ones_are_given(sales, finops):
    load(sales, finops, organization_mappings=[
        {"business_unit": "Fabrikam", "legal_entity": "demf", "is_default": True, "exports_products": True}])
    project = load(sales, finops, replace=True)
    assert list(project.organization_mappings.values_list("business_unit", flat=True)) == ["Fabrikam"]
    project = load(sales, finops, replace=True, organization_mappings=[
        {"business_unit": "Contoso US", "legal_entity": "usmf", "is_default": True, "exports_products": True}])
    assert list(project.organization_mappings.values_list("business_unit", flat=True)) == ["Contoso US"]


def test_replace_also_creates_a_project_that_does_not_exist(sales, finops):
    assert load(sales, finops, replace=True).entity_maps.count() == len(MAP_NAMES)


# --- refusals ------------------------------------------------------------------------------------------------------

def test_an_unknown_template_is_refused(sales, finops):
    with pytest.raises(TemplateError, match="no template named 'nope' \\(available: prospect_to_cash\\)"):
        template_load(name="nope", project="p", sales_connection=sales, finops_connection=finops)


def test_connections_must_be_of_their_system(sales, finops):
    with pytest.raises(TemplateError, match="'finops' is not a Dynamics 365 Sales connection"):
        load(finops, finops)
    with pytest.raises(TemplateError, match="'sales' is not a Finance and Operations connection"):
        load(sales, sales)


def test_the_project_name_must_be_a_slug(sales, finops):
    with pytest.raises(TemplateError, match="must be letters, digits"):
        load(sales, finops, project="my project")


@pytest.mark.parametrize(("mappings", "message"), [
    ([{"business_unit": "A", "legal_entity": "usmf", "is_default": True},
      {"business_unit": "B", "legal_entity": "demf", "is_default": True, "exports_products": True}],
     "only one organization mapping can be the default legal entity"),
    ([{"business_unit": "A", "legal_entity": "usmf", "exports_products": True},
      {"business_unit": "B", "legal_entity": "demf", "exports_products": True}],
     "only one organization mapping can be the product company"),
    ([{"business_unit": "A", "legal_entity": "usmf"}], "name it \\(the product company\\)"),
    ([{"business_unit": " ", "legal_entity": "usmf", "exports_products": True}], "needs a business unit"),
    ([{"business_unit": "A", "legal_entity": "usmf", "exports_products": True},
      {"business_unit": "a", "legal_entity": "demf"}], "one legal entity only"),
])
def test_bad_organization_mappings_are_refused_and_nothing_is_written(sales, finops, mappings, message):
    with pytest.raises(TemplateError, match=message):
        load(sales, finops, organization_mappings=mappings)
    assert not Project.objects.exists()


def broken(change) -> dict:
    template = copy.deepcopy(template_read(name="prospect_to_cash"))
    change({spec["name"]: spec for spec in template["entity_maps"]})
    return template


@pytest.mark.parametrize(("change", "message"), [
    (lambda maps: maps["Contacts"]["field_maps"][2]["options"]["lookup"].update({"return": "attributes.PartyNumber"}),
     "Contacts: AssociatedContactNumber looks up Accounts, which does not keep attributes.PartyNumber"),
    (lambda maps: maps["Products"].update(destination_id_field=""),
     "Product price list items: productid@odata.bind looks up Products, which has no destination id field"),
    (lambda maps: maps["Quote lines"]["field_maps"][0]["options"]["lookup"].update(entity_maps=["Quote lines"]),
     "Quote lines: dataAreaId looks up Quote lines, which is not an earlier entity map"),
    (lambda maps: maps["Accounts"].update(direction="sideways"), "Accounts: invalid direction"),
    (lambda maps: maps["Accounts"].update(colour="blue"), "Accounts: unknown entity map fields \\['colour'\\]"),
    (lambda maps: maps["Accounts"]["field_maps"][0].update(transforms=["shout"]), "unknown transform 'shout'"),
    (lambda maps: maps["Accounts"]["field_maps"][0].update(colour="blue"), "unexpected keyword argument 'colour'"),
    (lambda maps: maps["Accounts"].pop("source_key_fields"), "Accounts: missing 'source_key_fields'"),
    (lambda maps: maps["Quotes"].update(name="Accounts"), "entity map names must be unique"),
    (lambda maps: maps["Contacts"].pop("destination_api_key_fields"), "Contacts: lookup fields find a record"),
    (lambda maps: maps["Accounts"].update(on_key_change="merge"),
     "Accounts: on_key_change must be one of rename, create_and_report"),
    (lambda maps: maps["Sales orders"].update(reverse_map="Quotes"),
     "Sales orders: its reverse map Quotes must be a map of the template that names Sales orders as its own"),
    (lambda maps: maps["Sales invoices"].update(reverse_map="Sales invoices"),
     "Sales invoices: its reverse map Sales invoices must sync the same entity sets the other way"),
    (lambda maps: maps["Sales orders"].update(system_of_record="dataverse"),
     "Sales orders and Sales orders from F&O must agree on the system of record"),
    (lambda maps: maps["Sales orders"].update(system_of_record="excel"),
     "Sales orders: system_of_record must be one of dataverse, finops"),
])
def test_a_faulty_template_is_refused_naming_the_fault(change, message):
    with pytest.raises(TemplateError, match=message):
        template_definitions(template=broken(change))


def test_each_map_says_what_a_key_change_does_a_reload_keeps_the_projects_choice_and_a_reset_brings_it_back(
        sales, finops):
    """F&O's keys cannot change, and whether a contact person's ContactPersonId may is not published: F&O maps
    create and report; Sales products are renamed (Dataverse lets an alternate-key column change)."""
    project = load(sales, finops)
    assert dict(project.entity_maps.values_list("name", "on_key_change")) == {
        name: KeyChange.RENAME if name == "Products" else KeyChange.CREATE_AND_REPORT for name in MAP_NAMES}
    project.entity_maps.filter(name="Accounts").update(on_key_change=KeyChange.RENAME)

    again = load(sales, finops, replace=True)

    assert again.entity_maps.get(name="Accounts").on_key_change == KeyChange.RENAME  # the project's own edit
    reset = template_upgrade(project=again, name="prospect_to_cash", template=template_read(name="prospect_to_cash"),
                             sales_connection=sales, finops_connection=finops, reset=True).project
    assert reset.entity_maps.get(name="Accounts").on_key_change == KeyChange.CREATE_AND_REPORT


def test_two_way_flows_load_as_pairs_of_reverse_maps_with_their_system_of_record(sales, finops):
    """p2c-templates 2.6: orders flow both ways, created only from Sales, F&O's from then on."""
    project = load(sales, finops)
    pairs = {m.name: (m.reverse_map.name if m.reverse_map else None, m.create_only, m.system_of_record)
             for m in project.entity_maps.select_related("reverse_map")}
    assert {name: pair for name, pair in pairs.items() if pair[0]} == {
        "Sales orders": ("Sales orders from F&O", True, "finops"),
        "Sales orders from F&O": ("Sales orders", False, "finops"),
        "Sales order lines": ("Sales order lines from F&O", True, "finops"),
        "Sales order lines from F&O": ("Sales order lines", False, "finops")}
    assert pairs["Accounts"] == (None, False, "")


def test_a_map_that_does_not_say_creates_and_reports_on_a_key_change():
    [accounts] = [spec for spec in template_read(name="prospect_to_cash")["entity_maps"] if spec["name"] == "Accounts"]
    spec = {key: value for key, value in accounts.items() if key != "on_key_change"}
    assert template_definitions(template={"entity_maps": [spec]})  # still a valid map
    assert spec.get("on_key_change", KeyChange.CREATE_AND_REPORT) == KeyChange.CREATE_AND_REPORT


# --- organization mappings from command-line pairs -----------------------------------------------------------------

TEMPLATE = template_read(name="prospect_to_cash")


def test_pairs_make_mappings_with_the_first_as_default_and_product_company():
    assert organization_mappings_build(pairs=[("Fabrikam US", "USMF"), ("Fabrikam DE", "demf")],
                                       default_legal_entity=None, product_company=None, template=TEMPLATE) == [
        {"business_unit": "Fabrikam US", "legal_entity": "usmf", "is_default": True, "exports_products": True},
        {"business_unit": "Fabrikam DE", "legal_entity": "demf", "is_default": False, "exports_products": False}]


def test_the_default_and_product_company_can_be_chosen():
    mappings = organization_mappings_build(pairs=[("A", "usmf"), ("B", "demf")], default_legal_entity="demf",
                                           product_company="usmf", template=TEMPLATE)
    assert [(m["is_default"], m["exports_products"]) for m in mappings] == [(False, True), (True, False)]


def test_without_pairs_the_template_mappings_get_the_chosen_flags():
    mappings = organization_mappings_build(pairs=[], default_legal_entity="demf", product_company=None,
                                           template=TEMPLATE)
    assert [(m["legal_entity"], m["is_default"], m["exports_products"]) for m in mappings] == [
        ("usmf", False, False), ("demf", True, True)]


def test_a_chosen_company_without_a_mapping_is_refused():
    with pytest.raises(TemplateError, match="no organization mapping has the legal entity 'gbsi'"):
        organization_mappings_build(pairs=[("A", "usmf")], default_legal_entity="gbsi", product_company=None,
                                    template=TEMPLATE)


# --- the command ---------------------------------------------------------------------------------------------------

def command(*args: str) -> str:
    out = StringIO()
    call_command("load_template", *args, stdout=out)
    return out.getvalue()


BASE = ("prospect_to_cash", "--project", "demo", "--sales-connection", "sales", "--finops-connection", "finops")


def test_the_command_loads_the_template(sales, finops):
    output = command(*BASE)
    assert output.startswith("created project demo from prospect_to_cash: 14 entity maps (Products, Product price "
                             "list items, Accounts,")
    assert "Contoso US=usmf (default)" in output
    assert Project.objects.get(name="demo").entity_maps.count() == 14


def test_the_command_takes_organization_mappings(sales, finops):
    command(*BASE, "--org", "Fabrikam US=usmf", "--org", "Fabrikam DE=demf", "--default-org", "demf",
            "--product-company", "usmf")
    mappings = Project.objects.get(name="demo").organization_mappings
    assert set(mappings.values_list("business_unit", "legal_entity", "is_default", "exports_products")) == {
        ("Fabrikam US", "usmf", False, True), ("Fabrikam DE", "demf", True, False)}


def test_the_command_replaces_with_replace(sales, finops):
    command(*BASE)
    with pytest.raises(CommandError, match="already exists"):
        command(*BASE)
    assert command(*BASE, "--replace").startswith("updated project demo")


@pytest.mark.parametrize(("args", "message"), [
    (("nope", *BASE[1:]), "no template named 'nope'"),
    ((*BASE[:4], "missing", *BASE[5:]), "no connection named 'missing' \\(known: finops, sales\\)"),
    ((*BASE[:6], "sales"), "'sales' is not a Finance and Operations connection"),
    ((*BASE, "--org", "Contoso US"), "--org 'Contoso US': expected BUSINESS_UNIT=LEGAL_ENTITY"),
    ((*BASE, "--org", "A=usmf", "--default-org", "demf"), "no organization mapping has the legal entity 'demf'"),
])
def test_the_command_explains_what_is_wrong(sales, finops, args, message):
    with pytest.raises(CommandError, match=message):
        command(*args)
    assert not Project.objects.exists()
