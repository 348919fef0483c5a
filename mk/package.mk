# Packaging, supply chain and release (see docs/build.md and docs/install.md).
#
#   make build                    function binaries, images, SBOMs, both .xpkg
#                                 packages and the deployer's Lambda images,
#                                 under $(OUT), without a container engine
#   make publish REGISTRY=host/org  push them (docker config credentials)
#   make package-test             build, then test the built artifacts and
#                                 that a rebuild gives the same digests
#   make lint                     golangci-lint (.golangci.yml)
#   make vuln                     govulncheck against an offline vulnerability
#                                 database built from a pinned golang.org/x/vulndb
#
# Images are built by cmd/ocibuild (go-containerregistry): two layers (a
# nonroot root filesystem and the static binary), fixed timestamps, sorted
# entries, so the same commit always gives the same digests.

# The binaries and PACKAGE_VERSION come from mk/golang.mk, the tools from
# mk/tools.mk.
GIT_COMMIT := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)

# Where `make publish` pushes, and the registry the Configuration's
# dependency on the Function names. A Configuration is built for one
# registry, so `make publish` rebuilds it when REGISTRY changes.
REGISTRY ?= xpkg.crossplane.io/cicd-platform

FUNCTION_NAME := crossplane-cicd-pipeline-fn
CONFIGURATION_NAME := crossplane-cicd-pipeline
DEPLOYER_NAME := crossplane-cicd-pipeline-deployer
# The functionRef name package/composition.yaml uses (and `crossplane render`
# with it); the staged Configuration renames it to the name Crossplane gives
# the Function it installs as a dependency.
FUNCTION_REF_NAME := crossplane-cicd-pipeline-fn

PLATFORMS := linux/amd64 linux/arm64
ARCHES := $(notdir $(PLATFORMS))

SOURCE_URL := https://github.com/cicd-platform/crossplane-cicd-pipeline
IMAGE_LABELS := --label org.opencontainers.image.source=$(SOURCE_URL) \
	--label org.opencontainers.image.revision=$(GIT_COMMIT) \
	--label org.opencontainers.image.licenses=Apache-2.0

OCIBUILD := $(call go-bin,ocibuild)

FN_OUT := $(OUT)/fn
CONFIGURATION_OUT := $(OUT)/configuration
DEPLOYER_OUT := $(OUT)/deployer
FUNCTION_XPKGS := $(foreach a,$(ARCHES),$(FN_OUT)/$(FUNCTION_NAME)-$(a).xpkg)
CONFIGURATION_XPKG := $(CONFIGURATION_OUT)/$(CONFIGURATION_NAME).xpkg
FUNCTION_BINARIES := $(foreach a,$(ARCHES),$(call go-bin,function,linux_$(a)))
DEPLOYER_BINARIES := $(foreach a,$(ARCHES),$(call go-bin,deployer,linux_$(a)))

# ---------------------------------------------------------------- function

.PHONY: function-binaries
function-binaries: $(FUNCTION_BINARIES) ## Build the function's static binaries.

.PHONY: function-image
function-image: function-binaries $(OCIBUILD) ## Build the function's multi-arch image, per-arch tarballs and SBOMs.
	$(OCIBUILD) image --name $(FUNCTION_NAME) --version $(PACKAGE_VERSION) \
		--binary-path /function --port 9443/tcp $(IMAGE_LABELS) \
		$(foreach a,$(ARCHES),--binary linux/$(a)=$(call go-bin,function,linux_$(a))) \
		--out $(FN_OUT)/image

.PHONY: function-xpkg
function-xpkg: function-image $(OCIBUILD) $(CROSSPLANE) ## Build the Function package, one .xpkg per architecture.
	$(OCIBUILD) stage --source fn/package --out $(FN_OUT)/package --version $(PACKAGE_VERSION)
	@for a in $(ARCHES); do \
		echo "$(CROSSPLANE) xpkg build ($$a)"; \
		$(CROSSPLANE) xpkg build --package-root $(FN_OUT)/package --examples-root $(FN_OUT)/package/no-examples \
			--embed-runtime-image-tarball $(FN_OUT)/image/image-linux-$$a.tar \
			-o $(FN_OUT)/$(FUNCTION_NAME)-$$a.xpkg; \
	done

# ------------------------------------------------------------ configuration

.PHONY: configuration-xpkg
configuration-xpkg: $(OCIBUILD) $(CROSSPLANE) ## Build the Configuration package (XRD, Composition, dependencies).
	$(OCIBUILD) stage --source package --out $(CONFIGURATION_OUT)/package --version $(PACKAGE_VERSION) \
		--function-package $(REGISTRY)/$(FUNCTION_NAME) --function-ref-name $(FUNCTION_REF_NAME)
	$(CROSSPLANE) xpkg build --package-root $(CONFIGURATION_OUT)/package \
		--examples-root $(CONFIGURATION_OUT)/package/no-examples -o $(CONFIGURATION_XPKG)
	@echo "$(REGISTRY)" > $(CONFIGURATION_OUT)/registry.txt

# ----------------------------------------------------------------- deployer

# The deployer's Lambda image. Lambda takes single-platform images only, so
# each architecture is its own image (image-linux-<arch>.tar); amd64 is the
# default the pipeline's Lambda uses.
.PHONY: deployer-image
deployer-image: $(DEPLOYER_BINARIES) $(OCIBUILD) ## Build the deployer's Lambda images (one per arch) and SBOMs.
	$(OCIBUILD) image --name $(DEPLOYER_NAME) --version $(PACKAGE_VERSION) \
		--binary-path /var/runtime/bootstrap $(IMAGE_LABELS) \
		$(foreach a,$(ARCHES),--binary linux/$(a)=$(call go-bin,deployer,linux_$(a))) \
		--out $(DEPLOYER_OUT)/image

# -------------------------------------------------------------------- build

.PHONY: build
build: function-xpkg configuration-xpkg deployer-image ## Build binaries, images, SBOMs and packages under _output.
	@echo "built $(PACKAGE_VERSION) under $(OUT)"

# Rebuild the images from the same binaries into a scratch directory and
# compare digests: the build must not depend on time or on the machine.
.PHONY: check-reproducible
check-reproducible: function-xpkg $(OCIBUILD) $(CROSSPLANE) ## Rebuild the function image and package; require identical digests.
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(OCIBUILD) image --name $(FUNCTION_NAME) --version $(PACKAGE_VERSION) \
		--binary-path /function --port 9443/tcp $(IMAGE_LABELS) \
		$(foreach a,$(ARCHES),--binary linux/$(a)=$(call go-bin,function,linux_$(a))) \
		--out "$$tmp" >/dev/null; \
	diff -u $(FN_OUT)/image/digests.txt "$$tmp/digests.txt" && \
	cmp $(FN_OUT)/image/image.oci.tar "$$tmp/image.oci.tar" && \
	$(CROSSPLANE) xpkg build --package-root $(FN_OUT)/package --examples-root $(FN_OUT)/package/no-examples \
		--embed-runtime-image-tarball "$$tmp/image-linux-amd64.tar" -o "$$tmp/fn-amd64.xpkg" >/dev/null && \
	cmp $(FN_OUT)/$(FUNCTION_NAME)-amd64.xpkg "$$tmp/fn-amd64.xpkg" && \
	echo "reproducible: $$(head -1 "$$tmp/digests.txt") and $(FUNCTION_NAME)-amd64.xpkg"

# Tests of the built artifacts (internal/ocibuild/artifacts_test.go): they
# skip when PACKAGE_OUTPUT_DIR is unset, so `go test ./...` alone does not
# need a build, and fail when it is set and an artifact is missing.
.PHONY: package-test
package-test: build check-reproducible ## Build, then test the built packages and images.
	PACKAGE_OUTPUT_DIR=$(OUT) PACKAGE_VERSION=$(PACKAGE_VERSION) PACKAGE_REGISTRY=$(REGISTRY) \
		go test -count=1 -run 'TestBuilt' -v ./internal/ocibuild/

# ------------------------------------------------------------------ publish

.PHONY: publish
publish: ## Push the packages and images to REGISTRY (make publish REGISTRY=host/org).
	@test "$(origin REGISTRY)" = "command line" -o "$(origin REGISTRY)" = "environment" || \
		{ echo "set REGISTRY, e.g. make publish REGISTRY=xpkg.example.org/platform"; exit 1; }
	$(MAKE) build REGISTRY=$(REGISTRY)
	$(OCIBUILD) publish \
		--packages $(REGISTRY)/$(FUNCTION_NAME):$(PACKAGE_VERSION)=$(subst $(space),$(comma),$(strip $(FUNCTION_XPKGS))) \
		--packages $(REGISTRY)/$(CONFIGURATION_NAME):$(PACKAGE_VERSION)=$(CONFIGURATION_XPKG) \
		--oci-archive $(REGISTRY)/$(FUNCTION_NAME)-runtime:$(PACKAGE_VERSION)=$(FN_OUT)/image/image.oci.tar \
		$(foreach a,$(ARCHES),--image $(REGISTRY)/$(DEPLOYER_NAME):$(PACKAGE_VERSION)$(if $(filter amd64,$(a)),,-$(a))=$(DEPLOYER_OUT)/image/image-linux-$(a).tar)

comma := ,
empty :=
space := $(empty) $(empty)

# --------------------------------------------------------------------- lint

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint with .golangci.yml.
	$(GOLANGCI_LINT) run ./...

# --------------------------------------------------------------------- vuln

# govulncheck exits non-zero only for vulnerabilities whose vulnerable
# symbols our code can reach; imported-but-unreachable ones are reported
# without failing. Source mode checks the standard library of the toolchain
# that builds the binaries (GOTOOLCHAIN, exported by the Makefile). The
# offline database is built by mk/tools.mk.
.PHONY: vuln
vuln: $(GOVULNCHECK) $(VULNDB)/index/db.json ## Check for reachable known vulnerabilities (offline database).
	$(GOVULNCHECK) -db file://$(VULNDB) ./...
