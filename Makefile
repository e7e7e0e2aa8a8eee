# ixpd — make help lists the targets.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
CONFIG  ?= deploy/examples/ixpd.yaml

.PHONY: help build demo run test test-short lint bench fuzz clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/ixpd and bin/ixpsim
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ixpd ./cmd/ixpd
	$(GO) build -o bin/ixpsim ./cmd/ixpsim

demo: build ## ixpd on deploy/examples/ixpd.yaml fed by simulated members (ixpsim demo; DEMO_FLAGS=...); Ctrl-C stops both
	bin/ixpsim demo -ixpd bin/ixpd -config $(CONFIG) $(DEMO_FLAGS)

run: build ## start ixpd with deploy/examples/ixpd.yaml (CONFIG=... for another)
	bin/ixpd run -config $(CONFIG)

test: ## vet and run every test (integration tests need bird2 and openbgpd; CI=true makes them mandatory)
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

test-short: ## unit tests only
	$(GO) test -short -count=1 ./...

lint: ## golangci-lint (pinned in go.mod as a tool)
	$(GO) tool golangci-lint run ./...

bench: build ## every benchmark vs its anchor, median of 3 runs, appended to docs/BENCHMARKS.md (about an hour; BENCH_FLAGS=... adds flags)
	bin/ixpsim bench -runs 3 -o docs/BENCHMARKS.md $(BENCH_FLAGS)

fuzz: ## run each fuzz target for a minute
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./routeserver/members/
	$(GO) test -run '^$$' -fuzz FuzzParseConfig -fuzztime 60s ./cmd/ixpd/
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 60s ./flow/decoder/
	$(GO) test -run '^$$' -fuzz FuzzDecodeAttribute -fuzztime 60s ./flow/collector/
	$(GO) test -run '^$$' -fuzz FuzzParseLine -fuzztime 60s ./flow/enrich/
	$(GO) test -run '^$$' -fuzz 'FuzzParse$$' -fuzztime 60s ./routeserver/irr/
	$(GO) test -run '^$$' -fuzz FuzzParsePrefixRange -fuzztime 60s ./routeserver/irr/
	$(GO) test -run '^$$' -fuzz FuzzParseNeverViaRouteServers -fuzztime 60s ./routeserver/peeringdb/
	$(GO) test -run '^$$' -fuzz FuzzParseVRPs -fuzztime 60s ./routeserver/rpki/

clean: ## remove build output
	rm -rf bin
