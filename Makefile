# The README's commands. `make run` and `make test` work on a fresh machine with Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
MANAGE := $(PY) manage.py
# `make run DEMO_PHASE=results`: the demo voted, counted and certified (any phase, draft to archived)
DEMO_PHASE ?= ideas
# `make run PORT=8001`: the web server's port
PORT ?= 8000

.PHONY: run test lint format checks check-migrations check-translations check-schema check-deploy \
        messages worker beat serve bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

## run: the platform on 127.0.0.1:$(PORT) with the demo cycle, a Celery worker and Celery beat
## (SQLite and the embedded broker under var/ unless DATABASE_URL / REDIS_URL are set)
run: $(VENV)/.run-deps
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo --phase $(DEMO_PHASE)
	$(MANAGE) run_local --port $(PORT)

## test: the whole suite (PostgreSQL / Redis tests run when DATABASE_URL / REDIS_URL are set)
test: $(VENV)/.dev-deps
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-deps
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check-migrations: $(VENV)/.dev-deps
	DJANGO_SETTINGS_MODULE=pbplatform.settings.test $(MANAGE) makemigrations --check --dry-run

## Compiled translations are committed; this checks they match the .po files and the source.
check-translations: $(VENV)/.dev-deps
	$(PY) scripts/check_translations.py

check-schema: $(VENV)/.dev-deps
	DJANGO_SETTINGS_MODULE=pbplatform.settings.test $(MANAGE) spectacular --fail-on-warn --file /dev/null

check-deploy: $(VENV)/.run-deps
	DJANGO_SETTINGS_MODULE=pbplatform.settings.production \
	DJANGO_SECRET_KEY=check-deploy-only-$$(printf 'x%.0s' $$(seq 1 60)) \
	DJANGO_ALLOWED_HOSTS=pb.example.org DATABASE_URL=sqlite:////tmp/pb-check-deploy.sqlite3 REDIS_URL= \
	$(MANAGE) check --deploy --fail-level WARNING

checks: lint check-migrations check-translations check-schema check-deploy

## messages: refresh the .po files from the source and compile them (needs GNU gettext)
messages: $(VENV)/.dev-deps
	$(MANAGE) makemessages --all --no-obsolete --ignore '.venv/*' --ignore 'bench/*' --add-location file
	$(MANAGE) compilemessages --ignore '.venv/*'

## Production-like processes (set DATABASE_URL, REDIS_URL, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS)
worker: $(VENV)/.run-deps
	$(BIN)/celery -A pbplatform worker --loglevel INFO --concurrency 2

beat: $(VENV)/.run-deps
	$(BIN)/celery -A pbplatform beat --loglevel INFO

serve: $(VENV)/.run-deps
	DJANGO_SETTINGS_MODULE=pbplatform.settings.production $(MANAGE) collectstatic --noinput
	DJANGO_SETTINGS_MODULE=pbplatform.settings.production $(BIN)/gunicorn pbplatform.wsgi -c gunicorn.conf.py
