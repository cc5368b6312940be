"""`python manage.py create_api_token USER [--days N]`: a REST API token, printed once."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integration.services.api_tokens import TokenRefused, api_token_create


class Command(BaseCommand):
    help = ("Create an API token for a user and print it; it cannot be shown again (only its hash is stored). "
            "Send it as 'Authorization: Token <token>'. Revoke tokens in the admin.")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--days", type=int, default=settings.P2C_API_TOKEN_DAYS,
                            help=f"days until it expires (default {settings.P2C_API_TOKEN_DAYS})")

    def handle(self, *args, username, days, **options):
        try:
            issued = api_token_create(username=username, days=days)
        except TokenRefused as exc:
            raise CommandError(str(exc), returncode=2) from None
        self.stderr.write(f"token for {username}, expires {issued.expiry:%Y-%m-%d %H:%M} UTC; "
                          "copy it now, it is not shown again:")
        self.stdout.write(issued.token)
