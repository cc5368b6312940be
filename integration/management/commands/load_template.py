"""`python manage.py load_template prospect_to_cash --project NAME --sales-connection NAME --finops-connection NAME
[--org "Contoso US=usmf" ...] [--default-org usmf] [--product-company usmf] [--replace]`: make a project from a
built-in template, or bring an existing one back to it.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from integration.models import Connection, Project
from integration.services import templates


class Command(BaseCommand):
    help = "Load a built-in template into a project (created, or updated in place with --replace)."

    def add_arguments(self, parser):
        parser.add_argument("template", help=f"one of: {', '.join(templates.template_names())}")
        parser.add_argument("--project", required=True, help="the project's name (letters, digits, - and _)")
        parser.add_argument("--sales-connection", required=True, metavar="NAME")
        parser.add_argument("--finops-connection", required=True, metavar="NAME")
        parser.add_argument("--org", action="append", default=[], metavar="BUSINESS_UNIT=LEGAL_ENTITY",
                            help="a Sales business unit and its F&O company, e.g. \"Contoso US=usmf\" (repeatable; "
                                 "default: the template's)")
        parser.add_argument("--default-org", metavar="LEGAL_ENTITY",
                            help="the company of records whose business unit is not listed (default: the first)")
        parser.add_argument("--product-company", metavar="LEGAL_ENTITY",
                            help="the company whose products go to Sales (default: the default company)")
        parser.add_argument("--replace", action="store_true",
                            help="update an existing project's maps in place, keeping its links and cursors")

    def handle(self, *args, template, project, sales_connection, finops_connection, org, default_org,
               product_company, replace, **options):
        sales = self.connection(sales_connection)
        finops = self.connection(finops_connection)
        existed = Project.objects.filter(name=project).exists()
        try:
            mappings = None
            if org or default_org or product_company:
                mappings = templates.organization_mappings_build(
                    pairs=[self.pair(text) for text in org], default_legal_entity=default_org,
                    product_company=product_company, template=templates.template_read(name=template))
            project_obj = templates.template_load(name=template, project=project, sales_connection=sales,
                                                  finops_connection=finops, organization_mappings=mappings,
                                                  replace=replace)
        except templates.TemplateError as exc:
            raise CommandError(str(exc)) from None
        maps = list(project_obj.entity_maps.filter(enabled=True).values_list("name", flat=True))
        orgs = ", ".join(f"{m.business_unit}={m.legal_entity}{' (default)' if m.is_default else ''}"
                         for m in project_obj.organization_mappings.all())
        self.stdout.write(f"{'updated' if existed else 'created'} project {project_obj.name} from {template}: "
                          f"{len(maps)} entity maps ({', '.join(maps)}); organizations: {orgs}")

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
