"""Connection settings: normalised so tokens have the audience F&O expects, and never showing a secret."""

from __future__ import annotations

import pytest

from connectors import AppUser, Certificate, ConnectionConfig


def make(**overrides):
    return ConnectionConfig(**{"system": "finops", "base_url": "https://Contoso.Operations.Dynamics.com/",
                               "client_id": "app", "tenant": "contoso.onmicrosoft.com",
                               "client_secret": "s3cret-value", **overrides})


def test_repr_and_identity_never_show_the_secret():
    config = make(redis_url="redis://:redis-password@127.0.0.1:6379/0")
    for text in (repr(config), str(config), config.identity):
        assert "s3cret-value" not in text
        assert "redis-password" not in text
    with_certificate = make(client_secret="", certificate=Certificate(private_key="-----BEGIN PRIVATE KEY-----x",
                                                                      thumbprint="AB12"))
    assert "PRIVATE KEY" not in repr(with_certificate)


def test_scope_is_the_lowercase_origin_without_trailing_slash():
    assert make().scope == "https://contoso.operations.dynamics.com/.default"
    assert make(scope="https://CONTOSO.operations.dynamics.com//.default").scope == (
        "https://contoso.operations.dynamics.com/.default")
    assert make().api_url == "https://contoso.operations.dynamics.com/data/"
    assert make(system="dataverse").api_url == "https://contoso.operations.dynamics.com/api/data/v9.2/"


def test_authority_defaults_to_the_tenant_at_microsoft():
    assert make().authority == "https://login.microsoftonline.com/contoso.onmicrosoft.com"


def test_identity_is_stable_and_shared_by_configs_of_one_application_user():
    assert make().identity == make(read_timeout=5, page_size=10).identity
    assert make().identity != make(client_id="other").identity
    assert hash(make()) == hash(make())


@pytest.mark.parametrize(("overrides", "complaint"), [
    ({"system": "sap"}, "system"),
    ({"base_url": "http://contoso.operations.dynamics.com"}, "https"),
    ({"tenant": "common"}, "common"),
    ({"tenant": "", "authority": ""}, "tenant or authority"),
    ({"client_secret": ""}, "exactly one"),
    ({"certificate": Certificate(path="/x.pem")}, "exactly one"),
    ({"scope": "https://contoso.operations.dynamics.com"}, "/.default"),
    ({"page_size": 0}, "page_size"),
    ({"system": "dataverse", "page_size": 5001}, "page_size"),
])
def test_unusable_settings_are_refused_when_the_config_is_built(overrides, complaint):
    with pytest.raises(ValueError, match=complaint):
        make(**overrides)


def test_certificate_file_is_read_into_key_and_certificate(tmp_path):
    pem = tmp_path / "app.pem"
    pem.write_text("-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----\n"
                   "-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n")
    credential = Certificate(path=str(pem)).msal_credential()
    assert credential["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert "BEGIN CERTIFICATE" not in credential["private_key"]
    assert credential["public_certificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert Certificate(path="/keys/app.pfx", passphrase="pw").msal_credential() == {
        "private_key_pfx_path": "/keys/app.pfx", "passphrase": "pw"}


def test_extra_application_users_each_make_a_configuration_of_their_own_and_never_show_a_secret():
    config = make(extra_users=[AppUser("second", client_secret="second-s3cret"),
                               AppUser("third", certificate=Certificate(path="/keys/third.pem"))])
    users = config.users
    assert [user.client_id for user in users] == ["app", "second", "third"]
    assert [user.extra_users for user in users] == [(), (), ()]
    assert len({user.identity for user in users}) == 3  # so three token caches and three limiters
    assert users[1].client_secret == "second-s3cret"
    assert (users[2].client_secret, users[2].certificate.path) == ("", "/keys/third.pem")
    assert {user.scope for user in users} == {config.scope}
    assert "second-s3cret" not in repr(config)
    assert make().users == (make(),)
    hash(config)  # shared per connection and process, so it must stay hashable


@pytest.mark.parametrize(("users", "words"), [
    ([AppUser("")], "needs a client_id"),
    ([AppUser("second")], "exactly one of client_secret and certificate"),
    ([AppUser("app", client_secret="x")], "given twice"),
])
def test_an_extra_user_without_an_id_or_a_credential_or_given_twice_is_refused(users, words):
    with pytest.raises(ValueError, match=words):
        make(extra_users=users)
