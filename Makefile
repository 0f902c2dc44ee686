# The README's two commands. Both set up .venv (quick when nothing changed).
.PHONY: run test

# Start the app on the bundled demo models and data. Extra Streamlit flags: make run ARGS="--server.port 8502"
run:
	@bash scripts/setup.sh app
	.venv/bin/streamlit run serve.py $(ARGS)

# Unit, app (AppTest) and browser (Playwright + Chromium) tests.
# Three pytest workers (pytest-xdist), a test file each at a time: on the 2-core machine a quiet
# fresh clone's pytest took 18 min 31 s with two workers (1,060 tests) and 18 min 47 s with three
# (1,117 tests) and 18 min 52 s in a second run; one torch thread per process keeps them from
# fighting over the cores.
# One file alone: make test ARGS="-n 0 tests/test_store.py". First the layer contracts (.importlinter).
test:
	@bash scripts/setup.sh test
	.venv/bin/lint-imports --no-cache
	OMP_NUM_THREADS=1 .venv/bin/python -m pytest -n 3 --dist loadfile $(ARGS)
