# ixpd — make help lists the targets.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
CONFIG  ?= deploy/examples/ixpd.yaml

.PHONY: help build demo run test test-short lint bench fuzz package clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/ixpd and bin/ixpsim
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ixpd ./cmd/ixpd
	$(GO) build -o bin/ixpsim ./cmd/ixpsim

demo: build ## ixpd on deploy/examples/ixpd.yaml fed by simulated members (ixpsim demo; DEMO_FLAGS=...); Ctrl-C stops both
	bin/ixpsim demo -ixpd bin/ixpd -config $(CONFIG) $(DEMO_FLAGS)

run: build ## start ixpd with deploy/examples/ixpd.yaml (CONFIG=... for another)
	bin/ixpd run -config $(CONFIG)

test: ## vet and run every test (integration tests need the packages .ci/run installs, and root for the package test; CI=true makes them mandatory)
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

test-short: ## unit tests only
	$(GO) test -short -count=1 ./...

lint: ## golangci-lint (pinned in go.mod as a tool)
	$(GO) tool golangci-lint run ./...

bench: build ## every benchmark vs its anchor, median of 3 runs, appended to docs/BENCHMARKS.md (about 45 minutes on 2 cores; BENCH_FLAGS=... adds flags)
	bin/ixpsim bench -runs 3 -o docs/BENCHMARKS.md $(BENCH_FLAGS)

fuzz: ## run each fuzz target for a minute
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./routeserver/members/
	$(GO) test -run '^$$' -fuzz FuzzParseConfig -fuzztime 60s ./cmd/ixpd/
	$(GO) test -run '^$$' -fuzz FuzzParseSecrets -fuzztime 60s ./cmd/ixpd/
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 60s ./flow/decoder/
	$(GO) test -run '^$$' -fuzz FuzzDecodeAttribute -fuzztime 60s ./flow/collector/
	$(GO) test -run '^$$' -fuzz FuzzParseLine -fuzztime 60s ./flow/enrich/
	$(GO) test -run '^$$' -fuzz 'FuzzParse$$' -fuzztime 60s ./routeserver/irr/
	$(GO) test -run '^$$' -fuzz FuzzParsePrefixRange -fuzztime 60s ./routeserver/irr/
	$(GO) test -run '^$$' -fuzz FuzzParseNeverViaRouteServers -fuzztime 60s ./routeserver/peeringdb/
	$(GO) test -run '^$$' -fuzz FuzzParseVRPs -fuzztime 60s ./routeserver/rpki/

# The Debian version from VERSION: v1.2.3-4-gabc1234 gives 1.2.3+4.gabc1234,
# v1.2.3-rc1 gives 1.2.3~rc1 (before 1.2.3), and a VERSION without a leading
# number (no tag yet) gives 0~VERSION.
DEB_VERSION ?= $(shell echo '$(VERSION)' | sed -E -e 's/^v//' -e '/^[0-9]/!s/^/0~/' \
	-e 's/-([0-9]+-g[0-9a-f]+)/+\1/' -e 's/^([0-9][0-9.]*)-([A-Za-z])/\1~\2/' -e 's/-/./g')
DIST        ?= dist
PKG_ETC     ?= deploy/debian

package: ## Debian package dist/ixpd_VERSION_amd64.deb (nfpm from go.mod; DIST=..., PKG_ETC=DIR for your own ixpd.yaml and members.json)
	$(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(DIST)/bin/ixpd ./cmd/ixpd
	$(GO) build -trimpath -ldflags "-s -w" -o $(DIST)/bin/ixpsim ./cmd/ixpsim
	IXPD_DEB_VERSION='$(DEB_VERSION)' IXPD_BIN='$(DIST)/bin' IXPD_ETC='$(PKG_ETC)' \
		$(GO) tool nfpm pkg --packager deb --config deploy/debian/nfpm.yaml --target '$(DIST)/'

clean: ## remove build output
	rm -rf bin dist
