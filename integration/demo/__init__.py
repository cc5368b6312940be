"""The demo: the whole Prospect-to-cash flow on one machine (`python manage.py demo`)."""
