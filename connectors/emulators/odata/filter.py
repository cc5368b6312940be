"""OData v4 `$filter`: a recursive-descent parser that type-checks against the entity's properties and compiles
the expression once into closures (see predicates.py), so each stored row costs a few microseconds.

Precedence, tightest first: `not`, comparisons (`eq ne gt ge lt le in has`), `and`, `or`, as in ODataLib, so
`not a eq b` means `(not a) eq b`. Keywords are lowercase and case-sensitive. Errors use ODataLib's wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from connectors.emulators.odata import predicates as p
from connectors.emulators.odata.errors import ODataQueryError, unknown_property
from connectors.emulators.odata.lexer import Token, syntax_error, tokenize
from connectors.emulators.odata.predicates import BOOLEAN, NULL, Operand, Predicate, enum_name
from connectors.emulators.odata.values import family


@dataclass(frozen=True)
class Dialect:
    """What one service accepts in `$filter`, so each emulator rejects what the real service rejects."""

    name: str
    functions: frozenset[str]
    wildcard_eq: bool = False
    enum_namespace: str | None = None
    allow_in_has: bool = True


CRM_IN = "Microsoft.Dynamics.CRM.In"
STRING_FUNCTIONS = frozenset(p.STRING_TESTS)

DATAVERSE = Dialect("dataverse", STRING_FUNCTIONS | {CRM_IN})
FINOPS = Dialect(
    "finops", frozenset(), wildcard_eq=True, enum_namespace="Microsoft.Dynamics.DataEntities", allow_in_has=False
)

_KIND_NAMES = {"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual", "lt": "LessThan",
               "le": "LessThanOrEqual", "and": "And", "or": "Or", "in": "In", "has": "Has"}
_COMPARISONS = frozenset({*p.OPERATORS, "in", "has"})
_ARITHMETIC = frozenset({"add", "sub", "mul", "div", "divby", "mod"})
_KEYWORDS = frozenset({*_COMPARISONS, "and", "or", "not", *_ARITHMETIC})


def compile_filter(text: str, dialect: Dialect, properties: Mapping[str, str], entity_type: str) -> Predicate:
    """Parse and type-check `text` once; the returned predicate tells whether a stored row matches."""
    return _Parser(text, dialect, properties, entity_type).parse()


class _Parser:
    def __init__(self, text: str, dialect: Dialect, properties: Mapping[str, str], entity_type: str) -> None:
        self.text = text
        self.dialect = dialect
        self.properties = properties
        self.entity_type = entity_type
        self.tokens = tokenize(text)
        self.index = 0

    # -- tokens and errors ----------------------------------------------------------------------------------

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def _advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _at(self, kind: str, text: str | None = None) -> bool:
        return self.token.kind == kind and (text is None or self.token.text == text)

    def _skip(self, text: str) -> bool:
        """Consume the punctuation `text` if it comes next."""
        if self._at("punct", text):
            self.index += 1
            return True
        return False

    def _expect(self, text: str) -> None:
        if not self._skip(text):
            raise self._error(f"'{text}' expected", self.token.pos)

    def _error(self, problem: str, pos: int) -> ODataQueryError:
        return syntax_error(problem, pos, self.text)

    def _display(self, edm_type: str) -> str:
        enum = enum_name(edm_type)
        return f"{self.dialect.enum_namespace}.{enum}" if enum and self.dialect.enum_namespace else edm_type

    def _incompatible(self, op: str, left: Operand, right: Operand, pos: int, hint: str = "") -> ODataQueryError:
        return self._error(
            "A binary operator with incompatible types was detected. Found operand types "
            f"'{self._display(left.edm_type)}' and '{self._display(right.edm_type)}' "
            f"for operator kind '{_KIND_NAMES[op]}'{hint}", pos)

    # -- grammar --------------------------------------------------------------------------------------------

    def parse(self) -> Predicate:
        result = self._or()
        token = self.token
        if token.kind != "end":
            if token.kind == "name" and token.text in _ARITHMETIC:
                raise self._error(f"The arithmetic operator '{token.text}' is not supported", token.pos)
            if token.kind == "name" and token.text.lower() in _KEYWORDS:
                raise self._error(f"Unknown operator '{token.text}' (operators are lowercase)", token.pos)
            raise self._error(f"Syntax error: unexpected '{token.text}'; an operator or the end was expected",
                              token.pos)
        if result.edm_type != BOOLEAN:
            raise self._error("The $filter expression must evaluate to a single boolean value", 0)
        return p.as_predicate(result)

    def _or(self) -> Operand:
        left = self._and()
        while self._at("name", "or"):
            pos = self._advance().pos
            left = self._logical("or", left, self._and(), pos)
        return left

    def _and(self) -> Operand:
        left = self._comparison()
        while self._at("name", "and"):
            pos = self._advance().pos
            left = self._logical("and", left, self._comparison(), pos)
        return left

    def _comparison(self) -> Operand:
        left = self._unary()
        while self.token.kind == "name" and self.token.text in _COMPARISONS:
            op, pos = self.token.text, self._advance().pos
            if op in ("in", "has") and not self.dialect.allow_in_has:
                raise self._error(f"The '{op}' operator is not supported", pos)
            if op == "in":
                left = self._membership(left, self._literal_list(), pos)
            elif op == "has":
                left = self._has(left, self._unary(), pos)
            else:
                right = self._unary()
                self._check_types(op, left, right, pos)
                left = p.compare(op, left, right, pos, wildcard=self.dialect.wildcard_eq)
        return left

    def _unary(self) -> Operand:
        if not self._at("name", "not"):
            return self._primary()
        pos = self._advance().pos
        operand = self._unary()
        if operand.edm_type != BOOLEAN:
            raise self._error(
                "A unary operator with an incompatible type was detected. "
                f"Found operand type '{self._display(operand.edm_type)}' for operator kind 'Not'", pos)
        return p.negate(operand, pos)

    def _primary(self) -> Operand:
        token = self.token
        if self._skip("("):
            inner = self._or()
            self._expect(")")
            return inner
        if token.edm_type is not None:  # a literal the lexer already typed
            self._advance()
            value = token.value.casefold() if token.edm_type == "Edm.String" else token.value
            return Operand(token.edm_type, token.pos, value=value)
        if token.kind == "enum":
            self._advance()
            return self._enum_literal(token)
        if token.kind != "name" or token.text in _KEYWORDS:
            raise self._error("Expression expected", token.pos)
        self._advance()
        if token.text in ("true", "false"):
            return Operand(BOOLEAN, token.pos, value=token.text == "true")
        if token.text == "null":
            return Operand(NULL, token.pos)
        if self._at("punct", "("):
            return self._call(token)
        if self._at("punct", "/"):
            raise self._error(f"Navigation paths ('{token.text}/...') are not supported by the emulator", token.pos)
        if "." in token.text:
            raise self._error(f"Unknown name '{token.text}'", token.pos)
        return self._property(token)

    def _property(self, token: Token) -> Operand:
        edm_type = self.properties.get(token.value)
        if edm_type is None:
            raise unknown_property(token.value, self.entity_type)
        return Operand(edm_type, token.pos, prop=token.value)

    def _enum_literal(self, token: Token) -> Operand:
        qualified, member = token.value
        namespace, _, short = qualified.rpartition(".")
        if self.dialect.enum_namespace is None:
            raise self._error(f"Enum literals such as {token.text} are not supported", token.pos)
        if namespace != self.dialect.enum_namespace:
            raise self._error(f"Unknown enum type '{qualified}'", token.pos)
        return Operand(f"Enum:{short}", token.pos, value=member.casefold())

    def _literal_list(self) -> list[Operand]:
        self._expect("(")
        items = [self._primary()]
        while self._skip(","):
            items.append(self._primary())
        self._expect(")")
        for item in items:
            if not item.is_literal:
                raise self._error("The 'in' operator takes a parenthesised list of literals", item.pos)
        return items

    def _call(self, name: Token) -> Operand:
        if name.text not in self.dialect.functions:
            hint = ""
            if self.dialect.wildcard_eq and name.text in STRING_FUNCTIONS:
                hint = "; match text with a wildcard instead, e.g. Name eq '*text*'"
            raise self._error(f"The function '{name.text}' is not supported{hint}", name.pos)
        if name.text == CRM_IN:
            return self._crm_in(name)
        self._expect("(")
        args = [self._or()]
        while self._skip(","):
            args.append(self._or())
        self._expect(")")
        if len(args) != 2 or any(arg.edm_type != "Edm.String" for arg in args):
            found = ", ".join(self._display(arg.edm_type) for arg in args)
            raise self._error(f"The function '{name.text}' takes two Edm.String arguments, not ({found})", name.pos)
        return p.string_test(name.text, args[0], args[1], name.pos)

    def _crm_in(self, name: Token) -> Operand:
        """Dataverse's `Microsoft.Dynamics.CRM.In(PropertyName='x',PropertyValues=["a","b"])`."""
        self._expect("(")
        arguments: dict[str, object] = {}
        while not arguments or self._skip(","):
            key = self._advance()
            self._expect("=")
            if key.text == "PropertyName" and self._at("string"):
                arguments[key.text] = self._advance()
            elif key.text == "PropertyValues" and self._skip("["):
                arguments[key.text] = self._json_list()
            else:
                raise self._error(f"Unexpected parameter '{key.text}' of {CRM_IN}", key.pos)
        self._expect(")")
        if set(arguments) != {"PropertyName", "PropertyValues"}:
            raise self._error(f"{CRM_IN} needs PropertyName and PropertyValues", name.pos)
        left = self._property(arguments["PropertyName"])
        return self._membership(left, [self._coerce(token, left) for token in arguments["PropertyValues"]], name.pos)

    def _json_list(self) -> list[Token]:
        """The rest of `["a","b"]` after its opening bracket."""
        items: list[Token] = []
        while not self._skip("]"):
            if items:
                self._expect(",")
            if not (self._at("json") or self._at("number")):
                raise self._error("A JSON string was expected", self.token.pos)
            items.append(self._advance())
        return items

    def _coerce(self, token: Token, left: Operand) -> Operand:
        """A PropertyValues entry (written as a JSON string) read as a literal of the property's type."""
        text = str(token.value)
        if family(left.edm_type) == "string":
            return Operand(left.edm_type, token.pos, value=text.casefold())
        operand = None
        if text in ("true", "false"):
            operand = Operand(BOOLEAN, token.pos, value=text == "true")
        elif text:
            try:
                literal, end = tokenize(text)[:2]
            except ODataQueryError:
                literal = end = None
            if literal is not None and literal.edm_type is not None and end.kind == "end":
                operand = Operand(literal.edm_type, token.pos, value=literal.value)
        if operand is None or not self._compatible(left, operand):
            raise self._error(f"'{text}' is not a valid {self._display(left.edm_type)} value", token.pos)
        return operand

    # -- type checking --------------------------------------------------------------------------------------

    def _logical(self, op: str, left: Operand, right: Operand, pos: int) -> Operand:
        if left.edm_type != BOOLEAN or right.edm_type != BOOLEAN:
            raise self._incompatible(op, left, right, pos)
        return p.logical(op, left, right, pos)

    def _membership(self, left: Operand, items: list[Operand], pos: int) -> Operand:
        for item in items:
            self._check_types("in", left, item, pos)
        return p.membership(left, items, pos)

    def _has(self, left: Operand, right: Operand, pos: int) -> Operand:
        if not enum_name(left.edm_type) or not right.is_literal:
            raise self._error("The 'has' operator needs an enum property and an enum literal", pos)
        self._check_types("has", left, right, pos)
        return p.has_flag(left, right, pos)

    def _check_types(self, op: str, left: Operand, right: Operand, pos: int) -> None:
        """Raise unless `left op right` is well typed; enums allow only eq and ne (and `has`, `in`)."""
        types = (left.edm_type, right.edm_type)
        if any(enum_name(t) for t in types) and op not in ("eq", "ne", "in", "has"):
            raise self._error(f"The operator '{op}' is not allowed on enum values; only eq and ne are", pos)
        if NULL in types or self._compatible(left, right):
            return
        hint = ""
        enum_side, other = (left, right) if enum_name(left.edm_type) else (right, left)
        if enum_name(enum_side.edm_type) and other.edm_type == "Edm.String" and other.is_literal:
            written = next(token.value for token in self.tokens if token.pos == other.pos)
            hint = f" (write enum values as {self._display(enum_side.edm_type)}'{written}')"
        raise self._incompatible(op, left, right, pos, hint)

    @staticmethod
    def _compatible(left: Operand, right: Operand) -> bool:
        enums = (enum_name(left.edm_type), enum_name(right.edm_type))
        if enums != (None, None):
            return enums[0] == enums[1]
        kinds = (family(left.edm_type), family(right.edm_type))
        if kinds[0] == kinds[1]:
            return True
        # A Date literal next to a DateTimeOffset stands for midnight UTC; a Date property never compares to one.
        date_side = left if kinds[0] == "date" else right
        return set(kinds) == {"date", "datetime"} and date_side.is_literal
