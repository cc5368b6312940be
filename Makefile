# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: demo test bench drills lint install clean

$(STAMP):
	@$(PYTHON) -c 'import sys; sys.exit("p2c needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# The whole Prospect-to-cash flow against seeded emulators; the admin stays up until Ctrl-C.
demo: $(STAMP)
	DEBUG=true $(BIN)/python manage.py demo $(DEMO_ARGS)

# Uses DATABASE_URL and REDIS_URL when set, else the embedded defaults (SQLite and Redis under var/).
test: $(STAMP)
	DEBUG=true $(BIN)/python -m pytest $(PYTEST_ARGS)

# The benchmarks' standard set (bench/README.md), about 15 minutes on 2 cores; the tables go to bench/results/.
# Uses DATABASE_URL and REDIS_URL when set, else the embedded defaults. More runs: BENCH_ARGS="--repeat 3".
bench: $(STAMP)
	$(BIN)/python bench/standard.py $(BENCH_ARGS)

# The fault drills (bench/README.md): a full sync with a worker killed, the broker killed and restarted empty,
# mid-run, then with 500s and 503s, and throttling with revoked short-lived tokens, all run long; about four
# minutes on 2 cores; the table goes to bench/results/drills-<date>.md. Uses DATABASE_URL when set; with
# REDIS_URL set the drills start a redis-server of their own (they kill it).
drills: $(STAMP)
	$(BIN)/python bench/drills.py $(DRILLS_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
