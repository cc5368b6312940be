"""The pre-flight check: hold every enabled entity map of a project against its two environments as they are now.

It reads each environment's live `$metadata` (entity sets, types, keys, nullability, navigation names), Sales'
table definitions (required levels, writable columns, alternate keys and their index status, change tracking) and
the reference data the maps name (units, customer groups, legal entities, business units, currencies, price
lists), and reports every problem at once, each naming the entity map, the field and the fix. Nothing is written
to either environment. A full run starts with it and refuses to go on when it finds errors.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from connectors.errors import ConnectorError
from connectors.service_metadata import EntityType, Property, ServiceModel, TableDefinition
from integration.conversions import fold
from integration.definitions import project_definitions
from integration.mapping import NO_DEFAULT, FieldRule, MapDefinition, source_fields
from integration.models import Connection, Direction, EntityMap, Project, ProjectCheck, System
from integration.services import adapter
from integration.services.connections import ConnectionMisconfigured

log = logging.getLogger(__name__)

LABELS = {System.DATAVERSE: "Sales", System.FINOPS: "F&O"}
# F&O fields whose value must name a record of a reference entity (a foreign key the Infolog enforces).
FINOPS_REFERENCE_FIELDS = {
    "CustomerGroupId": ("CustomerGroups", "CustomerGroupId"),
    "SalesUnitSymbol": ("UnitsOfMeasure", "UnitSymbol"),
    "PaymentTerms": ("PaymentTerms", "Name"),
    "PaymentTermsName": ("PaymentTerms", "Name"),
}
# Columns Dataverse fills itself on create, though their metadata says SystemRequired: the owner and the state,
# and choices and yes/no columns, which take their default value (product's productstructure is 1, Product), and
# the table half of a polymorphic lookup (EntityName: owneridtype, customeridtype), set with the lookup itself.
_SYSTEM_FILLED = frozenset({"ownerid", "statecode", "statuscode"})
_DEFAULTED_TYPES = frozenset({"Picklist", "Boolean", "State", "Status", "Owner", "EntityName"})
_NUMBER_TYPES = frozenset({"Edm.Int32", "Edm.Int64", "Edm.Decimal", "Edm.Double", "Edm.Single", "Edm.Byte"})


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" or "warning"
    entity_map: str  # "" for the project as a whole
    field: str
    message: str
    fix: str


class Environment:
    """One connection's live metadata and the reference rows the check reads, each read once per check."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.label = LABELS[connection.system]
        self.error = ""
        self._model: ServiceModel | None = None
        self._tables: dict[str, TableDefinition | None] = {}
        self._rows: dict[tuple, list[dict]] = {}

    @property
    def is_sales(self) -> bool:
        return self.connection.system == System.DATAVERSE

    def model(self) -> ServiceModel | None:
        if self._model is None and not self.error:
            try:
                self._model = adapter.client(self.connection).service_model()
            except (ConnectorError, ConnectionMisconfigured) as exc:
                self.error = getattr(exc, "message", None) or str(exc)
        return self._model

    def entity_type(self, entity_set: str) -> EntityType | None:
        model = self.model()
        return model.entity_sets.get(entity_set) if model else None

    def table(self, entity_set: str) -> TableDefinition | None:
        """Sales' definition of the table behind an entity set (its logical name is the entity type's name)."""
        if entity_set not in self._tables:
            entity_type = self.entity_type(entity_set)
            self._tables[entity_set] = None if entity_type is None else \
                adapter.client(self.connection).table_definition(entity_type.short_name)
        return self._tables[entity_set]

    def rows(self, entity_set: str, *, select: Sequence[str] = (), filter: str | None = None) -> list[dict]:
        key = (entity_set, tuple(select), filter)
        if key not in self._rows:
            self._rows[key] = list(adapter.client(self.connection).rows(entity_set, select=select, filter=filter))
        return self._rows[key]


def project_check(*, project: Project, trigger: str, requested_by: str = "") -> ProjectCheck:
    """Check the project now and store the result (clean, warnings or errors) with every problem found."""
    started = time.monotonic()
    sales, finops = Environment(project.sales_connection), Environment(project.finops_connection)
    problems = [Problem("error", "", "connection", f"cannot read the {env.label} environment's metadata "
                        f"({env.connection.name}): {env.error}", "fix the connection in the admin and use "
                        "'Test connection'") for env in (sales, finops) if env.model() is None]
    if not problems:
        try:
            problems = _project_problems(project, sales, finops)
        except (ConnectorError, ConnectionMisconfigured) as exc:
            problems = [Problem("error", "", "connection", f"reading the environments failed: "
                                f"{getattr(exc, 'message', None) or exc}", "fix the connection and check again")]
    errors = sum(problem.severity == "error" for problem in problems)
    status = (ProjectCheck.Status.ERRORS if errors else
              ProjectCheck.Status.WARNINGS if problems else ProjectCheck.Status.CLEAN)
    check = ProjectCheck.objects.create(project=project, trigger=trigger, requested_by=requested_by, status=status,
                                        problems=[asdict(problem) for problem in problems],
                                        seconds=round(time.monotonic() - started, 3))
    log.info("project checked project=%s check=%s status=%s errors=%s warnings=%s", project.name, check.pk,
             status, errors, len(problems) - errors)
    return check


def _project_problems(project: Project, sales: Environment, finops: Environment) -> list[Problem]:
    problems = _organization_problems(project, sales, finops)
    earlier: list[str] = []
    legal_entities = sorted({m.legal_entity for m in project.organization_mappings.all()})
    for entity_map, definition in project_definitions(project):
        if not entity_map.enabled:
            continue
        problems += _map_problems(entity_map, definition, sales, finops, legal_entities, earlier)
        earlier.append(entity_map.name)
    if any(m.enabled and m.destination_entity_set == "products" for m in project.entity_maps.all()):
        problems += _price_list_problems(project, sales, finops)
    return problems + _two_way_problems(project)


def _two_way_problems(project: Project) -> list[Problem]:
    """A two-way flow is two maps naming each other, each reading what the other writes, agreeing on the system of
    record: otherwise p2c's own writes would not be recognised when they come back, or each side would win."""
    problems = []
    for entity_map in project.entity_maps.filter(enabled=True, reverse_map__isnull=False).select_related(
            "reverse_map"):
        reverse = entity_map.reverse_map
        if (reverse.reverse_map_id != entity_map.pk or reverse.direction == entity_map.direction
                or reverse.source_entity_set != entity_map.destination_entity_set
                or reverse.destination_entity_set != entity_map.source_entity_set):
            problems.append(Problem("error", entity_map.name, "reverse_map", f"its reverse map {reverse.name} does "
                                    f"not sync {entity_map.destination_entity_set} back to "
                                    f"{entity_map.source_entity_set} naming {entity_map.name} as its own reverse map",
                                    "pair the two maps both ways, or clear the reverse map"))
        elif {entity_map.system_of_record, reverse.system_of_record} - {""} not in (set(), {System.DATAVERSE},
                                                                                   {System.FINOPS}):
            problems.append(Problem("error", entity_map.name, "system_of_record", f"{entity_map.name} and "
                                    f"{reverse.name} name different systems of record",
                                    "give both maps the same system of record"))
    return problems


def _map_problems(entity_map: EntityMap, definition: MapDefinition, sales: Environment, finops: Environment,
                  legal_entities: Sequence[str], earlier: Sequence[str]) -> list[Problem]:
    to_finops = entity_map.direction == Direction.SALES_TO_FINOPS
    source, destination = (sales, finops) if to_finops else (finops, sales)
    return _MapCheck(entity_map, definition, source, destination, legal_entities).problems(earlier)


def entity_map_problems(*, entity_map: EntityMap, definition: MapDefinition, sales: Environment,
                        finops: Environment) -> list[Problem]:
    """The check of one entity map, as the project's check runs it, against a definition that may not be saved
    yet (the mapping editor validates an edit with it before saving)."""
    project = entity_map.project
    legal_entities = sorted({m.legal_entity for m in project.organization_mappings.all()})
    earlier = [m.name for m in project.entity_maps.filter(enabled=True).order_by("order", "id")
               if (m.order, m.pk) < (entity_map.order, entity_map.pk)]
    return _map_problems(entity_map, definition, sales, finops, legal_entities, earlier)


def _organization_problems(project: Project, sales: Environment, finops: Environment) -> list[Problem]:
    problems = []
    known = {str(row.get("LegalEntityId", "")).casefold() for row in finops.rows("LegalEntities",
                                                                                   select=("LegalEntityId",))}
    units = {str(row.get("name", "")).casefold() for row in sales.rows("businessunits", select=("name",))}
    for mapping in project.organization_mappings.all():
        if mapping.legal_entity.casefold() not in known:
            problems.append(Problem("error", "", "organization mappings", f"legal entity {mapping.legal_entity!r} "
                                    "does not exist in F&O", "correct the organization mapping's legal entity"))
        if mapping.business_unit.casefold() not in units:
            problems.append(Problem("warning", "", "organization mappings", f"business unit "
                                    f"{mapping.business_unit!r} does not exist in Sales; records are never "
                                    "routed by it", "correct the organization mapping's business unit"))
    return problems


def _price_list_problems(project: Project, sales: Environment, finops: Environment) -> list[Problem]:
    """Microsoft's Prospect to cash plug-in adds a new product to the first price list of its currency, and the
    product's sync fails when there is none (p2c-templates 2.4)."""
    company = adapter.product_company(project)
    sample = finops.rows("SellableReleasedProducts", select=("CurrencyCode",),
                         filter=f"dataAreaId eq '{company}'")[:1]
    if not sample:
        return []
    code = sample[0].get("CurrencyCode")
    currency = next((row for row in sales.rows("transactioncurrencies", select=("transactioncurrencyid",
                                                                               "isocurrencycode"))
                     if str(row.get("isocurrencycode", "")).casefold() == str(code).casefold()), None)
    if currency is None:
        return [Problem("error", "Products", "transactioncurrencyid@odata.bind", f"currency {code!r} of the product "
                        f"company {company} does not exist in Sales", "add the currency in Sales")]
    lists = [row for row in sales.rows("pricelevels", select=("name", "_transactioncurrencyid_value", "statecode"))
             if row.get("_transactioncurrencyid_value") == currency["transactioncurrencyid"]
             and row.get("statecode") in (0, None)]
    if lists:
        return []
    return [Problem("warning", "Products", "price list", f"Sales has no active price list in {code}, the currency "
                    f"of the product company {company}", f"create a price list in {code} in Sales: the Prospect "
                    "to cash solution adds synced products to the first one of their currency")]


class _MapCheck:
    """The checks of one entity map; each method returns the problems it found."""

    def __init__(self, entity_map: EntityMap, definition: MapDefinition, source: Environment,
                 destination: Environment, legal_entities: Sequence[str]):
        self.entity_map = entity_map
        self.definition = definition
        self.source, self.destination = source, destination
        self.legal_entities = legal_entities
        self.found: list[Problem] = []

    def problem(self, severity: str, field: str, message: str, fix: str) -> None:
        self.found.append(Problem(severity, self.entity_map.name, field, message, fix))

    def problems(self, earlier: Sequence[str]) -> list[Problem]:
        source_type = self._entity_set(self.source, self.entity_map.source_entity_set, "source_entity_set")
        if source_type is not None:
            self._source_fields(source_type)
            self._change_detection()
        destination_type = self._entity_set(self.destination, self.entity_map.destination_entity_set,
                                            "destination_entity_set")
        if destination_type is not None:
            if self.destination.is_sales:
                self._sales_destination(destination_type)
            else:
                self._finops_destination(destination_type)
            self._reference_values()
            if source_type is not None:
                self._copied_types(source_type, destination_type)
        self._lookups(earlier)
        return self.found

    # --- source ----------------------------------------------------------------------------------------------
    def _entity_set(self, env: Environment, entity_set: str, field: str) -> EntityType | None:
        entity_type = env.entity_type(entity_set)
        if entity_type is None:
            self.problem("error", field, f"{entity_set} is not an entity set of the {env.label} environment",
                         f"correct the entity map's {field.replace('_', ' ')}")
        return entity_type

    def _source_fields(self, entity_type: EntityType) -> None:
        names = list(source_fields(self.definition))
        if self.entity_map.change_detection == "watermark":
            names.append(self.entity_map.watermark_field or "modifiedon")
        for name in names:
            if name not in entity_type.properties:
                self.problem("error", name, f"the source {entity_type.short_name} has no field {name}",
                             "correct the field map, condition or key that reads it")

    def _change_detection(self) -> None:
        if self.entity_map.change_detection != "change_tracking":
            return
        if not self.source.is_sales:
            self.problem("error", "change_detection", "F&O entities offer no change tracking to OData clients",
                         "use a full scan")
            return
        table = self.source.table(self.entity_map.source_entity_set)
        if table is not None and not table.change_tracking:
            self.problem("error", "change_detection", f"change tracking is not enabled on the Sales table "
                         f"{table.logical_name}", f"enable it (Power Apps: Tables > {table.logical_name} > "
                         "Properties > Track changes; reading changes needs organization-level read), or switch "
                         "the entity map to the modified-on watermark")

    def _copied_types(self, source_type: EntityType, destination_type: EntityType) -> None:
        """A value copied as it is (no transform) must already be of the destination's type: OData services refuse
        a JSON number for an Edm.String, text for a number, a boolean for an F&O enum such as NoYes."""
        enums = {} if self.destination.is_sales else self.destination.model().enums
        for rule in self.definition.fields:
            if rule.transforms or not rule.source:
                continue
            source, destination = source_type.properties.get(rule.source), destination_type.properties.get(
                rule.destination)
            if source is None or destination is None:
                continue  # reported as unknown fields
            given, wanted = _type_family(source.type, {}), _type_family(destination.type, enums)
            if given == wanted or (given, wanted) in _COPIES_THAT_FIT:
                continue
            severity = "warning" if (given, wanted) == ("text", "enum") else "error"
            self.problem(severity, rule.destination, f"{rule.source} ({source.type}, {given}) is copied as it is "
                         f"into {rule.destination} ({_type_name(destination.type)}, {wanted})",
                         f"add a transform that gives {wanted}: a value map, 'convert' or 'format'"
                         if severity == "error" else "map its values with a value map, so each is a member "
                         "spelled exactly")

    # --- destination -----------------------------------------------------------------------------------------
    def _finops_destination(self, entity_type: EntityType) -> None:
        properties = entity_type.properties
        enums = self.destination.model().enums
        for rule in self.definition.fields:
            prop = properties.get(rule.destination)
            if prop is None:
                self.problem("error", rule.destination, f"{entity_type.short_name} has no property "
                             f"{rule.destination}", "map it to a property the entity has, or remove the field map")
                continue
            for value in _literal_outputs(rule):
                wrong = _type_problem(value, prop, enums)
                if wrong:
                    self.problem("error", rule.destination, wrong, "correct the constant, default or value map")
            if not prop.nullable and not _never_null(rule):
                self.problem("error", rule.destination, f"{rule.destination} cannot be null in F&O (Nullable=false) "
                             "but is sent as null when the source value is blank",
                             "set 'omit blank' (F&O then keeps or defaults it), a default value, or 'required'")
        address = self.entity_map.destination_api_key_fields or self.entity_map.destination_key_fields
        if set(address) != set(entity_type.key):
            self.problem("error", "destination key", f"F&O addresses {entity_type.short_name} by "
                         f"{', '.join(entity_type.key)}, not by {', '.join(address)}",
                         "set the destination key fields (or, for a key F&O generates, the API key fields) to the "
                         "entity's key")
        mapped = {rule.destination for rule in self.definition.fields}
        for name in self.entity_map.destination_lookup_fields:
            if name not in properties or name not in mapped:
                self.problem("error", name, f"lookup field {name} is not a mapped property of "
                             f"{entity_type.short_name}", "map it, or correct the lookup fields")
        for name in entity_type.key:
            if name not in mapped and name not in self.entity_map.destination_api_key_fields:
                self.problem("error", name, f"key field {name} of {entity_type.short_name} is not mapped",
                             "map it")

    def _sales_destination(self, entity_type: EntityType) -> None:
        table = self.destination.table(self.entity_map.destination_entity_set)
        attributes = table.attributes if table else {}
        bound: set[str] = set()
        for rule in self.definition.fields:
            name = rule.destination
            if name.endswith("@odata.bind"):
                navigation = entity_type.navigation.get(name.removesuffix("@odata.bind"))
                if navigation is None or navigation.collection:
                    self.problem("error", name, f"{name.removesuffix('@odata.bind')} is not a single-valued "
                                 f"navigation property of {entity_type.short_name}",
                                 "use the lookup's navigation property name exactly as $metadata spells it")
                else:
                    # `_parentcustomerid_value` -> parentcustomerid; without a constraint, the navigation's own name
                    bound.add(navigation.local_property.removeprefix("_").removesuffix("_value")
                              or navigation.name.split("_")[0])
                continue
            attribute = attributes.get(name)
            if name not in entity_type.properties or (table is not None and attribute is None):
                self.problem("error", name, f"{entity_type.short_name} has no column {name}",
                             "map it to a column the table has, or remove the field map")
                continue
            if attribute is not None and not (attribute.valid_for_create or attribute.valid_for_update):
                self.problem("error", name, f"column {name} of {entity_type.short_name} cannot be written",
                             "remove the field map")
            for value in _literal_outputs(rule):
                wrong = _type_problem(value, entity_type.properties[name], {})
                if wrong:
                    self.problem("error", name, wrong, "correct the constant, default or value map")
        if table is not None:
            self._sales_key(table, entity_type)
            self._sales_required(table, entity_type, bound)

    def _sales_key(self, table: TableDefinition, entity_type: EntityType) -> None:
        fields = set(self.entity_map.destination_key_fields)
        if fields == set(entity_type.key):
            return
        key = next((key for key in table.keys if set(key.attributes) == fields), None)
        columns = ", ".join(sorted(fields))
        if key is None:
            self.problem("error", "destination key", f"the Sales table {table.logical_name} has no alternate key on "
                         f"{columns}, so records cannot be upserted by it", f"create an alternate key on {columns} "
                         f"(Power Apps: Tables > {table.logical_name} > Keys) and wait until it is Active")
        elif not key.active:
            self.problem("error", "destination key", f"the alternate key {key.name} on {columns} is {key.status}, "
                         "not Active: Dataverse does not address records by it yet",
                         "wait for its index to be built, or reactivate a failed key (Power Apps: Tables > Keys)")

    def _sales_required(self, table: TableDefinition, entity_type: EntityType, bound: set[str]) -> None:
        mapped = {rule.destination for rule in self.definition.fields} | bound
        for attribute in table.attributes.values():
            name = attribute.name
            if (not attribute.valid_for_create or name in mapped or name in entity_type.key
                    or name in _SYSTEM_FILLED or attribute.type in _DEFAULTED_TYPES):
                continue
            if attribute.required_level == "SystemRequired":
                self.problem("error", name, f"{name} is required (SystemRequired) by {table.logical_name} and not "
                             "mapped, so every create fails", "map it")
            elif attribute.required_level == "ApplicationRequired":
                self.problem("warning", name, f"{name} is business-required on {table.logical_name} and not "
                             "mapped: the Web API accepts the record, but forms will ask for it",
                             "map it, or accept it")

    # --- reference data --------------------------------------------------------------------------------------
    def _reference_values(self) -> None:
        for rule in self.definition.fields:
            options = rule.options.get("reference")
            if options and options["system"] == "destination":  # values from the map itself can be checked
                self._referenced(rule, options)
            if not self.destination.is_sales and rule.destination in FINOPS_REFERENCE_FIELDS:
                self._finops_referenced(rule, *FINOPS_REFERENCE_FIELDS[rule.destination])

    def _referenced(self, rule: FieldRule, options: dict) -> None:
        values = _reference_inputs(rule)
        if not values:
            return
        env = self.destination
        rows = env.rows(options["entity_set"])
        for name, condition in options.get("where", {}).items():
            wanted = condition
            if isinstance(condition, dict):
                match = _find(env.rows(condition["entity_set"]), condition["match_field"], condition["value"])
                if match is None:
                    self.problem("error", rule.destination, f"no {condition['entity_set']} record in {env.label} "
                                 f"has {condition['match_field']} {condition['value']!r}",
                                 f"create it in {env.label}, or correct the field map's reference")
                    return
                wanted = match.get(condition["return_field"])
            rows = [row for row in rows if _same(row.get(name), wanted)]
        scope = "".join(f" within {c['value']!r}" for c in options.get("where", {}).values() if isinstance(c, dict))
        for value in values:
            if _find(rows, options["match_field"], value) is None:
                self.problem("error", rule.destination, f"no {options['entity_set']} record in {env.label} has "
                             f"{options['match_field']} {value!r}{scope}",
                             f"create it in {env.label}, or correct the value map")

    def _finops_referenced(self, rule: FieldRule, entity_set: str, key: str) -> None:
        values = [value for value in _literal_outputs(rule) if isinstance(value, str) and value]
        if not values:
            return
        rows = self.destination.rows(entity_set)
        per_company = bool(rows) and "dataAreaId" in rows[0]
        companies = self.legal_entities if per_company else [None]
        for value in values:
            for company in companies:
                scoped = [row for row in rows if company is None or _same(row.get("dataAreaId"), company)]
                if _find(scoped, key, value) is None:
                    where = f" in company {company}" if company else ""
                    self.problem("error", rule.destination, f"{value!r} is not a {entity_set} record{where}",
                                 f"create it in F&O{where}, or correct the field map's value")

    # --- lookups ---------------------------------------------------------------------------------------------
    def _lookups(self, earlier: Sequence[str]) -> None:
        for rule in self.definition.fields:
            options = rule.options.get("lookup")
            for name in (options or {}).get("entity_maps", ()):
                if name not in earlier:
                    self.problem("error", rule.destination, f"looks up {name}, which is not an enabled entity map "
                                 "earlier in the project", "enable it, move it before this one, or correct the "
                                 "lookup")


def _literal_outputs(rule: FieldRule) -> list[object]:
    """The values a field map writes whatever the source holds: its constant, value map targets and defaults."""
    values: list[object] = []
    last = rule.transforms[-1] if rule.transforms else ""
    if last == "constant":
        values.append(rule.options["constant"]["value"])
    elif last == "value_map":
        values += list(rule.value_map.values())
        if rule.value_map_default is not NO_DEFAULT:
            values.append(rule.value_map_default)
    if rule.default is not None:
        values.append(rule.default)
    return [value for value in values if value is not None]


def _reference_inputs(rule: FieldRule) -> list[object]:
    """The values that reach a reference transform when they come from the map itself, not from the source."""
    before = rule.transforms[:rule.transforms.index("reference")]
    if before == ("constant",):
        return [rule.options["constant"]["value"]]
    if before == ("value_map",):
        return [value for value in rule.value_map.values() if value is not None]
    return []


def _never_null(rule: FieldRule) -> bool:
    return rule.required or rule.omit_blank or rule.default is not None or "constant" in rule.transforms


_FAMILIES = {"Edm.String": "text", "Edm.Guid": "an id", "Edm.Boolean": "true or false",
             "Edm.DateTimeOffset": "a date and time", "Edm.Date": "a date", **dict.fromkeys(_NUMBER_TYPES, "a number")}
# Copies between families that the services take as they are: an id is sent as its text, a whole number as any
# number.
_COPIES_THAT_FIT = {("an id", "text")}


def _type_name(edm_type: str) -> str:
    """`Edm.String` as it is; an enum type by its own name (`NoYes`), not its namespace's."""
    return edm_type if edm_type.startswith("Edm.") else edm_type.rsplit(".", 1)[-1]


def _type_family(edm_type: str, enums: dict[str, dict[str, int]]) -> str:
    if edm_type in enums:
        return "enum"
    return _FAMILIES.get(edm_type, edm_type)


def _type_problem(value: object, prop: Property, enums: dict[str, dict[str, int]]) -> str | None:
    members = enums.get(prop.type)
    if members is not None:
        if value in members:
            return None
        near = next((member for member in members if str(value).casefold() == member.casefold()), None)
        hint = f" (the member is spelled {near!r})" if near else ""
        return f"{value!r} is not a member of {prop.type.rsplit('.', 1)[-1]}{hint}"
    if prop.type == "Edm.String" and not isinstance(value, str):
        return f"{value!r} is not text, and {prop.name} is Edm.String"
    if prop.type in _NUMBER_TYPES and (isinstance(value, bool) or not isinstance(value, int | float)):
        return f"{value!r} is not a number, and {prop.name} is {prop.type}"
    if prop.type == "Edm.Boolean" and not isinstance(value, bool):
        return f"{value!r} is not true or false, and {prop.name} is Edm.Boolean"
    if prop.type == "Edm.DateTimeOffset":
        try:
            datetime.fromisoformat(str(value))
        except ValueError:
            return f"{value!r} is not a date and time, and {prop.name} is Edm.DateTimeOffset"
    return None


def _same(left: object, right: object) -> bool:
    return fold(left) == fold(right)


def _find(rows: Iterable[dict], field: str, value: object) -> dict | None:
    return next((row for row in rows if _same(row.get(field), value)), None)
