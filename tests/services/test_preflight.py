"""The pre-flight check against the emulators over HTTPS: clean for the template as shipped, and every deliberately
broken map reported at once, naming the entity map, the field and the fix, with nothing written anywhere."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from integration.models import EntityMap, FieldMap, ProjectCheck, RecordSync, RunStatus, SyncRun, ValueMapEntry
from integration.services.preflight import project_check
from tests.support import factories
from tests.support.projects import run_and_wait, small_project

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def project(dataverse, finops):
    return small_project(dataverse, finops)


def problems(check: ProjectCheck) -> set[tuple[str, str, str]]:
    return {(p["severity"], p["entity_map"], p["field"]) for p in check.problems}


def command(name: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("check_project", name, stdout=out)
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


def test_the_template_as_shipped_is_clean_against_the_emulators(project, dataverse, finops):
    code, out = command(project.name)
    assert code == 0, out
    assert f"of {project.name}: clean (0 errors, 0 warnings)" in out
    check = project.checks.get()
    assert (check.status, check.problems, check.trigger) == (ProjectCheck.Status.CLEAN, [], "command")
    for handle in (dataverse, finops):  # a check only reads
        methods = {method for counts in handle.stats()["requests_by_entity_set"].values() for method in counts}
        assert methods == {"GET"}


def test_every_deliberate_break_is_reported_at_once_with_its_fix_and_exit_2(project, dataverse, finops):
    accounts = EntityMap.objects.get(project=project, name="Accounts")
    FieldMap.objects.filter(entity_map=accounts, destination_field="OrganizationName").update(
        destination_field="OrganisationName")  # a field CustomersV3 does not have
    unit = FieldMap.objects.get(entity_map__project=project, entity_map__name="Products",
                                destination_field="defaultuomid@odata.bind")
    ValueMapEntry.objects.create(field_map=unit, source_value="crate", destination_value="crate")
    FieldMap.objects.filter(entity_map=accounts, destination_field="CustomerGroupId").update(default_value="77")
    dataverse.control("PUT", "environment", {"change_tracking": {"contacts": False}})
    dataverse.control("PUT", "environment", {"alternate_keys": {"products": {
        "productnumber": {"columns": ["productnumber"], "status": "Pending"}}}})

    code, out = command(project.name)

    assert code == 2
    found = problems(project.checks.get())
    assert ("error", "Accounts", "OrganisationName") in found
    assert ("error", "Products", "defaultuomid@odata.bind") in found
    assert ("error", "Accounts", "CustomerGroupId") in found
    assert {("error", "Contacts", "change_detection"), ("error", "Contacts to customers", "change_detection")} <= found
    assert ("error", "Products", "destination key") in found
    assert "no uoms record in Sales has name 'crate' within 'Default Unit'" in out
    assert "'77' is not a CustomerGroups record in company usmf" in out
    assert "change tracking is not enabled on the Sales table contact" in out
    assert "the alternate key" in out
    assert "is Pending, not Active" in out
    assert out.count("fix: ") == len(project.checks.get().problems)


def test_a_wrong_key_a_null_risk_and_a_misspelled_enum_are_errors(project):
    lines = EntityMap.objects.get(project=project, name="Quote lines")
    EntityMap.objects.filter(pk=lines.pk).update(destination_key_fields=["dataAreaId", "InventoryLotId"])
    FieldMap.objects.filter(entity_map__project=project, entity_map__name="Quotes",
                            destination_field="SalesQuotationExpiryDate").update(omit_blank=False)
    contacts = EntityMap.objects.get(project=project, name="Contacts")
    FieldMap.objects.filter(entity_map=contacts, destination_field="AssociatedContactType").update(
        options={"constant": {"value": "customer"}})

    check = project_check(project=project, trigger="api")

    messages = {p["field"]: p["message"] for p in check.problems}
    assert check.status == ProjectCheck.Status.ERRORS
    assert "not by dataAreaId, InventoryLotId" in messages["destination key"]
    assert "cannot be null in F&O" in messages["SalesQuotationExpiryDate"]
    assert messages["AssociatedContactType"] == (
        "'customer' is not a member of smmContactPersonCDSAssociatedContactType (the member is spelled 'Customer')")


def test_a_two_way_flow_that_does_not_pair_up_or_names_two_systems_of_record_is_an_error(project):
    orders = EntityMap.objects.get(project=project, name="Sales orders")
    lines = EntityMap.objects.get(project=project, name="Sales order lines")
    EntityMap.objects.filter(pk=lines.pk).update(reverse_map=orders)  # orders do not sync lines back
    EntityMap.objects.filter(pk=orders.pk).update(system_of_record="dataverse")  # the reverse map says F&O

    check = project_check(project=project, trigger="api")

    messages = {(p["entity_map"], p["field"]): p["message"] for p in check.problems}
    assert messages[("Sales order lines", "reverse_map")] == (
        "its reverse map Sales orders does not sync CDSSalesOrderLines back to salesorderdetails naming Sales order "
        "lines as its own reverse map")
    assert messages[("Sales orders", "system_of_record")] == (
        "Sales orders and Sales orders from F&O name different systems of record")


def test_a_full_run_starts_with_the_check_and_syncs_nothing_when_it_finds_errors(project, dataverse, finops,
                                                                                  celery_worker):
    FieldMap.objects.filter(entity_map__project=project, entity_map__name="Accounts",
                            destination_field="CustomerGroupId").update(default_value="77")

    run = run_and_wait(project, mode=SyncRun.Mode.FULL)

    assert run.status == RunStatus.FAILED
    assert run.preflight.status == ProjectCheck.Status.ERRORS
    assert "pre-flight check" in run.message
    assert "CustomerGroupId" in run.message
    assert not RecordSync.objects.filter(run=run).exists()
    assert finops.rows("CustomersV3", **{"cross-company": "true"}) == []
    assert dataverse.rows("products") == []

    forced = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Products"], check=False)
    assert (forced.status, forced.preflight) == (RunStatus.SUCCEEDED, None)
    assert len(dataverse.rows("products")) == 5


def client_of(name: str, *perms: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(factories.user(name, staff=False, perms=[f"integration.{p}" for p in perms]))
    return client


def test_the_api_checks_a_project_for_users_who_may_start_runs(project):
    url = f"/api/projects/{project.name}/check/"
    assert client_of("reader", "view_project").post(url).status_code == 403
    response = client_of("operator", "view_project", "add_syncrun").post(url)
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["problems"]) == ("clean", [])


def test_warnings_alone_exit_1_and_say_what_to_fix(project):
    mapping = project.organization_mappings.get(is_default=True)
    project.organization_mappings.create(business_unit="Contoso Atlantis", legal_entity=mapping.legal_entity)

    code, out = command(project.name)

    assert code == 1, out
    assert "WARNING organization mappings: business unit 'Contoso Atlantis' does not exist in Sales" in out
    assert f"of {project.name}: warnings (0 errors, 1 warnings)" in out
    assert project.checks.get().status == ProjectCheck.Status.WARNINGS



def test_no_active_price_list_in_the_product_companys_currency_is_a_warning_with_its_fix(project, dataverse):
    """The Prospect to cash solution adds each synced product to the first price list of its currency; without
    one, products fail to sync (p2c-templates 2.4)."""
    usd = dataverse.rows("transactioncurrencies", **{"$filter": "isocurrencycode eq 'USD'"})[0]
    for price_list in dataverse.rows("pricelevels", **{
            "$filter": f"_transactioncurrencyid_value eq {usd['transactioncurrencyid']}"}):
        answer = dataverse.session.patch(f"{dataverse.api_url}pricelevels({price_list['pricelevelid']})",
                                         json={"statecode": 1}, headers=dataverse.auth_headers())
        assert answer.status_code == 204, answer.text

    code, out = command(project.name)

    assert code == 1, out
    assert "WARNING Products / price list: Sales has no active price list in USD, the currency of the product " \
           "company usmf" in out
    assert "fix: create a price list in USD in Sales" in out


def test_a_value_copied_as_it_is_into_a_property_of_another_type_is_an_error(project):
    """OData refuses a JSON number for an Edm.String (and text for a number): a copy across types needs a
    transform, and the check says so before any record is refused."""
    FieldMap.objects.filter(entity_map__project=project, entity_map__name="Accounts",
                            destination_field="OrganizationName").update(source_field="numberofemployees")

    check = project_check(project=project, trigger="test")

    [problem] = [p for p in check.problems if p["field"] == "OrganizationName"]
    assert problem["severity"] == "error"
    assert problem["message"] == ("numberofemployees (Edm.Int32, a number) is copied as it is into OrganizationName "
                                  "(Edm.String, text)")
    assert problem["fix"].startswith("add a transform that gives text")
