PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test lint format schemas bench demo clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

test: install
	$(BIN)/python schemas/generate_manifest_schema.py --check
	$(BIN)/ruff check heyrender tests bench schemas examples
	$(BIN)/ruff format --check heyrender tests bench schemas examples
	$(BIN)/mypy heyrender
	$(BIN)/python -m pytest -n 4

lint: install
	$(BIN)/ruff check heyrender tests bench schemas examples
	$(BIN)/ruff format --check heyrender tests bench schemas examples
	$(BIN)/mypy heyrender

format: install
	$(BIN)/ruff format heyrender tests bench schemas examples
	$(BIN)/ruff check --fix heyrender tests bench schemas examples

schemas:
	$(PYTHON) schemas/generate_manifest_schema.py

demo: install
	$(BIN)/python examples/demo.py

# Measured as installed, with bytecode: some machines set PYTHONDONTWRITEBYTECODE, and every
# start would then compile heyrender's sources again.
bench: install
	$(BIN)/python -m compileall -q heyrender
	$(BIN)/python bench/validate_speed.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/emulator_rps.py
	$(BIN)/python bench/apply_throughput.py
	$(BIN)/python bench/apply_v3.py
	$(BIN)/python bench/lockfile_speed.py
	$(BIN)/python bench/status_speed.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
