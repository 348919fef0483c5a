# Pinned tools, each built once from its own module under tools/ into ./bin.
# A tool is rebuilt only when its module's go.mod or go.sum changes.

CROSSPLANE_CORE_VERSION := v2.4.0

CROSSPLANE := $(BIN)/crossplane
CROSSPLANE_CORE := $(BIN)/crossplane-core
CONTROLLER_GEN := $(BIN)/controller-gen

# The Crossplane CLI (render, xpkg build, validate).
$(CROSSPLANE): tools/crossplane/go.mod tools/crossplane/go.sum
	@mkdir -p $(BIN)
	@echo "building the Crossplane CLI into $@ (a few minutes, once)"
	cd tools/crossplane && go build -trimpath -o $@ github.com/crossplane/cli/v2/cmd/crossplane

# Crossplane core: the render engine, and the control plane of the e2e tests.
# The version is stamped in, or every package fails its Crossplane version
# constraint.
$(CROSSPLANE_CORE): tools/crossplane/go.mod tools/crossplane/go.sum
	@mkdir -p $(BIN)
	@echo "building Crossplane core $(CROSSPLANE_CORE_VERSION) into $@ (a few minutes, once)"
	cd tools/crossplane && go build -trimpath \
		-ldflags "-X github.com/crossplane/crossplane-runtime/v2/pkg/version.version=$(CROSSPLANE_CORE_VERSION)" \
		-o $@ github.com/crossplane/crossplane/v2/cmd/crossplane

# controller-gen turns the kubebuilder markers in apis/ into OpenAPI.
$(CONTROLLER_GEN): tools/controller-gen/go.mod tools/controller-gen/go.sum
	@mkdir -p $(BIN)
	cd tools/controller-gen && go build -trimpath -o $@ sigs.k8s.io/controller-tools/cmd/controller-gen

.PHONY: tools
tools: $(CROSSPLANE) $(CROSSPLANE_CORE) $(CONTROLLER_GEN) ## Build the pinned tools into ./bin.
