"""Emulators of the Dataverse Web API and the Finance and Operations OData API, as real HTTPS servers."""
