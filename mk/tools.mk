# Every pinned tool, in the manner of crossplane/build's makelib/k8s_tools.mk:
# each is built once from its own module under tools/ (whose go.mod pins
# the version) by the one rule below, and rebuilt only when that module's
# go.mod or go.sum changes. (controller-gen, which only `go generate` and
# TestDefinitionIsFresh run, is run with `go tool -modfile=tools/controller-gen/go.mod`,
# which builds it from the same pin into Go's build cache.) The Makefile includes this file first: the other
# makefiles name these paths in prerequisites, which make expands as it
# reads each rule, so a path defined later would be empty there and a clean
# clone would never build the tool.
#
#   make tools       the tools every `make test` needs
#   make e2e-tools   the e2e control plane's (mk/e2e.mk)

# A tool's version is the one its tools/<tool>/go.mod pins, and only there:
# $(call pinned,<tools dir>,<module>) reads it for the versions stamped into
# a binary or naming a cache directory.
pinned = $(or $(shell awk '$$1 == "$(2)" { print $$2; exit } $$1 == "require" && $$2 == "$(2)" { print $$3; exit }' tools/$(1)/go.mod),$(error tools/$(1)/go.mod pins no $(2)))
CROSSPLANE_CORE_VERSION := $(call pinned,crossplane,github.com/crossplane/crossplane/v2)
KUBERNETES_VERSION := $(call pinned,kubernetes,k8s.io/kubernetes)
ETCD_VERSION := $(call pinned,etcd,go.etcd.io/etcd/server/v3)
VULNDB_VERSION := $(call pinned,govulncheck,golang.org/x/vulndb)

# Small tools go to ./bin; the control plane's large binaries to a cache
# directory per version (git-ignored), so a version bump keeps the old one.
E2E_CACHE := $(ROOT)/.cache/e2e

CROSSPLANE := $(BIN)/crossplane
CROSSPLANE_CORE := $(BIN)/crossplane-core
GOLANGCI_LINT := $(BIN)/golangci-lint
GOVULNCHECK := $(BIN)/govulncheck
INDEXDB := $(BIN)/indexdb
LAMBDA_RIE := $(BIN)/aws-lambda-rie
GREMLINS := $(BIN)/gremlins
KUBE_APISERVER := $(E2E_CACHE)/kubernetes-$(KUBERNETES_VERSION)/kube-apiserver
KUBE_CONTROLLER_MANAGER := $(E2E_CACHE)/kubernetes-$(KUBERNETES_VERSION)/kube-controller-manager
ETCD := $(E2E_CACHE)/etcd-$(ETCD_VERSION)/etcd
VULNDB := $(ROOT)/.cache/vulndb-$(VULNDB_VERSION)

# The one rule: $(call go-tool,<path>,<module under tools/>,<package>[,<go build flags>]).
define go-tool
$(1): tools/$(2)/go.mod tools/$(2)/go.sum
	@mkdir -p $$(@D)
	@echo "building $$(@F) from tools/$(2) into $$@ (once; a large tool takes minutes)"
	cd tools/$(2) && go build -trimpath $(4) -o $$@ $(3)
endef

# The Crossplane CLI (render, xpkg build, validate).
$(eval $(call go-tool,$(CROSSPLANE),crossplane,github.com/crossplane/cli/v2/cmd/crossplane))
# Crossplane core: the render engine, and the control plane of the e2e
# tests. The version is stamped in, or every package fails its Crossplane
# version constraint.
$(eval $(call go-tool,$(CROSSPLANE_CORE),crossplane,github.com/crossplane/crossplane/v2/cmd/crossplane,-ldflags "-X github.com/crossplane/crossplane-runtime/v2/pkg/version.version=$(CROSSPLANE_CORE_VERSION)"))
$(eval $(call go-tool,$(GOLANGCI_LINT),golangci-lint,github.com/golangci/golangci-lint/v2/cmd/golangci-lint))
# govulncheck, and indexdb, which builds its offline database (below).
$(eval $(call go-tool,$(GOVULNCHECK),govulncheck,golang.org/x/vuln/cmd/govulncheck))
$(eval $(call go-tool,$(INDEXDB),govulncheck,golang.org/x/vulndb/cmd/indexdb))
# The AWS Lambda Runtime Interface Emulator the deployer's end-to-end test
# runs it under.
$(eval $(call go-tool,$(LAMBDA_RIE),lambda-rie,github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie))
# go-gremlins, the mutation tester (mk/mutation.mk).
$(eval $(call go-tool,$(GREMLINS),gremlins,github.com/go-gremlins/gremlins/cmd/gremlins))
# The e2e control plane (mk/e2e.mk), stripped.
$(eval $(call go-tool,$(KUBE_APISERVER),kubernetes,k8s.io/kubernetes/cmd/kube-apiserver,-ldflags "-s -w"))
$(eval $(call go-tool,$(KUBE_CONTROLLER_MANAGER),kubernetes,k8s.io/kubernetes/cmd/kube-controller-manager,-ldflags "-s -w"))
$(eval $(call go-tool,$(ETCD),etcd,go.etcd.io/etcd/server/v3,-ldflags "-s -w"))

# govulncheck's offline database, built once per vulndb version from the
# OSV records in the golang.org/x/vulndb module (tools/govulncheck pins it),
# which the module proxy serves like any module.
$(VULNDB)/index/db.json: $(INDEXDB)
	@rm -rf $(VULNDB) && mkdir -p $(VULNDB)
	cd tools/govulncheck && go mod download golang.org/x/vulndb && \
		$(INDEXDB) -vulns "$$(go list -m -f '{{.Dir}}' golang.org/x/vulndb)/data/osv" -out $(VULNDB)

.PHONY: tools
tools: $(CROSSPLANE) $(CROSSPLANE_CORE) $(LAMBDA_RIE) ## Build the pinned tools `make test` needs into ./bin.

.PHONY: lambda-rie
lambda-rie: $(LAMBDA_RIE) ## Build the AWS Lambda Runtime Interface Emulator into ./bin.
