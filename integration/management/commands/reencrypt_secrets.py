"""`python manage.py reencrypt_secrets`: every stored secret under the first of P2C_ENCRYPTION_KEYS."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from integration.services.secrets import secrets_reencrypt


class Command(BaseCommand):
    help = ("Re-encrypt every stored secret (connection secrets and certificates, webhook secrets) under the first "
            "key of P2C_ENCRYPTION_KEYS; afterwards the other keys can be removed.")

    def handle(self, *args, **options):
        report = secrets_reencrypt()
        self.stdout.write(f"re-encrypted {report.count} secrets under the first key of P2C_ENCRYPTION_KEYS")
        if report.unreadable:
            raise CommandError("no configured key can read: " + ", ".join(report.unreadable)
                               + "; put the key they were encrypted with back into P2C_ENCRYPTION_KEYS", returncode=1)
