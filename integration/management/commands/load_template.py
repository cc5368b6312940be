"""`python manage.py load_template prospect_to_cash --project NAME --sales-connection NAME --finops-connection NAME
[--org "Contoso US=usmf" ...] [--default-org usmf] [--product-company usmf] [--file T.json]
[--replace [--prefer-template | --reset]]`: make a project from a template, or upgrade one to a new version of
its template, keeping the project's own edits (a three-way merge; conflicts are reported, exit status 1).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from integration.models import Connection, Project
from integration.services import templates


class Command(BaseCommand):
    help = ("Load a template into a new project, or (--replace) upgrade an existing project to it in place: the "
            "template's changes are applied, the project's own edits kept, and edits both made to the same setting "
            "are reported as conflicts (the project's value is kept; --prefer-template takes the template's).")

    def add_arguments(self, parser):
        parser.add_argument("template", help=f"one of: {', '.join(templates.template_names())} (its name, with --file)")
        parser.add_argument("--project", required=True, help="the project's name (letters, digits, - and _)")
        parser.add_argument("--sales-connection", required=True, metavar="NAME")
        parser.add_argument("--finops-connection", required=True, metavar="NAME")
        parser.add_argument("--file", type=Path, help="read the template from this JSON file instead")
        parser.add_argument("--org", action="append", default=[], metavar="BUSINESS_UNIT=LEGAL_ENTITY",
                            help="a Sales business unit and its F&O company, e.g. \"Contoso US=usmf\" (repeatable; "
                                 "default: the template's)")
        parser.add_argument("--default-org", metavar="LEGAL_ENTITY",
                            help="the company of records whose business unit is not listed (default: the first)")
        parser.add_argument("--product-company", metavar="LEGAL_ENTITY",
                            help="the company whose products go to Sales (default: the default company)")
        parser.add_argument("--replace", action="store_true",
                            help="upgrade an existing project in place (links, cursors and history stay), keeping "
                                 "its own edits")
        parser.add_argument("--prefer-template", action="store_true",
                            help="with --replace: where the project and the template changed the same setting, take "
                                 "the template's")
        parser.add_argument("--reset", action="store_true",
                            help="with --replace: take the template's maps whole, dropping the project's edits "
                                 "(each one is listed); also for projects loaded before p2c kept their template")

    def handle(self, *args, template, project, sales_connection, finops_connection, file, org, default_org,
               product_company, replace, prefer_template, reset, **options):
        sales = self.connection(sales_connection)
        finops = self.connection(finops_connection)
        existing = Project.objects.filter(name=project).first()
        try:
            data = self.read(file) if file else templates.template_read(name=template)
            mappings = None
            if org or default_org or product_company:
                mappings = templates.organization_mappings_build(
                    pairs=[self.pair(text) for text in org], default_legal_entity=default_org,
                    product_company=product_company, template=data)
            if existing is not None and replace:
                upgrade = templates.template_upgrade(
                    project=existing, name=template, template=data, sales_connection=sales, finops_connection=finops,
                    organization_mappings=mappings, prefer_template=prefer_template, reset=reset)
                project_obj = upgrade.project
            else:
                upgrade = None
                project_obj = templates.template_load(name=template, project=project, sales_connection=sales,
                                                      finops_connection=finops, organization_mappings=mappings,
                                                      replace=replace, template=data)
        except templates.TemplateError as exc:
            raise CommandError(str(exc)) from None
        maps = list(project_obj.entity_maps.filter(enabled=True).values_list("name", flat=True))
        orgs = ", ".join(f"{m.business_unit}={m.legal_entity}{' (default)' if m.is_default else ''}"
                         for m in project_obj.organization_mappings.all())
        self.stdout.write(f"{'updated' if existing else 'created'} project {project_obj.name} from {template}: "
                          f"{len(maps)} entity maps ({', '.join(maps)}); organizations: {orgs}")
        if upgrade is not None:
            self.report(upgrade.report, reset=reset)

    def report(self, report, *, reset: bool) -> None:
        if reset:
            self.stdout.write(f"reset to the template: {len(report.applied)} settings now as the template has them")
            for change in report.applied:
                self.stdout.write(f"  {change}")
            return
        self.stdout.write(f"the template's changes applied: {len(report.applied)}; the project's own edits kept: "
                          f"{len(report.kept)}; conflicts: {len(report.conflicts)}")
        for title, items in (("applied from the template", report.applied), ("kept from the project", report.kept),
                             ("conflicts", report.conflicts)):
            if items:
                self.stdout.write(f"{title}:")
                for item in items:
                    self.stdout.write(f"  {item}")
        for name in report.disabled:
            self.stdout.write(f"entity map {name} is no longer in the template: disabled, its links and history "
                              "kept")
        if report.conflicts:
            self.stderr.write(f"{len(report.conflicts)} conflict(s): review them in the admin")
            raise SystemExit(1)

    @staticmethod
    def read(path: Path) -> dict:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read the template {path}: {exc}") from None

    @staticmethod
    def connection(name: str) -> Connection:
        try:
            return Connection.objects.get(name=name)
        except Connection.DoesNotExist:
            known = ", ".join(Connection.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"no connection named {name!r} (known: {known})") from None

    @staticmethod
    def pair(text: str) -> tuple[str, str]:
        unit, sep, legal_entity = text.rpartition("=")
        if not sep or not unit.strip() or not legal_entity.strip():
            raise CommandError(f"--org {text!r}: expected BUSINESS_UNIT=LEGAL_ENTITY")
        return unit.strip(), legal_entity.strip()
