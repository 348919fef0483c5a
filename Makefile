# crossplane-cicd-pipeline: the XCicdPipeline platform API for Crossplane.
#
# The two commands a newcomer needs (see README.md):
#   make render   render the example claim into provider-aws managed resources
#   make test     run every test
#
# Everything else is installed by the targets themselves: Go modules through
# the module proxy, and pinned tools built from their own modules under
# tools/ into ./bin (once; later runs reuse them).

SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# The machine's Go 1.26.8 standard library has known vulnerabilities; build
# with the patched toolchain, which the go command fetches from the proxy.
export GOTOOLCHAIN := go1.26.10
export CGO_ENABLED ?= 0

ROOT := $(CURDIR)
BIN := $(ROOT)/bin
OUT := $(ROOT)/_output
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)

# Prerequisites of `make test` contributed by the included makefiles
# (recursively expanded, so they may name variables defined later).
TEST_PREREQS =

# The pinned tools (mk/tools.mk) and the binaries' build rule (mk/golang.mk)
# first: the other makefiles name their paths in prerequisites, which make
# expands as it reads each rule.
MK_FIRST := mk/tools.mk mk/golang.mk
include $(MK_FIRST)
include $(filter-out $(MK_FIRST),$(sort $(wildcard mk/*.mk)))

.PHONY: help
help: ## Show the targets.
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | sort | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

.PHONY: generate
generate: $(CROSSPLANE) $(CROSSPLANE_CORE) ## Regenerate everything generated (go generate ./...): XRDs, example XRs, fixtures, goldens, README table.
	go generate ./...

.PHONY: test
test: $(TEST_PREREQS) ## Run every test (unit, golden, schema, deployer integration).
	go test -count=1 ./...

.PHONY: test-race
test-race: ## Run the function's tests under the race detector (needs a C compiler).
	CGO_ENABLED=1 go test -race -count=1 ./fn/...

.PHONY: fmt
fmt: ## Format the Go code.
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## go vet every package.
	go vet ./...

.PHONY: clean
clean: ## Remove build outputs (keeps ./bin, the tool cache).
	rm -rf $(OUT)
