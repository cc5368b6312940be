"""The environment's customisations through `/_emulator/environment`: alternate keys address records only while
their index is Active, change tracking is per table, and a reset brings back the defaults."""

from __future__ import annotations

from tests.emulators.dataverse.client import error_of

TRACK = {"Prefer": "odata.track-changes"}
NOT_DEFINED = {"code": "0x80060890", "message": "The specified key attributes are not a defined key for the product "
                                                "entity"}


def environment(dv, body: dict | None = None):
    method = "GET" if body is None else "PUT"
    return dv.handle.session.request(method, f"{dv.handle.origin}/_emulator/environment", json=body, timeout=30)


def test_the_default_environment_has_the_p2c_key_the_readme_keys_and_tracking_on_the_documents(dv):
    view = environment(dv).json()
    assert view["alternate_keys"]["contacts"] == {"msdynce_contactnumber": {"columns": ["msdynce_contactnumber"],
                                                                            "status": "Active"}}
    assert view["alternate_keys"]["products"]["productnumber"]["status"] == "Active"
    assert "pricelevels" not in view["alternate_keys"]
    tracked = {name for name, on in view["change_tracking"].items() if on}
    assert tracked == {"accounts", "contacts", "quotes", "quotedetails", "salesorders", "salesorderdetails",
                       "invoices", "invoicedetails", "products"}


def test_a_pending_key_cannot_address_a_record_and_an_active_one_can(dv):
    dv.create("products", {"name": "Widget", "productnumber": "W-1"})
    pending = environment(dv, {"alternate_keys": {"products": {"productnumber": {"status": "Pending"}}}})
    assert pending.json()["alternate_keys"]["products"]["productnumber"]["status"] == "Pending"
    read = dv.get("products(productnumber='W-1')")
    assert read.status_code == 400
    assert error_of(read) == NOT_DEFINED
    upsert = dv.patch("products(productnumber='W-2')", {"name": "Gadget"})
    assert error_of(upsert) == NOT_DEFINED
    bind = dv.post("quotedetails", {"productid@odata.bind": "/products(productnumber='W-1')", "quantity": 1})
    assert error_of(bind) == NOT_DEFINED
    environment(dv, {"alternate_keys": {"products": {"productnumber": {"status": "Active"}}}})
    assert dv.get("products(productnumber='W-1')?$select=name").json()["name"] == "Widget"


def test_only_an_active_key_keeps_values_unique(dv):
    environment(dv, {"alternate_keys": {"accounts": {"accountnumber": {"status": "InProgress"}}}})
    assert dv.post("accounts", {"name": "One", "accountnumber": "SAME"}).status_code == 204
    assert dv.post("accounts", {"name": "Two", "accountnumber": "SAME"}).status_code == 204
    failed = environment(dv, {"alternate_keys": {"accounts": {"accountnumber": {"status": "Active"}}}})
    assert failed.json()["alternate_keys"]["accounts"]["accountnumber"]["status"] == "Failed"
    assert dv.get("accounts(accountnumber='SAME')").status_code == 400


def test_a_new_key_addresses_records_and_a_removed_one_does_not(dv):
    dv.create("accounts", {"name": "Contoso", "telephone1": "555-0100"})
    made = environment(dv, {"alternate_keys": {"accounts": {"phone": {"columns": ["telephone1"]}}}})
    assert made.json()["alternate_keys"]["accounts"]["phone"] == {"columns": ["telephone1"], "status": "Active"}
    assert dv.get("accounts(telephone1='555-0100')?$select=name").json()["name"] == "Contoso"
    environment(dv, {"alternate_keys": {"accounts": {"phone": None}}})
    assert dv.get("accounts(telephone1='555-0100')").status_code == 400


def test_change_tracking_off_refuses_the_initial_read_and_a_delta_link(dv):
    link = dv.get("accounts?$select=name", **TRACK).json()["@odata.deltaLink"]
    environment(dv, {"change_tracking": {"accounts": False}})
    expected = {"code": "0x80072491", "message": "Entity account isn't enabled for change tracking."}
    for response in (dv.get("accounts?$select=name", **TRACK), dv.get(link),
                     dv.get("accounts/$count?$deltatoken=" + link.partition("$deltatoken=")[2])):
        assert response.status_code == 400
        assert error_of(response) == expected
    assert dv.get("accounts?$select=name").status_code == 200  # a plain read is unaffected
    assert error_of(dv.get("pricelevels?$select=name", **TRACK))["code"] == "0x80072491"
    environment(dv, {"change_tracking": {"pricelevels": True}})
    assert "@odata.deltaLink" in dv.get("pricelevels?$select=name", **TRACK).json()


def test_a_reset_restores_the_default_environment(dv):
    environment(dv, {"alternate_keys": {"products": {"productnumber": {"status": "Failed"}}},
                     "change_tracking": {"accounts": False}})
    dv.handle.reset()
    view = environment(dv).json()
    assert view["alternate_keys"]["products"]["productnumber"]["status"] == "Active"
    assert view["change_tracking"]["accounts"] is True


def test_a_bad_environment_change_is_refused_naming_it_and_changes_nothing(dv):
    for body, words in (({"alternate_keys": {"widgets": {}}}, "widgets"),
                        ({"alternate_keys": {"accounts": {"k": {"columns": ["nosuch"]}}}}, "nosuch"),
                        ({"alternate_keys": {"accounts": {"k": {"columns": ["name"], "status": "Ready"}}}}, "status"),
                        ({"change_tracking": {"accounts": "no"}}, "change_tracking.accounts"),
                        ({"keys": {}}, "keys")):
        response = environment(dv, {**body, "change_tracking": {"contacts": False}} if "change_tracking" not in body
                               else body)
        assert response.status_code == 400, body
        assert words in response.json()["error"]
    assert environment(dv).json()["change_tracking"]["contacts"] is True
