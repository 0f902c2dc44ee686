# The README's two commands. Both set up .venv (quick when nothing changed).
.PHONY: run test

# Start the app on the bundled demo models and data. Extra Streamlit flags: make run ARGS="--server.port 8502"
run:
	@bash scripts/setup.sh app
	.venv/bin/streamlit run app.py $(ARGS)

# Unit, app (AppTest) and browser (Playwright + Chromium) tests.
test:
	@bash scripts/setup.sh test
	.venv/bin/python -m pytest $(ARGS)
