"""The Finance and Operations emulator: F&O's OData `/data/` API over HTTPS, for the sync engine and its tests.

Start one with `python -m connectors.emulators finops --port N`, or in-process with `connectors.emulators.start`.
"""

from connectors.emulators.finops.app import FinOpsEmulator

__all__ = ["FinOpsEmulator"]
