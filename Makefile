SHELL := /bin/bash
# The two commands a newcomer needs (see README.md):
#   make run    install into .venv and run the server in the foreground on etc/mongooseim.toml
#   make test   install the test dependencies and run ruff and the whole trial suite under coverage

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= etc/mongooseim.toml
STAMP := $(VENV)/.installed

.PHONY: run test install lint trial services docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel

# Editable install in "compat" mode: the checkout goes on sys.path, which is how
# Twisted's plugin loader finds twisted/plugins/mongooseim_plugin.py.
$(STAMP): $(BIN)/python setup.py setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]' --config-settings editable_mode=compat
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/twistd --pidfile= -n mongooseim -c $(CONFIG)

# Start the local services the storage tests use when they are installed but stopped,
# and install the Debian packages the interoperability tests drive (when root).
services:
	@tools/ensure-services.sh
	@tools/ensure-debs.sh

lint: install
	$(BIN)/ruff check mongoose test twisted tools

trial: install services
	rm -f .coverage .coverage.*
	$(BIN)/coverage run -m twisted.trial --reporter=bwverbose test 2>&1 | tee _trial.log; \
	  status=$${PIPESTATUS[0]}; \
	  $(BIN)/coverage combine --quiet; \
	  $(BIN)/coverage report --format=total | sed 's/^/total coverage: /;s/$$/%/'; \
	  $(BIN)/python tools/trial_summary.py _trial.log; \
	  exit $$status

test: lint trial

docs: install
	$(BIN)/python -m mongoose.config.docs > doc/configuration.md
	$(BIN)/python -m mongoose.commands.docs > doc/commands.md

clean:
	rm -rf $(VENV) _trial_temp* .coverage .coverage.* _trial.log build *.egg-info
