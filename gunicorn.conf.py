"""gunicorn's settings for p2c's web process (the Procfile, compose.yaml and the systemd unit name this file).

Threads, because a request mostly waits on the database; WEB_CONCURRENCY processes (gunicorn's own variable).
"""

import os

bind = f"{os.environ.get('P2C_BIND_ADDRESS', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104 - in a container
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("P2C_WEB_THREADS", "4"))
timeout = 60
graceful_timeout = 30
accesslog = "-"
# The path without its query string: a Dataverse webhook may carry its project's secret as ?code=.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
