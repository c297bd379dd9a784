# Developer shortcuts. `make docs` builds the documentation site into docs/_build/html, running
# every examples/plot_*.py; warnings are errors, as in CI. Needs `pip install -e ".[docs]"`.

.PHONY: docs clean-docs

docs:
	python -m sphinx -W --keep-going -b html docs docs/_build/html

clean-docs:
	rm -rf docs/_build docs/auto_examples docs/generated docs/sg_execution_times.rst
