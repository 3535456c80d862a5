# The two commands of the README: `make run` and `make test`. Everything else is a helper.
SWIFT ?= swift
BIN_DEBUG := .build/debug/audio-server

.PHONY: run test build release bench microbench db-start db-stop clean

build:
	$(SWIFT) build --product audio-server

release:
	$(SWIFT) build -c release --product audio-server

## Build, start a local PostgreSQL under .data/ when DATABASE_URL is unset, apply migrations, serve.
run: build
	@scripts/run-dev.sh $(BIN_DEBUG)

## Start a throwaway PostgreSQL, run every test against it, stop it.
test:
	scripts/test.sh

bench:
	bench/run.sh

microbench:
	Benchmarks/run.sh

db-start:
	@scripts/pgtmp.sh start .data/postgres --dev

db-stop:
	@scripts/pgtmp.sh stop .data/postgres

clean:
	rm -rf .build
