"""The two small additions this emulator made to the shared core: deletion stamps and the tenant of a 401."""

from __future__ import annotations

import time
import uuid

import pytest

from connectors.emulators.identity import AuthError, Identity
from connectors.emulators.store import Store


def test_deletions_since_gives_the_version_of_each_delete_in_order():
    store = Store()
    table = store.table("things", ("id",))
    for key in "abc":
        table.insert({"id": key})
    mark = store.version
    table.delete(("b",))
    table.delete(("a",))
    stamps = table.deletions_since(mark)
    assert [key for _, key in stamps] == [("b",), ("a",)]
    assert stamps[0][0] < stamps[1][0] <= store.version
    assert table.deletions_since(stamps[0][0]) == stamps[1:]


def test_an_expired_or_revoked_token_names_its_tenant():
    identity = Identity(client_id="app", client_secret="secret", resource="https://org.example")
    identity.token_ttl_s = 1
    token = identity.issue(audience="https://org.example", tenant="contoso").access_token
    time.sleep(1.1)
    with pytest.raises(AuthError) as expired:
        identity.authenticate(f"Bearer {token}")
    assert expired.value.reason == "expired"
    assert expired.value.tenant == str(uuid.uuid5(uuid.NAMESPACE_DNS, "contoso"))
    identity.token_ttl_s = None
    fresh = identity.issue(audience="https://org.example", tenant="contoso").access_token
    identity.revoke_all()
    with pytest.raises(AuthError) as revoked:
        identity.authenticate(f"Bearer {fresh}")
    assert (revoked.value.reason, revoked.value.tenant) == ("revoked", expired.value.tenant)
    with pytest.raises(AuthError) as missing:
        identity.authenticate(None)
    assert missing.value.tenant is None
