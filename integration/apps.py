from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "integration"
    verbose_name = "Integration"

    def ready(self) -> None:
        from connectors.observe import observer_set
        from integration.connector_counters import counters_record

        # Every process that runs connectors (workers, the web process's connection tests) counts their traffic.
        observer_set(counters_record)
