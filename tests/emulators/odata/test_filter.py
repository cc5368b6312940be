from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.emulators.odata.errors import ODataQueryError
from connectors.emulators.odata.filter import DATAVERSE, FINOPS, Dialect, compile_filter
from connectors.emulators.odata.lexer import quote, tokenize

ACCOUNT = "Microsoft.Dynamics.CRM.account"
ACCOUNT_PROPERTIES = {
    "accountid": "Edm.Guid",
    "name": "Edm.String",
    "accountnumber": "Edm.String",
    "creditlimit": "Edm.Decimal",
    "revenue": "Edm.Double",
    "statecode": "Edm.Int32",
    "numberofemployees": "Edm.Int32",
    "donotemail": "Edm.Boolean",
    "modifiedon": "Edm.DateTimeOffset",
    "validfromdate": "Edm.Date",
    "_parentaccountid_value": "Edm.Guid",
}
ACCOUNTS = [
    {"accountid": "00000000-0000-0000-0000-000000000001", "name": "Contoso Ltd", "accountnumber": "A-1",
     "creditlimit": Decimal("1000.50"), "revenue": 1.1, "statecode": 0, "numberofemployees": 10, "donotemail": True,
     "modifiedon": "2024-05-01T10:20:30Z", "validfromdate": "2024-05-01", "_parentaccountid_value": None},
    {"accountid": "00000000-0000-0000-0000-000000000002", "name": "Fabrikam", "accountnumber": "A-2",
     "creditlimit": None, "revenue": 250.0, "statecode": 1, "numberofemployees": None, "donotemail": False,
     "modifiedon": "2024-05-01T10:20:30.5Z", "validfromdate": None,
     "_parentaccountid_value": "00000000-0000-0000-0000-000000000001"},
    {"accountid": "00000000-0000-0000-0000-000000000003", "name": "O'Brien & Sons", "accountnumber": None,
     "creditlimit": 99, "revenue": None, "statecode": 0, "numberofemployees": 3, "donotemail": None,
     "modifiedon": "2023-12-31T23:59:59Z", "validfromdate": "2023-01-15", "_parentaccountid_value": None},
]

CUSTOMER = "Microsoft.Dynamics.DataEntities.CustomerV3"
CUSTOMER_PROPERTIES = {
    "dataAreaId": "Edm.String",
    "CustomerAccount": "Edm.String",
    "OrganizationName": "Edm.String",
    "OnHoldStatus": "Enum:CustVendorBlocked",
    "IsSalesTaxIncludedInPrice": "Enum:NoYes",
    "CreditLimit": "Edm.Decimal",
}
CUSTOMERS = [
    {"dataAreaId": "usmf", "CustomerAccount": "US-001", "OrganizationName": "Contoso Retail San Diego",
     "OnHoldStatus": "No", "IsSalesTaxIncludedInPrice": "No", "CreditLimit": 0},
    {"dataAreaId": "usmf", "CustomerAccount": "US-002", "OrganizationName": "Forest Wholesales",
     "OnHoldStatus": "All", "IsSalesTaxIncludedInPrice": "Yes", "CreditLimit": 5000},
    {"dataAreaId": "demf", "CustomerAccount": "DE-001", "OrganizationName": "Retail.Shop (Berlin)",
     "OnHoldStatus": "Invoice", "IsSalesTaxIncludedInPrice": "Yes", "CreditLimit": 100},
]


def accounts(text: str) -> list[int]:
    """The 1-based numbers of the ACCOUNTS that match."""
    test = compile_filter(text, DATAVERSE, ACCOUNT_PROPERTIES, ACCOUNT)
    return [number for number, row in enumerate(ACCOUNTS, start=1) if test(row)]


def customers(text: str) -> list[str]:
    test = compile_filter(text, FINOPS, CUSTOMER_PROPERTIES, CUSTOMER)
    return [row["CustomerAccount"] for row in CUSTOMERS if test(row)]


def error(text: str, dialect: Dialect = DATAVERSE) -> str:
    properties, entity_type = (ACCOUNT_PROPERTIES, ACCOUNT) if dialect is DATAVERSE else (CUSTOMER_PROPERTIES, CUSTOMER)
    with pytest.raises(ODataQueryError) as caught:
        compile_filter(text, dialect, properties, entity_type)
    return caught.value.message


# -- literals ---------------------------------------------------------------------------------------------------


def test_string_literal_with_a_doubled_quote_matches_an_apostrophe():
    assert accounts("name eq 'O''Brien & Sons'") == [3]
    assert accounts("startswith(name,'o''b')") == [3]


def test_integer_literals_compare_with_ints_decimals_and_floats():
    assert accounts("statecode eq 0") == [1, 3]
    assert accounts("creditlimit eq 99") == [3]
    assert accounts("revenue eq 250") == [2]
    assert accounts("numberofemployees gt -1") == [1, 3]


def test_decimal_literals_with_or_without_the_m_suffix():
    assert accounts("creditlimit eq 1000.5") == [1]
    assert accounts("creditlimit eq 1000.50M") == [1]
    assert accounts("creditlimit lt 1000.5m") == [3]
    assert accounts("creditlimit eq 1.0005e3") == [1]


def test_a_stored_float_equals_the_decimal_literal_that_reads_the_same():
    assert accounts("revenue eq 1.1") == [1]
    assert accounts("revenue eq 1.1m") == [1]
    assert accounts("revenue in (1.1, 7)") == [1]


def test_boolean_literals_and_a_bare_boolean_property():
    assert accounts("donotemail eq true") == [1]
    assert accounts("donotemail eq false") == [2]
    assert accounts("donotemail") == [1]
    assert accounts("true") == [1, 2, 3]
    assert accounts("false") == []


def test_datetimes_compare_as_instants_not_as_text():
    # As text "…30.5Z" sorts before "…30Z"; as instants it is half a second later.
    assert accounts("modifiedon gt 2024-05-01T10:20:30Z") == [2]
    assert accounts("modifiedon eq 2024-05-01T12:20:30+02:00") == [1]
    assert accounts("modifiedon eq 2024-05-01T10:20:30.5000000Z") == [2]
    assert accounts("modifiedon lt 2024-01-01T00:00Z") == [3]


def test_a_date_literal_against_a_datetime_means_midnight_utc():
    assert accounts("modifiedon ge 2024-01-01") == [1, 2]
    assert accounts("2024-01-01 gt modifiedon") == [3]


def test_date_literals_compare_with_date_properties():
    assert accounts("validfromdate eq 2024-05-01") == [1]
    assert accounts("validfromdate lt 2024-01-01") == [3]


def test_unquoted_guids_compare_without_regard_to_case():
    assert accounts("accountid eq 00000000-0000-0000-0000-00000000000A") == []
    assert accounts("_parentaccountid_value eq 00000000-0000-0000-0000-000000000001") == [2]
    rows = [{"accountid": "ABCDEF00-0000-0000-0000-000000000001"}]
    test = compile_filter("accountid eq abcdef00-0000-0000-0000-000000000001", DATAVERSE, ACCOUNT_PROPERTIES, ACCOUNT)
    assert test(rows[0])


def test_enum_literals_in_finance_and_operations():
    assert customers("IsSalesTaxIncludedInPrice eq Microsoft.Dynamics.DataEntities.NoYes'Yes'") == ["US-002", "DE-001"]
    assert customers("OnHoldStatus ne Microsoft.Dynamics.DataEntities.CustVendorBlocked'No'") == ["US-002", "DE-001"]
    assert customers("OnHoldStatus eq Microsoft.Dynamics.DataEntities.CustVendorBlocked'all'") == ["US-002"]


# -- operators and precedence -------------------------------------------------------------------------------


def test_and_binds_tighter_than_or():
    assert accounts("statecode eq 1 or statecode eq 0 and donotemail eq true") == [1, 2]
    assert accounts("(statecode eq 1 or statecode eq 0) and donotemail eq true") == [1]


def test_not_binds_tighter_than_a_comparison():
    # (not donotemail) eq false: only the row whose flag is true; a null flag stays null, and null eq false is false.
    assert accounts("not donotemail eq false") == [1]
    assert accounts("not (statecode eq 0)") == [2]
    assert accounts("not not donotemail") == [1]


def test_not_before_a_comparison_without_parentheses_is_a_type_error():
    assert error("not statecode eq 0") == (
        "A unary operator with an incompatible type was detected. Found operand type 'Edm.Int32' for operator "
        "kind 'Not' at position 0 in 'not statecode eq 0'."
    )


def test_every_comparison_operator():
    assert accounts("numberofemployees eq 3") == [3]
    assert accounts("numberofemployees ne 3") == [1, 2]
    assert accounts("numberofemployees gt 3") == [1]
    assert accounts("numberofemployees ge 3") == [1, 3]
    assert accounts("numberofemployees lt 10") == [3]
    assert accounts("numberofemployees le 10") == [1, 3]


def test_a_literal_on_the_left_flips_the_operator():
    assert accounts("5 lt numberofemployees") == [1]
    assert accounts("'contoso ltd' eq name") == [1]


def test_two_properties_compare_with_each_other():
    assert accounts("accountid eq _parentaccountid_value") == []
    assert accounts("name gt accountnumber") == [1, 2]
    assert accounts("name ne accountnumber") == [1, 2, 3]
    # Two nulls are equal, so they are not "ne"; a null and a value are.
    assert accounts("creditlimit eq numberofemployees") == [2]
    assert accounts("creditlimit ne numberofemployees") == [1, 3]


def test_literals_on_both_sides_are_decided_once():
    assert accounts("1 eq 1 and null eq null") == [1, 2, 3]
    assert accounts("2024-01-01 eq 2024-01-01T00:00:00Z") == [1, 2, 3]


def test_whitespace_around_tokens_is_free():
    assert accounts("  ( statecode   eq 1 )\tor\tcontains( name , 'brien' ) ") == [2, 3]


# -- text -------------------------------------------------------------------------------------------------------


def test_string_comparisons_ignore_case():
    assert accounts("name eq 'CONTOSO LTD'") == [1]
    assert accounts("name gt 'e'") == [2, 3]
    assert accounts("name lt 'D'") == [1]


def test_string_functions_ignore_case():
    assert accounts("contains(name,'SONS')") == [3]
    assert accounts("startswith(name,'fab')") == [2]
    assert accounts("endswith(name,'LTD')") == [1]
    assert accounts("contains(name,'')") == [1, 2, 3]


def test_string_functions_on_two_properties():
    assert accounts("contains(name,accountnumber)") == []
    test = compile_filter("startswith(name,accountnumber)", DATAVERSE, ACCOUNT_PROPERTIES, ACCOUNT)
    assert test({"name": "a-1 Contoso", "accountnumber": "A-1"})


def test_dataverse_reads_an_asterisk_literally():
    assert accounts("name eq 'Contoso*'") == []
    assert compile_filter("name eq 'a*'", DATAVERSE, ACCOUNT_PROPERTIES, ACCOUNT)({"name": "A*"})


def test_finance_and_operations_wildcard_is_anchored_and_ignores_case():
    assert customers("OrganizationName eq '*retail*'") == ["US-001", "DE-001"]
    assert customers("OrganizationName eq 'retail*'") == ["DE-001"]
    assert customers("OrganizationName eq '*diego'") == ["US-001"]
    assert customers("OrganizationName eq 'Forest*sales'") == ["US-002"]
    assert customers("OrganizationName eq '*'") == ["US-001", "US-002", "DE-001"]
    assert customers("CustomerAccount eq 'us'") == []


def test_wildcard_treats_regex_characters_literally():
    assert customers("OrganizationName eq 'retail.shop (*'") == ["DE-001"]
    assert customers("OrganizationName eq 'retail?shop*'") == []


def test_finance_and_operations_wildcard_with_ne_excludes_matches():
    assert customers("CustomerAccount ne 'us-*'") == ["DE-001"]
    assert customers("'us-*' ne CustomerAccount") == ["DE-001"]


# -- null -------------------------------------------------------------------------------------------------------


def test_eq_null_holds_only_for_null():
    assert accounts("creditlimit eq null") == [2]
    assert accounts("null eq creditlimit") == [2]
    assert accounts("creditlimit ne null") == [1, 3]
    assert accounts("accountnumber eq null") == [3]


def test_ordering_comparisons_with_null_are_false():
    assert accounts("creditlimit lt 100000") == [1, 3]
    assert accounts("creditlimit gt null") == []
    assert accounts("validfromdate le 2030-01-01") == [1, 3]
    assert accounts("name gt accountnumber") == [1, 2]


def test_ne_a_value_holds_for_null_as_in_odata():
    assert accounts("accountnumber ne 'A-1'") == [2, 3]


def test_string_functions_on_null_are_false():
    assert accounts("contains(accountnumber,'a')") == [1, 2]
    assert accounts("not contains(accountnumber,'a')") == [3]


def test_not_of_a_null_boolean_property_leaves_the_row_out():
    assert accounts("not donotemail") == [2]


def test_a_null_boolean_property_uses_three_valued_logic():
    # Row 3's flag is null: null and true is null, and not null is still null, so row 3 stays out.
    assert accounts("not (donotemail and statecode eq 0)") == [2]
    # null or true is true, so row 3 comes back; null or false is null.
    assert accounts("donotemail or statecode eq 0") == [1, 3]
    assert accounts("not (donotemail or statecode eq 1)") == []
    assert accounts("(donotemail or statecode eq 1) eq null") == [3]


# -- in, has, Microsoft.Dynamics.CRM.In ---------------------------------------------------------------------------


def test_in_operator_matches_any_listed_value():
    assert accounts("statecode in (1, 2)") == [2]
    assert accounts("name in ('fabrikam', 'CONTOSO LTD')") == [1, 2]
    assert accounts("accountnumber in ('A-2', null)") == [2, 3]
    assert accounts("modifiedon in (2023-12-31T23:59:59Z)") == [3]


def test_in_needs_a_list_of_literals_of_the_right_type():
    assert error("statecode in (1, 'a')").startswith(
        "A binary operator with incompatible types was detected. Found operand types 'Edm.Int32' and 'Edm.String' "
        "for operator kind 'In'"
    )
    assert error("statecode in (numberofemployees)") == (
        "The 'in' operator takes a parenthesised list of literals at position 14 in 'statecode in (numberofemployees)'."
    )


def test_crm_in_function():
    assert accounts("Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=[\"fabrikam\",\"x\"])") == [2]
    assert accounts("Microsoft.Dynamics.CRM.In(PropertyName='statecode',PropertyValues=[\"1\",\"7\"])") == [2]
    assert accounts(
        "Microsoft.Dynamics.CRM.In(PropertyValues=[\"00000000-0000-0000-0000-000000000003\"],PropertyName='accountid')"
    ) == [3]
    assert accounts("not Microsoft.Dynamics.CRM.In(PropertyName='statecode',PropertyValues=[1])") == [1, 3]


def test_crm_in_function_errors():
    assert error("Microsoft.Dynamics.CRM.In(PropertyName='nope',PropertyValues=[\"1\"])") == (
        "Could not find a property named 'nope' on type 'Microsoft.Dynamics.CRM.account'."
    )
    assert "'one' is not a valid Edm.Int32 value" in error(
        "Microsoft.Dynamics.CRM.In(PropertyName='statecode',PropertyValues=[\"one\"])"
    )
    assert "needs PropertyName and PropertyValues" in error("Microsoft.Dynamics.CRM.In(PropertyName='statecode')")
    assert "Unexpected parameter 'Values'" in error("Microsoft.Dynamics.CRM.In(Values=[\"1\"])")


def test_has_tests_one_flag_of_a_flags_enum():
    flags = Dialect("flags", frozenset(), enum_namespace="Ns", allow_in_has=True)
    test = compile_filter("Access has Ns.Rights'Write'", flags, {"Access": "Enum:Rights"}, "Ns.File")
    assert [test(row) for row in ({"Access": "Read, Write"}, {"Access": "Read"}, {"Access": None})] == [
        True, False, False]
    with pytest.raises(ODataQueryError, match="needs an enum property and an enum literal"):
        compile_filter("Name has Ns.Rights'Write'", flags, {"Name": "Edm.String"}, "Ns.File")


# -- what each dialect rejects ------------------------------------------------------------------------------------


def test_finance_and_operations_rejects_in_and_has():
    assert error("dataAreaId in ('usmf')", FINOPS) == (
        "The 'in' operator is not supported at position 11 in 'dataAreaId in ('usmf')'."
    )
    assert error("OnHoldStatus has Microsoft.Dynamics.DataEntities.CustVendorBlocked'All'", FINOPS).startswith(
        "The 'has' operator is not supported at position 13"
    )


def test_finance_and_operations_rejects_string_functions_and_names_the_wildcard():
    assert error("contains(OrganizationName,'retail')", FINOPS) == (
        "The function 'contains' is not supported; match text with a wildcard instead, e.g. Name eq '*text*' "
        "at position 0 in 'contains(OrganizationName,'retail')'."
    )
    assert error("startswith(OrganizationName,'x')", FINOPS).startswith("The function 'startswith' is not supported")
    assert error("Microsoft.Dynamics.CRM.In(PropertyName='dataAreaId',PropertyValues=[\"usmf\"])", FINOPS).startswith(
        "The function 'Microsoft.Dynamics.CRM.In' is not supported"
    )


def test_unknown_functions_are_not_supported():
    assert error("tolower(name) eq 'x'") == (
        "The function 'tolower' is not supported at position 0 in 'tolower(name) eq 'x''."
    )
    assert error("Microsoft.Dynamics.CRM.LastXDays(PropertyName='modifiedon',PropertyValue=7)").startswith(
        "The function 'Microsoft.Dynamics.CRM.LastXDays' is not supported"
    )


def test_enum_comparisons_allow_only_eq_and_ne():
    assert error("OnHoldStatus gt Microsoft.Dynamics.DataEntities.CustVendorBlocked'No'", FINOPS) == (
        "The operator 'gt' is not allowed on enum values; only eq and ne are at position 13 in "
        "'OnHoldStatus gt Microsoft.Dynamics.DataEntities.CustVendorBlocked'No''."
    )


def test_enum_literal_of_another_enum_type_is_a_type_error():
    text = "IsSalesTaxIncludedInPrice eq Microsoft.Dynamics.DataEntities.CustVendorBlocked'No'"
    assert error(text, FINOPS).startswith(
        "A binary operator with incompatible types was detected. Found operand types "
        "'Microsoft.Dynamics.DataEntities.NoYes' and 'Microsoft.Dynamics.DataEntities.CustVendorBlocked' "
        "for operator kind 'Equal'"
    )


def test_a_string_literal_against_an_enum_is_rejected_with_the_right_spelling():
    message = error("IsSalesTaxIncludedInPrice eq 'Yes'", FINOPS)
    assert message.startswith("A binary operator with incompatible types was detected.")
    assert "(write enum values as Microsoft.Dynamics.DataEntities.NoYes'Yes')" in message


def test_enum_literal_from_another_namespace_or_in_dataverse_is_rejected():
    assert error("OnHoldStatus eq Other.CustVendorBlocked'No'", FINOPS) == (
        "Unknown enum type 'Other.CustVendorBlocked' at position 16 in 'OnHoldStatus eq Other.CustVendorBlocked'No''."
    )
    assert error("statecode eq Microsoft.Dynamics.CRM.State'Active'").startswith(
        "Enum literals such as Microsoft.Dynamics.CRM.State'Active' are not supported at position 13"
    )


def test_enum_eq_null_is_allowed():
    assert customers("OnHoldStatus eq null") == []
    assert customers("OnHoldStatus ne null") == ["US-001", "US-002", "DE-001"]


# -- errors -----------------------------------------------------------------------------------------------------


def test_unknown_property_uses_the_dataverse_wording():
    assert error("nmae eq 'x'") == "Could not find a property named 'nmae' on type 'Microsoft.Dynamics.CRM.account'."
    assert error("Name eq 'x'") == "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.account'."
    assert error("customeraccount eq 'x'", FINOPS) == (
        "Could not find a property named 'customeraccount' on type 'Microsoft.Dynamics.DataEntities.CustomerV3'."
    )


@pytest.mark.parametrize(
    ("text", "types", "kind"),
    [
        ("creditlimit eq 'a'", ("Edm.Decimal", "Edm.String"), "Equal"),
        ("name eq 5", ("Edm.String", "Edm.Int32"), "Equal"),
        ("accountid eq '00000000-0000-0000-0000-000000000001'", ("Edm.Guid", "Edm.String"), "Equal"),
        ("validfromdate lt 2024-01-01T00:00:00Z", ("Edm.Date", "Edm.DateTimeOffset"), "LessThan"),
        ("modifiedon ge validfromdate", ("Edm.DateTimeOffset", "Edm.Date"), "GreaterThanOrEqual"),
        ("donotemail ne 1", ("Edm.Boolean", "Edm.Int32"), "NotEqual"),
        ("statecode and donotemail", ("Edm.Int32", "Edm.Boolean"), "And"),
        ("donotemail or name", ("Edm.Boolean", "Edm.String"), "Or"),
    ],
)
def test_type_mismatches_name_both_types_and_the_operator(text, types, kind):
    assert error(text).startswith(
        "A binary operator with incompatible types was detected. "
        f"Found operand types '{types[0]}' and '{types[1]}' for operator kind '{kind}' at position "
    )


def test_string_function_on_a_non_string_is_rejected():
    assert error("contains(creditlimit,'1')") == (
        "The function 'contains' takes two Edm.String arguments, not (Edm.Decimal, Edm.String) "
        "at position 0 in 'contains(creditlimit,'1')'."
    )
    assert error("endswith(name)").startswith(
        "The function 'endswith' takes two Edm.String arguments, not (Edm.String)"
    )


def test_a_filter_that_is_not_boolean_is_rejected():
    assert error("name") == "The $filter expression must evaluate to a single boolean value at position 0 in 'name'."
    assert error("5") == "The $filter expression must evaluate to a single boolean value at position 0 in '5'."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Expression expected at position 0 in ''."),
        ("   ", "Expression expected at position 3 in '   '."),
        ("name eq", "Expression expected at position 7 in 'name eq'."),
        ("name eq 'x' and", "Expression expected at position 15 in 'name eq 'x' and'."),
        ("and name eq 'x'", "Expression expected at position 0 in 'and name eq 'x''."),
        ("name eq 'x' name", "Syntax error: unexpected 'name'; an operator or the end was expected at position 12 in "
                             "'name eq 'x' name'."),
        ("name eq 'x')", "Syntax error: unexpected ')'; an operator or the end was expected at position 11 in "
                         "'name eq 'x')'."),
        ("(name eq 'x'", "')' expected at position 12 in '(name eq 'x''."),
        ("name eq 'x", "Unterminated string literal at position 8 in 'name eq 'x'."),
        ("name eq \"x\"", "Expression expected at position 8 in 'name eq \"x\"'."),
        ("name eq 'x' # 1", "Syntax error: character '#' is not valid at position 12 in 'name eq 'x' # 1'."),
        ("name EQ 'x'", "Unknown operator 'EQ' (operators are lowercase) at position 5 in 'name EQ 'x''."),
        ("name eq 'x' AND statecode eq 0", "Unknown operator 'AND' (operators are lowercase) at position 12 in "
                                            "'name eq 'x' AND statecode eq 0'."),
        ("statecode add 1 eq 2", "The arithmetic operator 'add' is not supported at position 10 in "
                                 "'statecode add 1 eq 2'."),
        ("primarycontactid/fullname eq 'x'", "Navigation paths ('primarycontactid/...') are not supported by the "
                                             "emulator at position 0 in 'primarycontactid/fullname eq 'x''."),
        ("modifiedon gt 2024-13-01T00:00:00Z", "'2024-13-01T00:00:00Z' is not a valid datetime literal at position "
                                               "14 in 'modifiedon gt 2024-13-01T00:00:00Z'."),
        ("modifiedon gt 2024-01-01T00:00:00", "The datetime literal '2024-01-01T00:00:00' needs a time zone ('Z' or "
                                              "+hh:mm) at position 14 in 'modifiedon gt 2024-01-01T00:00:00'."),
        ("validfromdate eq 2024-02-30", "'2024-02-30' is not a valid date literal at position 17 in "
                                        "'validfromdate eq 2024-02-30'."),
        ("statecode eq 5x", "Syntax error: character '5' is not valid at position 13 in 'statecode eq 5x'."),
        ("True", "Could not find a property named 'True' on type 'Microsoft.Dynamics.CRM.account'."),
    ],
)
def test_syntax_errors_name_the_problem_and_the_position(text, message):
    assert error(text) == message


def test_the_error_is_a_value_error_whose_text_is_the_message():
    with pytest.raises(ValueError, match="Expression expected") as caught:
        compile_filter("", DATAVERSE, ACCOUNT_PROPERTIES, ACCOUNT)
    assert str(caught.value) == caught.value.message


# -- generated --------------------------------------------------------------------------------------------------


@given(st.text())
def test_any_text_survives_quoting_and_parsing(text):
    tokens = tokenize(quote(text))
    assert [token.kind for token in tokens] == ["string", "end"]
    assert tokens[0].value == text
    assert compile_filter(f"name eq {quote(text)}", DATAVERSE, ACCOUNT_PROPERTIES, ACCOUNT)({"name": text})


ROWS = st.fixed_dictionaries(
    {"A": st.integers(0, 3), "B": st.sampled_from(["", "a", "ab", "B", "xa"]), "C": st.booleans()}
)
LOGIC_PROPERTIES = {"A": "Edm.Int32", "B": "Edm.String", "C": "Edm.Boolean"}
# (OData text, Python test, needs parentheses after `not`)
ATOMS = st.one_of(
    st.builds(lambda n: (f"A gt {n}", lambda r: r["A"] > n, True), st.integers(0, 3)),
    st.builds(lambda n: (f"A eq {n}", lambda r: r["A"] == n, True), st.integers(0, 3)),
    st.builds(lambda s: (f"B eq '{s}'", lambda r: r["B"].lower() == s.lower(), True), st.sampled_from(["a", "b"])),
    st.builds(lambda s: (f"contains(B,'{s}')", lambda r: s in r["B"].lower(), False), st.sampled_from(["a", "b"])),
    st.just(("C", lambda r: r["C"], False)),
)
TREES = st.recursive(
    ATOMS.map(lambda atom: ("atom", atom)),
    lambda children: st.one_of(
        st.tuples(st.just("not"), children),
        st.tuples(st.sampled_from(["and", "or"]), children, children),
    ),
    max_leaves=12,
)


def render(tree, *, minimal: bool) -> str:
    """OData text for a tree: with only the parentheses precedence needs, or around every sub-expression."""
    kind = tree[0]
    if kind == "atom":
        return tree[1][0]
    if kind == "not":
        inner = render(tree[1], minimal=minimal)
        bare = (tree[1][0] == "atom" and not tree[1][1][2]) or tree[1][0] == "not"
        return f"not {inner}" if bare and minimal else f"not ({inner})"
    left, right = (render(child, minimal=minimal) for child in tree[1:])
    if not minimal:
        return f"({left}) {kind} ({right})"
    if kind == "and":
        left = f"({left})" if tree[1][0] == "or" else left
        right = f"({right})" if tree[2][0] == "or" else right
    return f"{left} {kind} {right}"


def evaluate(tree, row) -> bool:
    kind = tree[0]
    if kind == "atom":
        return tree[1][1](row)
    if kind == "not":
        return not evaluate(tree[1], row)
    if kind == "and":
        return evaluate(tree[1], row) and evaluate(tree[2], row)
    return evaluate(tree[1], row) or evaluate(tree[2], row)


@given(TREES, st.lists(ROWS, min_size=1, max_size=8))
def test_and_or_not_agree_with_python_boolean_logic(tree, rows):
    for minimal in (True, False):
        test = compile_filter(render(tree, minimal=minimal), DATAVERSE, LOGIC_PROPERTIES, "Ns.T")
        assert [test(row) for row in rows] == [evaluate(tree, row) for row in rows]
