# Vigil: build, run, test and benchmark. `make help` lists the targets.
SWIFT ?= swift
BENCH_DIR ?= /tmp/bench
SHARED ?= ../shared

.PHONY: help setup setup-release build run test release bench bench-data refusal-eval format clean

help:
	@echo "make run          start the monitor on the bundled defaults (installs what is missing)"
	@echo "make test         build and run the whole test suite (installs what is missing)"
	@echo "make release      the release binary, .build/release/vigil (Swift runtime linked in)"
	@echo "make bench        release build + the shared benchmark, written to BENCHMARKS.md"
	@echo "make refusal-eval precision/recall of refusal classification on the labelled set"
	@echo "make format       swift format the sources and tests"

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build

# The daemon on the bundled defaults: follows samples/*.jsonl and standard input, keeps its
# state in .vigil-state/, prints alerts. Ctrl-C (SIGINT) stops it after committing.
run: build
	.build/debug/vigil run --config samples/vigil.yaml

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Release builds carry the Swift runtime and Foundation inside the binary
# (--static-swift-stdlib): the installed vigil runs on a server without the toolchain, starts
# without resolving a hundred shared libraries' symbols, and calls the runtime directly (one
# core about 2% faster on the benchmark). Static FoundationNetworking links libcurl by name,
# hence libcurl4-openssl-dev.
RELEASE_BUILD = $(SWIFT) build -c release --static-swift-stdlib

setup-release:
	@scripts/setup.sh libcurl4-openssl-dev

release: setup-release
	$(RELEASE_BUILD)

# Benchmarks measure a clean release build: SwiftPM's incremental builds can keep a dependent
# module compiled against an old struct layout (swift-package-manager issue 10502), which
# corrupts memory at run time.
bench: setup-release
	rm -rf .build/release .build/*-linux-gnu/release
	$(RELEASE_BUILD)
	python3 scripts/bench.py "$(BENCH_DIR)" "$(SHARED)"

refusal-eval: release
	python3 scripts/refusal_eval.py .build/release/vigil Tests/Fixtures/refusal/test.tsv

format:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift  # generated tables opt out in their first line

clean:
	rm -rf .build
