# One build rule for every Go binary of this module, in the manner of
# crossplane/build's makelib/golang.mk: each is a static binary (CGO_ENABLED=0,
# exported by the Makefile) at $(GO_BIN_DIR)/<os>_<arch>/<name>, built with
# the same flags. A target needing one names its path:
#
#   $(call go-bin,function)               this machine's platform
#   $(call go-bin,function,linux_arm64)   another platform
#
# so `make render` runs the very linux_amd64 binary `make build` packages
# (on a linux/amd64 machine), and nothing builds the function twice.

GO_BIN_DIR := $(OUT)/bin
GO_HOST := $(shell go env GOOS GOARCH)
GO_HOST_PLATFORM := $(word 1,$(GO_HOST))_$(word 2,$(GO_HOST))

# Every binary: its name, its package and, where needed, its build tags.
# The function: what the Function package runs (fn/package).
GO_PACKAGE.function := ./fn
# The deployer Lambda; lambda.norpc leaves out aws-lambda-go's RPC mode,
# which only the go1.x runtime used: the image talks to the Runtime API.
GO_PACKAGE.deployer := ./deployer
GO_TAGS.deployer := lambda.norpc
# The image and package builder (mk/package.mk).
GO_PACKAGE.ocibuild := ./cmd/ocibuild
# The side-by-side performance harness and its floor function (mk/perf.mk).
GO_PACKAGE.perf := ./test/perf
GO_PACKAGE.floor := ./test/perf/floor

go-bin = $(GO_BIN_DIR)/$(or $(2),$(GO_HOST_PLATFORM))/$(1)

# Package versions must be semantic versions: a tagged commit's describe
# output already is one (v1.2.3, v1.2.3-4-gabcdef0); an untagged commit's is
# a bare hash, made a v0.0.0 prerelease. The binaries report the same.
PACKAGE_VERSION := $(if $(filter v%,$(VERSION)),$(VERSION),v0.0.0-$(VERSION))
VERSION_VAR := github.com/cicd-platform/crossplane-cicd-pipeline/internal/version.version
GO_BUILD_FLAGS := -trimpath -ldflags "-s -w -X $(VERSION_VAR)=$(PACKAGE_VERSION)"

# The go command decides whether a binary is stale (its build cache makes an
# unchanged one quick), so make always asks it.
.PHONY: FORCE
FORCE:

# The one rule. The platform is the directory's name, the package the
# binary's; an unknown name is an error, not a silent build of nothing.
$(GO_BIN_DIR)/%: FORCE
	$(if $(GO_PACKAGE.$(@F)),,$(error $@: no Go binary is named $(@F); add GO_PACKAGE.$(@F) to mk/golang.mk))
	@mkdir -p $(@D)
	GOOS=$(word 1,$(subst _, ,$(notdir $(@D)))) GOARCH=$(word 2,$(subst _, ,$(notdir $(@D)))) \
		go build $(GO_BUILD_FLAGS) $(if $(GO_TAGS.$(@F)),-tags $(GO_TAGS.$(@F))) -o $@ $(GO_PACKAGE.$(@F))
