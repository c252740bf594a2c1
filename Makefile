# Every contributor and CI use these targets.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := bin/gpubroker
STATICCHECK_VERSION ?= v0.8.2

.PHONY: run build test test-deps bench fuzz lint fmt clean vendor-web

## run: start the whole platform in SANDBOX mode on embedded defaults (SQLite under ./data)
run: build
	./$(BIN) serve

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/gpubroker

## test: every test, with the race detector; installs what the tests need first
test: test-deps
	$(GO) test -race -count=1 -timeout 8m ./...

## test-deps: what the end-to-end tests drive, installed only when missing
## (a stamp file makes a second run a no-op): the MCP client's npm packages,
## stripe-mock, which the billing tests start on loopback themselves, and
## Chromium for the browser tests
MCPCLIENT := e2e/mcpclient
STRIPE_MOCK_VERSION ?= v0.203.0
test-deps: $(MCPCLIENT)/node_modules/.installed stripe-mock chromium

# chromium drives the browser tests (e2e/browser); Debian's package.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
		echo "installing chromium"; apt-get update -qq && apt-get install -y -qq chromium; }

.PHONY: stripe-mock
stripe-mock:
	@command -v stripe-mock >/dev/null || test -x "$$($(GO) env GOPATH | cut -d: -f1)/bin/stripe-mock" || { \
		echo "installing stripe-mock $(STRIPE_MOCK_VERSION)"; \
		$(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION); }

$(MCPCLIENT)/node_modules/.installed: $(MCPCLIENT)/package.json $(MCPCLIENT)/package-lock.json
	@command -v npm >/dev/null || { echo "installing Node.js and npm"; \
		apt-get update -qq && apt-get install -y -qq nodejs npm; }
	cd $(MCPCLIENT) && npm ci --no-audit --no-fund
	@touch $@

## bench: Go benchmarks, one package at a time so they do not share the CPU,
## then the loopback load runs (needs wrk)
bench:
	$(GO) test -p 1 -run '^$$' -bench . -benchmem -count=1 -timeout 20m ./...
	$(GO) run ./cmd/loadrun

## fuzz: run every provider response decoder's fuzzer for FUZZTIME each
## (the seed corpora, from the recorded responses, also run in make test)
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$(grep -l 'func FuzzDecodeOffers' providers/*/*_test.go | xargs -n1 dirname | sort -u); do \
		echo "fuzz $$pkg"; $(GO) test -run '^$$' -fuzz '^FuzzDecodeOffers$$' -fuzztime $(FUZZTIME) ./$$pkg || exit 1; done

## lint: gofmt, go vet and staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## vendor-web: refresh the browser libraries the pages serve from our own
## origin (uPlot, at the version web/vendor-src pins) into web/static/vendor;
## the copies are committed, so building and testing need no npm
VENDOR_SRC := web/vendor-src
UPLOT_DIR  := web/static/vendor/uplot
vendor-web:
	cd $(VENDOR_SRC) && npm ci --no-audit --no-fund
	mkdir -p $(UPLOT_DIR)
	cp $(VENDOR_SRC)/node_modules/uplot/dist/uPlot.iife.min.js $(VENDOR_SRC)/node_modules/uplot/dist/uPlot.min.css \
		$(VENDOR_SRC)/node_modules/uplot/LICENSE $(UPLOT_DIR)/
	node -p 'require("./$(VENDOR_SRC)/node_modules/uplot/package.json").version' > $(UPLOT_DIR)/VERSION

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
