"""An emulator of the Dataverse Web API (Dynamics 365 Sales), faithful to the reference's protocol facts."""

from connectors.emulators.dataverse.emulator import DataverseEmulator

__all__ = ["DataverseEmulator"]
