"""Re-encryption of every stored secret under the first of P2C_ENCRYPTION_KEYS, the last step of a key rotation."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps

from integration.crypto import EncryptedTextField, SecretUnreadable


@dataclass
class Reencrypted:
    count: int = 0
    unreadable: list[str] = field(default_factory=list)  # "integration.Connection #3 client_secret"


def secrets_reencrypt() -> Reencrypted:
    """Read each stored secret with any configured key and write it back under the first.

    Once this has run with no unreadable secret, the old keys can leave P2C_ENCRYPTION_KEYS. One row at a time,
    so a secret no key can read is reported and the others are still moved.
    """
    report = Reencrypted()
    for model in apps.get_models():
        names = [f.name for f in model._meta.fields if isinstance(f, EncryptedTextField)]
        for pk in model.objects.values_list("pk", flat=True) if names else ():
            for name in names:
                try:
                    # Decrypted on the way in (with any key), encrypted on the way out (with the first).
                    plaintext = model.objects.values_list(name, flat=True).get(pk=pk)
                except SecretUnreadable:
                    report.unreadable.append(f"{model._meta.label} #{pk} {name}")
                    continue
                if plaintext:
                    model.objects.filter(pk=pk).update(**{name: plaintext})
                    report.count += 1
    return report
