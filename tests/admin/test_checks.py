"""The pre-flight check from the admin: the project's Check button checks both emulators over HTTPS, its
message links the result, and the result's page lists each problem with its field and fix."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integration.models import FieldMap, ProjectCheck
from tests.support.projects import small_project

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def project(dataverse, finops):
    return small_project(dataverse, finops)


def test_the_admin_checks_a_project_and_shows_each_problem_with_its_fix(project, admin_client_with_perms):
    check_button = reverse("admin:integration_project_button", args=[project.pk, "check"])
    admin_client_with_perms.post(check_button)
    clean = project.checks.get()
    assert (clean.status, clean.trigger, clean.requested_by) == (ProjectCheck.Status.CLEAN, "admin", "integrator")

    FieldMap.objects.filter(entity_map__project=project, entity_map__name="Accounts",
                            destination_field="CustomerGroupId").update(default_value="77")
    answer = admin_client_with_perms.post(check_button, follow=True).content.decode()

    found = project.checks.first()
    assert found.status == ProjectCheck.Status.ERRORS
    assert f'projectcheck/{found.pk}/change/">#{found.pk} Errors</a>' in answer  # the message links the result
    page = admin_client_with_perms.get(reverse("admin:integration_projectcheck_change", args=[found.pk]))
    text = page.content.decode()
    assert "<code>CustomerGroupId</code>" in text
    assert "&#x27;77&#x27; is not a CustomerGroups record in company usmf" in text
    project_page = admin_client_with_perms.get(reverse("admin:integration_project_change", args=[project.pk]))
    assert reverse("admin:integration_projectcheck_change", args=[found.pk]) in project_page.content.decode()
