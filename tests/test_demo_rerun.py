"""The demo can be run again at any time: it replaces its own project and points its own connections at the new
emulators, even after someone loaded the template onto those connections (the README's example), instead of
failing to delete connections another project uses."""

from __future__ import annotations

from io import StringIO

import pytest

from integration.demo.runner import PROJECT, Demo
from integration.models import Connection, Project
from integration.services.templates import template_load

pytestmark = pytest.mark.django_db


def test_the_demo_project_is_made_again_on_connections_another_project_uses(dataverse_emulator, finops_emulator):
    demo = Demo(out=StringIO(), sizes={}, port=0)
    first = demo.project(dataverse_emulator.emulator, finops_emulator.emulator)
    connections = {c.name: c.pk for c in Connection.objects.all()}
    theirs = template_load(name="prospect_to_cash", project="contoso", sales_connection=first.sales_connection,
                           finops_connection=first.finops_connection)
    Connection.objects.filter(pk=first.sales_connection_id).update(base_url="https://127.0.0.1:1")  # gone since

    again = demo.project(dataverse_emulator.emulator, finops_emulator.emulator)

    assert again.name == PROJECT
    assert again.pk != first.pk  # its own project is made afresh (its links pointed at emulators long gone)
    assert {c.name: c.pk for c in Connection.objects.all()} == connections  # the same connections, updated
    theirs = Project.objects.get(pk=theirs.pk)
    assert theirs.sales_connection.base_url == dataverse_emulator.origin
    assert theirs.finops_connection.base_url == finops_emulator.origin
