"""Rows for tests of the admin, the API and the webhooks: users with given permissions, projects, runs, records."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.contrib.auth.models import Permission, User
from django.utils import timezone

from integration.models import (
    ChangeDetection,
    Connection,
    Direction,
    EntityMap,
    FieldMap,
    Project,
    RecordStatus,
    RecordSync,
    RunStatus,
    StageStatus,
    SyncRun,
    SyncStage,
    System,
)
from integration.services.runs import run_counts
from integration.services.templates import template_load

ALL = "all"


def user(username: str = "admin", *, perms: Iterable[str] | str = (), staff: bool = True) -> User:
    """A user with the named permissions ("integration.view_syncrun"), or every integration one with ALL."""
    person = User.objects.create_user(username, f"{username}@example.com", "pw-" + username, is_staff=staff)
    if perms == ALL:
        person.user_permissions.set(Permission.objects.filter(content_type__app_label="integration"))
    else:
        for name in perms:
            app_label, codename = name.split(".")
            person.user_permissions.add(Permission.objects.get(content_type__app_label=app_label,
                                                               codename=codename))
    return User.objects.get(pk=person.pk)  # a fresh object: no cached permissions


def connection(name: str, system: str, **fields) -> Connection:
    defaults = {"base_url": f"https://{name}.example", "authority": "https://login.microsoftonline.com/contoso",
                "client_id": "app", "client_secret": "s3cret-" + name}
    return Connection.objects.create(name=name, system=system, **{**defaults, **fields})


def project(name: str = "p2c", **fields) -> Project:
    sales = Connection.objects.filter(system=System.DATAVERSE).first() or connection(f"{name}-sales",
                                                                                     System.DATAVERSE)
    finops = Connection.objects.filter(system=System.FINOPS).first() or connection(f"{name}-finops", System.FINOPS)
    made = Project.objects.create(name=name, sales_connection=sales, finops_connection=finops, **fields)
    for order, (map_name, source, destination) in enumerate([("Accounts", "accounts", "CustomersV3"),
                                                             ("Contacts", "contacts", "CDSContactPersons")]):
        entity_map = EntityMap.objects.create(
            project=made, name=map_name, order=order, direction=Direction.SALES_TO_FINOPS,
            source_entity_set=source, source_key_fields=["number"], source_id_field="id",
            change_detection=ChangeDetection.CHANGE_TRACKING, destination_entity_set=destination,
            destination_key_fields=["Number"])
        FieldMap.objects.create(entity_map=entity_map, destination_field="Number", source_field="number")
    return made


def run(project: Project, *, status: str = RunStatus.SUCCEEDED, mode: str = SyncRun.Mode.INCREMENTAL,
        records: Iterable[tuple[str, str]] = (), is_bulk: bool = True, age: timedelta = timedelta(0),
        trigger: str = SyncRun.Trigger.SCHEDULE) -> SyncRun:
    """A run with one stage per entity map; `records` are (entity map name, status) pairs."""
    now = timezone.now() - age
    finished = status not in (RunStatus.QUEUED, RunStatus.RUNNING)
    made = SyncRun.objects.create(project=project, mode=mode, trigger=trigger, is_bulk=is_bulk, status=status,
                                  started_at=now, finished_at=now + timedelta(seconds=75) if finished else None)
    SyncRun.objects.filter(pk=made.pk).update(created_at=now)
    stages = {}
    for order, entity_map in enumerate(project.entity_maps.order_by("order")):
        stages[entity_map.name] = SyncStage.objects.create(
            run=made, entity_map=entity_map, order=order, started_at=now,
            status=StageStatus.SUCCEEDED if finished else StageStatus.RUNNING)
    for number, (map_name, record_status) in enumerate(records):
        stage = stages[map_name]
        failed = record_status == RecordStatus.FAILED
        RecordSync.objects.create(
            run=made, stage=stage, entity_map=stage.entity_map, source_key=f"K{number:04d}", source_id=f"id-{number}",
            status=record_status, attempts=1, snapshot={"number": f"K{number:04d}", "name": f"Record {number}"},
            payload=None if failed else {"Number": f"K{number:04d}"},
            outcome="" if failed or record_status in (RecordStatus.PENDING, RecordStatus.RUNNING) else "created",
            error_type="mapping" if failed else "", error_field="Country" if failed else "",
            error_message="no value map entry for 'Atlantis'" if failed else "", finished_at=now)
    if finished:
        SyncRun.objects.filter(pk=made.pk).update(counts=run_counts(run=made))
    made.refresh_from_db()
    return made


def template_project(name: str = "p2c", *, webhook_secret: str = "") -> Project:
    """The Prospect-to-cash template on connections nobody can reach (a test that must not call out)."""
    made = template_load(name="prospect_to_cash", project=name,
                         sales_connection=connection(f"{name}-sales", System.DATAVERSE),
                         finops_connection=connection(f"{name}-finops", System.FINOPS))
    made.webhook_secret = webhook_secret
    made.save()
    return made
