# ByzSim: `make run` and `make test` work on a fresh Debian machine as root.
SWIFT ?= swift
BIN_RELEASE := .build/release
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: all deps build release run test bench clean

all: release

## deps: install the Debian packages ByzSim needs (only those missing)
deps:
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## run: build in release mode and train the default model (MLP) on Fashion-MNIST
run: release
	$(BIN_RELEASE)/byzsim train --model mlp

## test: the release build, then the whole test suite (its CLI tests run the release binary)
test: release
	BYZSIM_BIN=$(CURDIR)/$(BIN_RELEASE)/byzsim $(SWIFT) test

## bench: performance figures (not part of the tests)
bench: release
	$(BIN_RELEASE)/byzsim-bench train

clean:
	rm -rf .build
