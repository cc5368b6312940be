"""Realistic, deterministic sample data for both emulators: the same seed gives the same records.

Both emulators draw their product catalog and companies from here, so that products seeded in F&O and the
products quotes refer to in Sales agree, as they would after a first product sync.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# The two legal entities of the demo company, and the Sales business units they map to.
LEGAL_ENTITIES = (
    {"dataAreaId": "usmf", "Name": "Contoso Entertainment System USA", "CurrencyCode": "USD", "CountryRegion": "USA",
     "BusinessUnit": "Contoso US"},
    {"dataAreaId": "demf", "Name": "Contoso Entertainment System Germany", "CurrencyCode": "EUR",
     "CountryRegion": "DEU", "BusinessUnit": "Contoso DE"},
)

UNITS = (  # symbol, description, decimals
    ("ea", "Each", 0),
    ("pcs", "Pieces", 0),
    ("box", "Box", 0),
    ("kg", "Kilogram", 3),
    ("h", "Hour", 2),
)

_COMPANY_WORDS = ("Adatum", "Alpine", "Blue Yonder", "Coho", "Contoso", "Fabrikam", "Fourth Coffee", "Litware",
                  "Lucerne", "Margie's", "Northwind", "Proseware", "Relecloud", "Tailspin", "Trey", "Wingtip",
                  "Wide World", "Woodgrove", "Humongous", "Graphic Design", "Consolidated", "Southridge",
                  "City Power", "Best For You", "School of Fine Art", "Olympia", "Summit", "Harbor", "Granite",
                  "Redwood", "Silverline", "Northstar", "Evergreen", "Lakeshore", "Ironwood", "Bluebird")
_COMPANY_SUFFIXES = ("Inc.", "Ltd.", "Corp.", "LLC", "Group", "Trading", "Industries", "Partners", "GmbH", "AG",
                     "Supplies", "Systems", "Retail", "Foods", "Logistics", "Studios")
_FIRST_NAMES = ("Anna", "Ben", "Carla", "David", "Elena", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Karin",
                "Liam", "Maria", "Noah", "Olivia", "Paul", "Quinn", "Rosa", "Sam", "Tara", "Uwe", "Vera",
                "William", "Xenia", "Yusuf", "Zoe", "Aiko", "Björn", "Chloé", "Dário", "Émile", "Søren", "Zoë")
_LAST_NAMES = ("Adams", "Baker", "Clark", "Davis", "Evans", "Fischer", "García", "Hoffmann", "Ito", "Jensen",
               "Keller", "López", "Müller", "Nguyen", "O'Brien", "Patel", "Quinn", "Rossi", "Schmidt", "Tanaka",
               "Ueda", "Vogel", "Wagner", "Xu", "Young", "Zimmermann", "D'Angelo", "Smith-Jones", "Brown")
_STREETS = ("Main St", "Oak Ave", "Pine Rd", "Maple Dr", "Cedar Ln", "Elm St", "Lake Blvd", "Hill Rd",
            "Park Ave", "River Rd", "Market St", "Church St", "Bahnhofstraße", "Hauptstraße", "Gartenweg")
_CITIES = (  # city, state or province, postal code prefix, ISO 3166 alpha-3, country name
    ("Seattle", "WA", "981", "USA", "United States"),
    ("Redmond", "WA", "980", "USA", "United States"),
    ("Chicago", "IL", "606", "USA", "United States"),
    ("Austin", "TX", "787", "USA", "United States"),
    ("Boston", "MA", "021", "USA", "United States"),
    ("Denver", "CO", "802", "USA", "United States"),
    ("Toronto", "ON", "M5V", "CAN", "Canada"),
    ("Berlin", "BE", "101", "DEU", "Germany"),
    ("Munich", "BY", "803", "DEU", "Germany"),
    ("Hamburg", "HH", "203", "DEU", "Germany"),
    ("London", "", "EC1", "GBR", "United Kingdom"),
    ("Paris", "", "750", "FRA", "France"),
    ("Amsterdam", "NH", "101", "NLD", "Netherlands"),
)
_PRODUCT_ADJECTIVES = ("Compact", "Deluxe", "Ergonomic", "Heavy-duty", "Portable", "Premium", "Smart", "Standard",
                       "Wireless", "Industrial", "Eco", "Pro", "Mini", "Ultra", "Classic", "Rugged")
_PRODUCT_NOUNS = ("Speaker", "Projector", "Headset", "Amplifier", "Cable kit", "Microphone", "Mixer", "Display",
                  "Receiver", "Subwoofer", "Tripod", "Controller", "Docking station", "Power supply",
                  "Installation service", "Support plan", "Soundbar", "Turntable", "Webcam", "Router")


@dataclass(frozen=True)
class ProductSpec:
    number: str
    name: str
    description: str
    unit: str
    price: float
    cost: float
    service: bool


def product_catalog(seed: int, count: int) -> list[ProductSpec]:
    """The products both systems know, numbered P00001..; the same for the same seed and count."""
    rng = random.Random(f"catalog-{seed}")
    products = []
    for n in range(1, count + 1):
        noun = rng.choice(_PRODUCT_NOUNS)
        name = f"{rng.choice(_PRODUCT_ADJECTIVES)} {noun}"
        service = noun.endswith(("service", "plan"))
        unit = "h" if service else rng.choice(("ea", "ea", "ea", "pcs", "box", "kg"))
        price = round(rng.uniform(5, 2500), 2)
        products.append(ProductSpec(
            number=f"P{n:05d}", name=name, description=f"{name}, model {rng.randint(100, 999)}",
            unit=unit, price=price, cost=round(price * rng.uniform(0.4, 0.8), 2), service=service,
        ))
    return products


class Faker:
    """A seeded source of names, addresses and contact details."""

    def __init__(self, seed: int | str):
        self.rng = random.Random(seed)

    def company(self) -> str:
        return f"{self.rng.choice(_COMPANY_WORDS)} {self.rng.choice(_COMPANY_SUFFIXES)}"

    def person(self) -> tuple[str, str]:
        return self.rng.choice(_FIRST_NAMES), self.rng.choice(_LAST_NAMES)

    def address(self, country: str | None = None) -> dict[str, str]:
        cities = [c for c in _CITIES if country is None or c[3] == country] or list(_CITIES)
        city, state, postal, iso3, country_name = self.rng.choice(cities)
        return {
            "street": f"{self.rng.randint(1, 9999)} {self.rng.choice(_STREETS)}",
            "city": city,
            "state": state,
            "postal_code": postal + "".join(str(self.rng.randint(0, 9)) for _ in range(2)),
            "country_iso3": iso3,
            "country": country_name,
        }

    def phone(self) -> str:
        return f"+1 {self.rng.randint(200, 989)}-555-{self.rng.randint(0, 9999):04d}"

    def email(self, first: str, last: str, domain: str) -> str:
        local = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
        return f"{local}@{domain}"

    def domain(self, company: str) -> str:
        return "".join(ch for ch in company.lower().split(" ")[0] if ch.isalnum()) + ".example.com"

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def choice(self, options):
        return self.rng.choice(options)

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def amount(self, low: float, high: float) -> float:
        return round(self.rng.uniform(low, high), 2)
