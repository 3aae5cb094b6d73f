# ByzSim: `make run` and `make test` work on a fresh Debian machine as root.
SWIFT ?= swift
BIN_RELEASE := .build/release
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: all deps venv build release install install-built run test bench compare-scanners compare-dp format clean

all: release

## deps: install the Debian packages ByzSim needs (only those missing)
deps:
	@bash scripts/install-deps.sh

## venv: the tests' reference Python (.venv, pinned packages from scripts/requirements-test.txt)
venv: deps
	@bash scripts/install-venv.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## install: the release binaries into $(PREFIX)/bin and the shipped topologies and experiments
## (with the paper files) into $(PREFIX)/share/byzsim, where the commands find them from any directory
PREFIX ?= /usr/local
install: release
	@$(MAKE) --no-print-directory install-built PREFIX=$(PREFIX)

## install-built: install what `make release` already built (no build step)
install-built:
	@test -x $(BIN_RELEASE)/byzsim || { echo "install: $(BIN_RELEASE)/byzsim is missing; run make release first" >&2; exit 1; }
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/byzsim
	install -m 0755 $(BIN_RELEASE)/byzsim $(BIN_RELEASE)/byzsim-bench $(DESTDIR)$(PREFIX)/bin/
	rm -rf $(DESTDIR)$(PREFIX)/share/byzsim/topologies $(DESTDIR)$(PREFIX)/share/byzsim/experiments
	cp -R topologies experiments $(DESTDIR)$(PREFIX)/share/byzsim/

## run: build in release mode and run the default topology (1 coordinator + 10 worker processes)
run: release
	$(BIN_RELEASE)/byzsim run topologies/default.toml

## test: one optimised build of everything, the tests included, then the whole suite (its CLI tests run the
## byzsim binary of that same build). -enable-testing lets the tests' @testable imports see internal
## declarations of optimised modules, so the binaries and the tests are compiled once, not once in release
## and again in debug. The binary it leaves in .build/release is a testable build: `make release` rebuilds
## the plain one (benchmarks and installs use that).
## Everything the tests write goes under a scratch TMPDIR of their own, removed afterwards whatever the outcome.
TEST_BUILD := -c release -Xswiftc -enable-testing
test: deps venv
	$(SWIFT) build $(TEST_BUILD) --build-tests
	@scratch=$$(mktemp -d -t bzt.XXXXXX) && echo "test scratch directory: $$scratch (removed after the run)" && \
	status=0 && TMPDIR=$$scratch BYZSIM_BIN=$(CURDIR)/$(BIN_RELEASE)/byzsim BYZSIM_PYTHON=$(CURDIR)/.venv/bin/python \
	$(SWIFT) test $(TEST_BUILD) --skip-build || status=$$?; \
	rm -rf "$$scratch"; exit $$status

## bench: performance figures (not part of the tests)
bench: release
	$(BIN_RELEASE)/byzsim-bench train
	$(BIN_RELEASE)/byzsim-bench wire
	$(BIN_RELEASE)/byzsim-bench artifacts
	$(BIN_RELEASE)/byzsim-bench scan
	$(BIN_RELEASE)/byzsim-bench serve
	$(BIN_RELEASE)/byzsim-bench dp
	$(BIN_RELEASE)/byzsim-bench secagg

## compare-scanners: byzsim scan beside fickling and modelscan on the scanner test corpus (a Markdown table)
compare-scanners: release
	python3 -m venv .venv-compare
	.venv-compare/bin/pip install --disable-pip-version-check -q -r scripts/requirements-compare.txt
	.venv-compare/bin/python scripts/compare-scanners.py $(CURDIR)/$(BIN_RELEASE)/byzsim

## compare-dp: byzsim-bench dp beside Opacus on PyTorch CPU (a separate .venv-opacus, several GB; not needed by the tests)
compare-dp: release
	python3 -m venv .venv-opacus
	.venv-opacus/bin/pip install --disable-pip-version-check -q -r scripts/requirements-opacus.txt
	$(BIN_RELEASE)/byzsim-bench dp --models mlp --opacus .venv-opacus/bin/python

## format: apply the house formatting (swift-format with .swift-format: 2 spaces, 140 columns)
format:
	$(SWIFT) format -i -r Sources Tests

clean:
	rm -rf .build
