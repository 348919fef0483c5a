# Render the examples locally: the function runs as a local process and a
# local Crossplane core is the render engine, so no cluster and no Docker.

RENDER_FN := $(call go-bin,function)
RENDER_XR ?= examples/xr-minimal.yaml
RENDER_OBSERVED ?= examples/observed/minimal.yaml
RENDER_PLATFORM ?= examples/platform-defaults.yaml

.PHONY: render
render: $(CROSSPLANE) $(CROSSPLANE_CORE) $(RENDER_FN) ## Render the example XR (RENDER_XR) into managed resources.
	@BIN=$(BIN) examples/render.sh $(RENDER_FN) $(RENDER_XR)

.PHONY: render-observed
render-observed: $(CROSSPLANE) $(CROSSPLANE_CORE) $(RENDER_FN) ## Render again with every resource observed Ready: outputs filled, XR Ready.
	@BIN=$(BIN) examples/render.sh $(RENDER_FN) $(RENDER_XR) $(RENDER_OBSERVED)

.PHONY: render-namespaced
render-namespaced: $(CROSSPLANE) $(CROSSPLANE_CORE) $(RENDER_FN) ## Render the namespaced example CicdPipeline (Crossplane v2) into namespaced managed resources.
	@BIN=$(BIN) examples/render.sh $(RENDER_FN) examples/namespaced-minimal.yaml

.PHONY: render-platform
render-platform: $(CROSSPLANE) $(CROSSPLANE_CORE) $(RENDER_FN) ## Render the example XR (RENDER_XR) with the platform's EnvironmentConfig (RENDER_PLATFORM).
	@BIN=$(BIN) examples/render.sh $(RENDER_FN) $(RENDER_XR) "" $(RENDER_PLATFORM)

# The render golden tests (examples/render_test.go) run the real CLI and
# render engine.
TEST_PREREQS += $(CROSSPLANE) $(CROSSPLANE_CORE)
