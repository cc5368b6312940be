"""Scenario 3, incremental runs after a full sync: one with nothing changed, then runs after changing a share of
the accounts (in Sales) and of the products (in F&O), made through the emulators' APIs as a user would.

Targets: writes = changed records; reads ≤ the pages of the change feeds (the GETs of the maps' source entity
sets; any other read is extra); wall time = the nothing-changed run's time plus the changes at the full sync's rate.
It runs from bench/full_sync.py, after scenarios 1 and 2.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import Environment, RunFigures
from report import Row, headline, number

from connectors.odata import key_path
from integration.models import Project, SyncRun

SALES_API = "/api/data/v9.2/"
FINOPS_API = "/data/"


@dataclass(frozen=True)
class IncrementalFigures:
    label: str
    changed: int
    figures: RunFigures
    feed_pages: int  # GETs of the source entity sets of the project's maps


def run_incremental(env: Environment, project: Project, *, percents: list[float]) -> list[IncrementalFigures]:
    """A run with nothing changed, then one per share in `percents` (of accounts and of products)."""
    sources = set(project.entity_maps.values_list("source_entity_set", flat=True))
    results = [_measured(env, project, "nothing changed", 0, sources)]
    sales = env.emulators.api_session(env.emulators.dataverse)
    finops = env.emulators.api_session(env.emulators.finops)
    accounts = _accounts(env, sales)
    products = _products(env, finops)
    for round_number, percent in enumerate(percents, start=1):
        changed = _change_accounts(env, sales, accounts, percent, round_number)
        changed += _change_products(env, finops, products, percent, round_number)
        results.append(_measured(env, project, f"{percent:g}% of accounts and products changed", changed, sources))
    return results


def rows(results: list[IncrementalFigures], *, full_rate: float) -> list[Row]:
    """Writes against changes, reads against feed pages, wall time against fixed cost plus changes at full rate."""
    baseline = results[0].figures.seconds
    table = []
    for result in results:
        figures = result.figures
        writes, reads = figures.api.writes, figures.api.reads
        table.append(Row(f"{result.label}: writes", f"{writes:,}", f"{result.changed:,} changed records",
                         writes / result.changed if result.changed else None, "= changed records",
                         writes == result.changed))
        table.append(Row(f"{result.label}: reads", f"{reads:,}", f"{result.feed_pages} change-feed pages",
                         reads / result.feed_pages if result.feed_pages else None, "≤ change-feed pages",
                         reads <= result.feed_pages))
        if result.changed:
            expected = baseline + result.changed / full_rate
            table.append(Row(f"{result.label}: wall time", number(figures.seconds, "s"),
                             f"{number(expected, 's')} (nothing-changed run + changes at the full-sync rate)",
                             figures.seconds / expected, "∝ changes"))
        else:
            table.append(Row(f"{result.label}: wall time", number(figures.seconds, "s"), "fixed cost of a run"))
    return table


def headlines(results: list[IncrementalFigures]) -> None:
    for result in results:
        figures = result.figures
        if result.changed:
            headline("3. incremental", f"{result.label}: writes ÷ changed records", figures.api.writes / result.changed,
                     at_least=1, at_most=1)
        else:
            headline("3. incremental", f"{result.label}: writes", figures.api.writes, at_most=0)
        headline("3. incremental", f"{result.label}: reads ÷ change-feed pages",
                 figures.api.reads / max(result.feed_pages, 1), at_most=1)
        headline("3. incremental", f"{result.label}: wall time (s)", figures.seconds)


def _measured(env: Environment, project: Project, label: str, changed: int, sources: set[str]) -> IncrementalFigures:
    figures = env.run(project, mode=SyncRun.Mode.INCREMENTAL)
    return IncrementalFigures(label, changed, figures, figures.api.reads_of(sources))


def _pages(session, url: str, params: dict) -> list[dict]:
    found, link = [], url
    while link:
        response = session.get(link, params=params if link == url else None, timeout=120,
                               headers={"Prefer": "odata.maxpagesize=5000"})
        response.raise_for_status()
        payload = response.json()
        found.extend(payload["value"])
        link = payload.get("@odata.nextLink")
    return found


def _accounts(env: Environment, sales) -> list[dict]:
    return _pages(sales, f"{env.emulators.dataverse.origin}{SALES_API}accounts",
                  {"$select": "accountid,accountnumber", "$filter": "accountnumber ne null"})


def _products(env: Environment, finops) -> list[dict]:
    return _pages(finops, f"{env.emulators.finops.origin}{FINOPS_API}SellableReleasedProducts",
                  {"cross-company": "true", "$filter": "dataAreaId eq 'usmf'",
                   "$select": "dataAreaId,ItemNumber,ProductNumber,SalesPrice"})


def _spread(rows: list[dict], percent: float, round_number: int) -> list[dict]:
    """`percent` of the rows, evenly spread, a different set each round."""
    count = max(1, round(len(rows) * percent / 100))
    step = max(1, len(rows) // count)
    return rows[round_number % step::step][:count]


def _change_accounts(env: Environment, sales, accounts: list[dict], percent: float, round_number: int) -> int:
    chosen = _spread(accounts, percent, round_number)
    for n, account in enumerate(chosen):
        sales.patch(f"{env.emulators.dataverse.origin}{SALES_API}accounts({account['accountid']})",
                    json={"telephone1": f"+1 425 {round_number:02d}{n:05d}"}, headers={"If-Match": "*"},
                    timeout=30).raise_for_status()
    return len(chosen)


def _change_products(env: Environment, finops, products: list[dict], percent: float, round_number: int) -> int:
    chosen = _spread(products, percent, round_number)
    for product in chosen:
        key = {"dataAreaId": product["dataAreaId"], "ItemNumber": product["ItemNumber"]}
        product["SalesPrice"] = round(product["SalesPrice"] + 1, 2)
        finops.patch(f"{env.emulators.finops.origin}{FINOPS_API}{key_path('ReleasedProductsV2', key)}",
                     params={"cross-company": "true"}, json={"SalesPrice": product["SalesPrice"]},
                     headers={"If-Match": "*"}, timeout=30).raise_for_status()
    return len(chosen)
