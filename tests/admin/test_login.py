"""The admin's login locks a username out from an address after repeated failures (django-axes), and an address
trying many usernames out of all of them."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from tests.support import factories

pytestmark = pytest.mark.django_db
LOGIN = reverse("admin:login")


def log_in(client: Client, password: str):
    return client.post(LOGIN, {"username": "integrator", "password": password, "next": "/admin/"})


@override_settings(AXES_FAILURE_LIMIT=3)
def test_three_failures_lock_the_username_out_from_that_address_even_with_the_right_password():
    factories.user("integrator", perms=factories.ALL)  # password pw-integrator
    client = Client(REMOTE_ADDR="127.0.0.1")
    assert [log_in(client, "guess").status_code for _ in range(2)] == [200, 200]  # the form again, with an error
    locked = log_in(client, "guess")
    assert locked.status_code == 429
    assert "too many login attempts" in locked.content.decode()
    assert log_in(client, "pw-integrator").status_code == 429
    assert client.get("/admin/").status_code == 302  # not signed in

    elsewhere = Client(REMOTE_ADDR="127.0.0.2")  # by username and address: nobody can lock a user out everywhere
    assert log_in(elsewhere, "pw-integrator").status_code == 302
    assert elsewhere.get("/admin/").status_code == 200


@override_settings(AXES_FAILURE_LIMIT=5)
def test_a_success_before_the_limit_clears_the_failures():
    factories.user("integrator", perms=factories.ALL)
    client = Client()
    for _ in range(4):  # one fewer than the limit
        assert log_in(client, "guess").status_code == 200
    assert log_in(client, "pw-integrator").status_code == 302
    client.logout()
    for _ in range(4):
        assert log_in(client, "guess").status_code == 200
    assert log_in(client, "pw-integrator").status_code == 302


@override_settings(AXES_FAILURE_LIMIT=3, P2C_LOGIN_ADDRESS_FAILURE_LIMIT=6)
def test_an_address_trying_many_usernames_is_locked_out_of_every_one():
    factories.user("integrator", perms=factories.ALL)
    sprayer = Client(REMOTE_ADDR="127.0.0.3")
    answers = [sprayer.post(LOGIN, {"username": f"user{n}", "password": "Winter2026!", "next": "/admin/"}).status_code
               for n in range(6)]
    assert answers == [200] * 6  # one guess each: no username reached its own limit

    locked = log_in(sprayer, "pw-integrator")  # the right password of a username it never tried
    assert locked.status_code == 429
    assert "too many login attempts" in locked.content.decode()
    assert sprayer.get("/admin/").status_code == 302

    assert log_in(Client(REMOTE_ADDR="127.0.0.4"), "pw-integrator").status_code == 302  # the address, not the user
