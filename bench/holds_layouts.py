"""The serving layouts bench/holds.py compares, by name: how to start each on a port (the processes whose
CPU counts as the web's), and the headers its client sends."""

import os

from bench.common import gunicorn_argv, start_deployed, start_granian, start_gunicorn, start_web

CORES = len(os.sched_getaffinity(0))
DEPLOYED = f"deployed: nginx -> granian WSGI x{CORES}"  # one worker per core (deploy/granian.py)
DEPLOYED_ORM = f"{DEPLOYED} (ORM statements)"
DEPLOYED_DRF = f"{DEPLOYED} (DRF's view)"
# name -> how to start it on a port (the processes whose CPU counts as the web's)
LAYOUTS = {
    "uvicorn x1 (ASGI)": lambda port: [start_web(port, workers=1)],
    "uvicorn x2 (ASGI)": lambda port: [start_web(port, workers=2)],
    "gunicorn sync x2 (WSGI)": lambda port: [start_gunicorn(port, workers=2)],
    "gunicorn sync x4 (WSGI)": lambda port: [start_gunicorn(port, workers=4)],
    "gunicorn gthread 4x4 (WSGI)": lambda port: [start_gunicorn(port, workers=4, threads=4)],
    "granian x2 (ASGI)": lambda port: [start_granian(port, "asgi", workers=2)],
    "granian x2 (WSGI)": lambda port: [start_granian(port, "wsgi", workers=2)],
    "granian x2 (WSGI; 1 thread each)": lambda port: [start_granian(port, "wsgi", workers=2, threads=1)],
    "granian x4 (WSGI; 1 thread each)": lambda port: [start_granian(port, "wsgi", workers=4, threads=1)],
    f"nginx -> gunicorn sync x{CORES} (deployed before)": lambda port: start_deployed(
        port, web=gunicorn_argv("$APP_PORT", workers=CORES)
    ),
    DEPLOYED: start_deployed,
    # The same, each seat change through the ORM's statements (the portable path) instead of one statement:
    # the comparison that decides whether the PostgreSQL path is worth keeping (docs/performance.md).
    DEPLOYED_ORM: lambda port: start_deployed(port, SEAT_CHANGE_ONE_STATEMENT="off"),
    # The same, each seat change through DRF's view instead of the lean path (a cookie sends it there, as
    # the pages' script's calls): what the lean path is worth.
    DEPLOYED_DRF: start_deployed,
}
CLIENT_HEADERS = {DEPLOYED_DRF: {"Cookie": "bench=1"}}
# A faster path of the deployed layout -> the layout with the simpler path it is compared with.
SIMPLER = {
    "one statement per seat change (PostgreSQL) against the ORM's statements": DEPLOYED_ORM,
    "the lean path against DRF's view": DEPLOYED_DRF,
}
