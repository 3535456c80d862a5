# The two commands of the README: `make run` and `make test`. Everything else is a helper.
SWIFT ?= swift
BIN_DEBUG := .build/debug/audio-server
# An already built audio-server for `make run` to use instead of building (scripts/smoke-clone.sh).
AUDIO_SERVER_BIN ?=
DEV_PG = $$(scripts/pgtmp.sh devdir .)

.PHONY: run test build release bench bench-storage bench-resumable bench-peer bench-scale bench-floor microbench db-start db-stop db-remove clean

build:
	@command -v $(SWIFT) >/dev/null || { echo "Swift 6.2 or newer is not installed: get it from https://www.swift.org/install, then run make again" >&2; exit 1; }
	$(SWIFT) build --product audio-server

## The deployable binary, with the Swift runtime linked in: 12-17 % less server CPU per GET or
## create, and no toolchain needed where it runs. The flags are defined once, in
## scripts/lib/server.sh (RELEASE_BUILD_FLAGS), which the benchmarks build with too.
RELEASE_BUILD_FLAGS := $(shell sed -n 's/^RELEASE_BUILD_FLAGS="\(.*\)"$$/\1/p' scripts/lib/server.sh)
release:
	$(SWIFT) build $(RELEASE_BUILD_FLAGS) --product audio-server

## Build, start a local PostgreSQL under .data/ when DATABASE_URL is unset, apply migrations, serve.
run: $(if $(AUDIO_SERVER_BIN),,build)
	@scripts/run-dev.sh $(or $(AUDIO_SERVER_BIN),$(BIN_DEBUG))

## Start a throwaway PostgreSQL, run every test against it, stop it.
test:
	scripts/test.sh

bench:
	bench/run.sh
	BENCH_BIN=$${BENCH_BIN:-.build-release/release/audio-server} bench/storage-transfer.sh
	BENCH_BIN=$${BENCH_BIN:-.build-release/release/audio-server} bench/resumable-rate.sh

bench-storage:
	bench/storage-transfer.sh

bench-resumable:
	bench/resumable-rate.sh

## This server beside PocketBase on the same data (issue 21); needs the release build (BENCH_BIN).
bench-peer:
	bench/peer.py

## A browsing page at page 1 and page 10,000, GET by id at 5,000 and BENCH_SONGS rows (issue 21).
bench-scale:
	bench/scale.py

## The fixed cost of one request: a bare SwiftNIO handler, Hummingbird's hello world, ours (/_static).
bench-floor:
	bench/floor.sh

microbench:
	Benchmarks/run.sh

## The development database of `make run` (where it lives: README, "Where your data lives").
db-start:
	@scripts/pgtmp.sh start "$(DEV_PG)" --dev

db-stop:
	@scripts/pgtmp.sh stop "$(DEV_PG)"

db-remove:
	@scripts/pgtmp.sh remove "$(DEV_PG)"

clean:
	rm -rf .build
