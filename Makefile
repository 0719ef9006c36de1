# `make run` serves the whole service on the embedded default (SQLite); `make test` runs the whole suite;
# `make lint` and `make audit` (known vulnerabilities in the locked dependencies) are CI's checks before the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8080
export PORT

.PHONY: run run-cluster test test-postgres test-faults test-hosts lint audit format lock bench bench-history fuzz migrate seed static clean dashboard-screenshot screenshots messages compilemessages

# The development venv: runtime + test + dev tools, exactly as locked (with hashes) in requirements-dev.txt.
# Reinstalled whenever the lock changes. Production installs requirements.txt only (docs/operations.md).
$(VENV)/.installed: requirements-dev.txt requirements-pip.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q --require-hashes -r requirements-pip.txt
	$(BIN)/pip install --disable-pip-version-check -q --require-hashes -r requirements-dev.txt
	touch $@

# Regenerate both locks from pyproject.toml (after changing a dependency there, or to take updates).
lock: $(VENV)/.installed
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet -o requirements.txt
	$(BIN)/uv pip compile pyproject.toml --group dev --universal --python-version 3.11 --generate-hashes --quiet \
	  -o requirements-dev.txt

# Lint, formatting, types, the import contracts between apps (pyproject.toml, [tool.importlinter]), the size
# limits (lint/sizes.py), SQL only in *_sql.py and selectors.py modules (lint/sql_modules.py), and
# migrations that match the models. CI runs it before the tests.
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-logo
	$(BIN)/python -m lint.sizes
	$(BIN)/python -m lint.sql_modules
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m lint.translations

# pip-audit against the lock production installs (requirements.txt, as pinned: nothing resolved or built): a known
# vulnerability fails; no vulnerability database to ask skips it with a message (lint/audit.py). AUDIT_OSV_URL
# names an OSV API (a mirror or a local osv server) for offline runs; PyPI's JSON API otherwise. CI runs it.
audit: $(VENV)/.installed
	$(BIN)/python -m lint.audit

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The pages' and emails' translations (locale/<language>/LC_MESSAGES/django.po, committed) compiled into the .mo
# files Django reads (not committed): part of every build (make run, make test, make static; docs/operations.md).
# Needs gettext's msgfmt (apt-get install gettext).
compilemessages: $(VENV)/.installed
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=node_modules --ignore=var -v0

# After changing a text a traveller reads: collect every marked text into the .po files (new ones empty, to be
# translated there: tests/test_translations.py refuses an empty or fuzzy one), then compile.
messages: $(VENV)/.installed
	$(BIN)/python manage.py makemessages --locale=pt --no-obsolete --add-location=file \
	  --ignore=.venv --ignore=node_modules --ignore=var --ignore=tests --ignore=bench --ignore=docs
	$(MAKE) compilemessages

# Static files as production serves them: hashed names, compressed (whitenoise), in var/static.
static: $(VENV)/.installed compilemessages
	$(BIN)/python manage.py collectstatic --noinput -v0

migrate: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput -v0

seed: migrate
	$(BIN)/python manage.py seed_demo

# Web (uvicorn), background workers (django-q2) and the timer loop, in the foreground; Ctrl-C stops all.
run: seed static
	@echo "Serving on http://127.0.0.1:$(PORT)  - admin: http://127.0.0.1:$(PORT)/admin/ (Ctrl-C stops)"
	WEB_PORT=$(PORT) $(BIN)/honcho start -f Procfile

# The deployed layout on PostgreSQL + Redis (docs/operations.md, Deployment), on one port, $(PORT): nginx in front
# (deploy/nginx.conf), request/response on granian's WSGI workers ($(PORT)+1), event streams on uvicorn
# ($(PORT)+2), two workers and two timer loops. CLUSTER_DATABASE_URL is created if missing. Needs nginx
# (apt-get install nginx-light); its config, pid and temp files go to var/nginx/$(PORT).
CLUSTER_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/seatbooking
CLUSTER_REDIS_URL ?= redis://127.0.0.1:6379/0
run-cluster: $(VENV)/.installed static
	@test -x /usr/sbin/nginx || command -v nginx >/dev/null || { echo "nginx is missing: apt-get install nginx-light"; exit 1; }
	$(BIN)/python -c "import psycopg, sys; url = sys.argv[1]; name = url.rsplit('/', 1)[1]; \
	conn = psycopg.connect(url.rsplit('/', 1)[0] + '/postgres', autocommit=True); \
	conn.execute(f'CREATE DATABASE \"{name}\"') if not conn.execute('SELECT 1 FROM pg_database WHERE datname = %s', [name]).fetchone() else None" $(CLUSTER_DATABASE_URL)
	DATABASE_URL=$(CLUSTER_DATABASE_URL) $(BIN)/python manage.py migrate --noinput -v0
	DATABASE_URL=$(CLUSTER_DATABASE_URL) $(BIN)/python manage.py seed_demo
	@echo "Serving on http://127.0.0.1:$(PORT) through nginx (Ctrl-C stops all)"
	DATABASE_URL=$(CLUSTER_DATABASE_URL) REDIS_URL=$(CLUSTER_REDIS_URL) \
	  WEB_PORT=$(PORT) APP_PORT=$$(($(PORT)+1)) STREAMS_PORT=$$(($(PORT)+2)) NGINX_DIR=$(CURDIR)/var/nginx/$(PORT) \
	  $(BIN)/honcho start -f Procfile.cluster

test: $(VENV)/.installed static compilemessages
	$(BIN)/pytest $(PYTEST_ARGS)

# The same suite on the local PostgreSQL, as CI runs it.
test-postgres: $(VENV)/.installed static
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/seatbooking $(BIN)/pytest $(PYTEST_ARGS)

# The fault suite alone (also part of `make test` on PostgreSQL): Redis outages with a Redis of its own,
# SIGKILLs mid-flow, SIGTERM to each kind of process, Ctrl-C on both Procfiles, the database away.
test-faults: $(VENV)/.installed static
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/seatbooking} $(BIN)/pytest tests/faults -p no:cacheprovider $(PYTEST_ARGS)

# The multi-host tests (docs/deployment.md): network namespaces as hosts (a load balancer, two application
# hosts, a worker host, three PostgreSQL hosts under Patroni with etcd, Redis), faults across them. Needs root
# and Debian's patroni, etcd-server, nginx-light, redis-server and PostgreSQL's server binaries. One run at a
# time (a lock: the hosts' names and addresses are fixed); every namespace is removed afterwards, also on failure.
# HOSTS_SYNCHRONOUS_REPLICATION=off runs them without synchronous replication: they fail (a booking lost).
test-hosts: $(VENV)/.installed static
	@mkdir -p var
	TEST_HOSTS=1 DATABASE_URL= TEST_SQLITE_NAME=$(CURDIR)/var/test-hosts-db.sqlite3 flock var/test-hosts.lock \
	  $(BIN)/pytest tests/hosts -p no:cacheprovider $(PYTEST_ARGS); status=$$?; \
	  $(BIN)/python -m tests.hosts.network; exit $$status

# A longer fuzz run than the one in `make test` (schemathesis, from the OpenAPI schema, live server).
fuzz: $(VENV)/.installed static
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-300} $(BIN)/pytest tests/test_fuzz.py -s -p no:cacheprovider

# Benchmarks on the local PostgreSQL + Redis (a database of their own); results in var/bench/*.json
# (flow twice: the deployed layout, then make run's processes without Redis).
bench: $(VENV)/.installed
	$(BIN)/python -m bench.holds
	$(BIN)/python -m bench.flow
	BENCH_FLOW_LAYOUT=embedded $(BIN)/python -m bench.flow
	$(BIN)/python -m bench.streams
	$(BIN)/python -m bench.burst
	$(BIN)/python -m bench.stream_flood

# The same measures on a database with a long past (bench/history.py, in bulk SQL: BENCH_HISTORY_ROWS rows across
# orders, holds, audit entries, attempts and events; 10 million by default, about a day of a busy sale): seat changes
# per second in the deployed layout and expiry lateness. The past is made once per run (a template database,
# copied for each benchmark); docs/performance.md.
BENCH_HISTORY_ROWS ?= 10000000
bench-history: $(VENV)/.installed
	$(BIN)/python -c "from bench.common import drop_database; drop_database('seatbooking_bench_history')"
	BENCH_HISTORY_ROWS=$(BENCH_HISTORY_ROWS) BENCH_HISTORY_TEMPLATE=seatbooking_bench_history \
	  BENCH_LAYOUTS="deployed: nginx -> granian WSGI x$$(nproc)" $(BIN)/python -m bench.holds
	BENCH_HISTORY_ROWS=$(BENCH_HISTORY_ROWS) BENCH_HISTORY_TEMPLATE=seatbooking_bench_history BENCH_STREAM_BATCH=20 \
	  $(BIN)/python -m bench.flow

# docs/dashboard.png, docs/operations.md's picture of the admin's dashboard: the browser test, saving its screenshot.
dashboard-screenshot: $(VENV)/.installed static
	DASHBOARD_SCREENSHOT=docs/dashboard.png $(BIN)/pytest tests/operations/test_dashboard_browser.py -k burst -p no:cacheprovider

clean:
	rm -rf $(VENV) var

# The README's screenshots of the booking page (docs/booking-desktop.png, docs/booking-phone.png, docs/booking-phone-pt.png), taken by
# Chromium on a server of their own with a throw-away database.
screenshots: $(VENV)/.installed compilemessages
	$(BIN)/python docs/screenshots.py
