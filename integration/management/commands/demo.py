"""`python manage.py demo [--once]`: see integration/demo/runner.py."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from integration.demo.runner import Demo


class Command(BaseCommand):
    help = ("Run the whole Prospect-to-cash flow against seeded emulators, then keep the admin up until Ctrl-C "
            "(--once: exit after the summary; status 0 only when every eligible record synced and exactly the "
            "bad ones failed).")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="exit after the summary")
        parser.add_argument("--accounts", type=int, default=2000)
        parser.add_argument("--contacts", type=int, default=2000)
        parser.add_argument("--products", type=int, default=300)
        parser.add_argument("--quotes", type=int, default=300)
        parser.add_argument("--orders", type=int, default=20, help="orders activated in Sales (and a quarter as "
                                                                   "many entered in F&O)")
        parser.add_argument("--port", type=int, default=8000, help="admin web server port (a free one if taken)")

    def handle(self, *args, once, accounts, contacts, products, quotes, orders, port, **options):
        demo = Demo(out=self.stdout, port=port, sizes={"accounts": accounts, "contacts": contacts,
                                                       "products": products, "quotes": quotes, "orders": orders})
        code = demo.run(once=once)
        if code:
            raise SystemExit(code)
