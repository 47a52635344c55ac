# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
# What `make lint` type-checks: every app.
TYPED_APPS := compliance_site audit biometrics consent swap

.PHONY: run test lint format bench messages venv clean load faults mutants cluster

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps insightface==2.1
	@touch $(STAMP)

# The key schedule runs once before the server: after a long pause it rotates and destroys what
# is due at once (the system check refuses to serve while a retired key is overdue).
run: venv
	$(MANAGE) migrate --noinput --skip-checks
	$(MANAGE) rotate_master_key
	$(MANAGE) seed_demo
	@echo
	@echo "  Faceledger is running at http://$(HOST):$(PORT)/   (staff admin: http://$(HOST):$(PORT)/admin/)"
	@echo "  Staff: one demo account per role (support, dpo, auditor) is printed above, each with its"
	@echo "  password and authenticator URI. No superuser is made; '$(MANAGE) seed_demo --superuser' makes one."
	@echo "  SMS sign-in codes are printed in this terminal. Ctrl-C stops the web server and the worker."
	@echo
	@trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/celery -A compliance_site worker --beat --loglevel=INFO --concurrency=2 -Q default,swap \
		--schedule var/celerybeat-schedule & worker=$$!; \
	$(MANAGE) runserver $(HOST):$(PORT)

# PYTEST_FLAGS: extra pytest options, e.g. PYTEST_FLAGS='-m "not browser"'.
test: venv
	$(BIN)/pytest $(PYTEST_FLAGS)

# Each guard marked "# mutant:" in the apps is removed or inverted on its own and its named
# tests run; fails if any mutant survives (tests/mutation.py). The marked files must be clean.
# MUTANTS_FLAGS: e.g. --no-baseline, --list, or mutant names ('swap.services.*').
mutants: venv
	$(BIN)/python -m tests.mutation $(MUTANTS_FLAGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MANAGE) makemigrations --check --dry-run
	$(BIN)/mypy $(TYPED_APPS)

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv
	$(BIN)/python bench/run_all.py

# gunicorn (2 workers) + a Celery worker on 127.0.0.1, loaded at rising rates for ~40 s; writes
# load.* to bench/results.json and fails on any 5xx or a missed target. PostgreSQL must run.
load: venv
	$(BIN)/python bench/load_bench.py

# Fault drills with processes of our own on 127.0.0.1 (gunicorn, a Celery worker, a private
# redis-server): a worker killed mid-job, the broker stopped and restarted. Fails on any loss.
faults: venv
	cd bench && ../$(BIN)/python faults.py

# A small cluster on this machine (root: network namespaces): two web hosts, a swap worker, a
# default worker, a services host with PostgreSQL, Redis and an S3 endpoint; the flow and the
# drills of docs/deploy.md. Fails on any loss; always removes its namespaces and processes.
cluster: venv
	$(BIN)/python bench/cluster.py

# Refresh the Simplified Chinese catalogue from the code and templates, then compile it. Needs
# gettext; the compiled .mo is committed, so running the site never does.
messages: venv
	$(MANAGE) makemessages --locale zh_Hans --add-location file --no-obsolete \
		--ignore "tests/*" --ignore "bench/*" --ignore "var/*" --ignore "build/*"
	$(MANAGE) compilemessages --locale zh_Hans --ignore ".venv" --ignore "var"

clean:
	rm -rf $(VENV) var
