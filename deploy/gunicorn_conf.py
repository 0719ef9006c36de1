"""gunicorn for request/response in the deployed layout (Procfile.cluster; README, Deployment).

`gunicorn -c deploy/gunicorn_conf.py seatbooking.wsgi:application`; from the environment: APP_PORT (it
listens on 127.0.0.1 only: nginx is in front), GUNICORN_WORKERS (4: two per core on this 2-core machine),
GUNICORN_THREADS (1: sync workers; more makes them gthread workers). Each worker keeps one PostgreSQL
connection (seatbooking/wsgi.py). `make bench` compares the worker classes (README, Performance).
"""

import os

bind = f"127.0.0.1:{os.environ.get('APP_PORT', '8090')}"
workers = int(os.environ.get("GUNICORN_WORKERS", 4))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
worker_class = "gthread" if threads > 1 else "sync"
backlog = 2048  # requests wait here when every worker is busy; WEB_MAX_WAIT_SECONDS bounds the wait
timeout = 30  # a worker stuck this long is killed and replaced
graceful_timeout = 4  # on SIGTERM: requests in hand get this long, as uvicorn's --timeout-graceful-shutdown
keepalive = 65  # gthread only (sync workers close after each response); nginx keeps connections open
accesslog = None
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
control_socket_disable = True  # one per machine by default (~/.gunicorn); several gunicorns run here
