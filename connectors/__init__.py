"""HTTP clients for Dataverse and Finance and Operations. Plain Python: no Django, no Celery."""
