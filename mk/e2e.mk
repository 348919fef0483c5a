# End-to-end tests against a real control plane: etcd, kube-apiserver,
# kube-controller-manager and Crossplane core, run as local processes inside a
# loopback-only network namespace (see docs/e2e.md). Needs root (to create
# the network namespace); fails, rather than skips, without it.
#
#   make e2e                          build what is missing, run every scenario
#   make e2e E2E_RUN=TestStackSmoke   run some tests only (go test -run)
#   make e2e E2E_PACKAGE_MODE=direct  install the XRD/Composition directly
#                                     instead of through the package manager
#   make e2e-tools                    only build the control plane's binaries
#
# The control plane's binaries (mk/tools.mk) are cached under
# .cache/e2e/<tool>-<version>/ (git-ignored) and rebuilt only when their tool
# module changes, so warm runs start in seconds.

E2E_OUT := $(OUT)/e2e

E2E_RUN ?=
# xpkg: install the built Function and Configuration packages through
# Crossplane's package manager from a registry on loopback (the real path);
# direct: apply package/definition.yaml and composition.yaml as they are.
E2E_PACKAGE_MODE ?= xpkg
E2E_TIMEOUT ?= 30m
E2E_ARCH := $(word 2,$(GO_HOST))
# The function process runs this machine's build of the function: in xpkg
# mode the very binary the package embeds (function-xpkg builds it).
E2E_PACKAGES := $(if $(filter xpkg,$(E2E_PACKAGE_MODE)),function-xpkg configuration-xpkg,e2e-function)
E2E_FUNCTION = $(call go-bin,function,linux_$(E2E_ARCH))

.PHONY: e2e-tools
e2e-tools: $(ETCD) $(KUBE_APISERVER) $(KUBE_CONTROLLER_MANAGER) $(CROSSPLANE_CORE) ## Build the e2e control plane's binaries (cached).

# The function as Crossplane would run it (direct mode builds no package).
.PHONY: e2e-function
e2e-function: $(call go-bin,function,linux_$(E2E_ARCH))

.PHONY: e2e
e2e: e2e-tools $(E2E_PACKAGES) ## Run the end-to-end tests on a real control plane (needs root).
	@# The CRDs are read from the module cache: make sure both modules are in it.
	cd tools/crossplane && go mod download github.com/crossplane/crossplane/v2
	go mod download github.com/upbound/provider-aws/v2
	E2E_WORK_DIR=$(E2E_OUT)/stack \
	E2E_ETCD=$(ETCD) \
	E2E_KUBE_APISERVER=$(KUBE_APISERVER) \
	E2E_KUBE_CONTROLLER_MANAGER=$(KUBE_CONTROLLER_MANAGER) \
	E2E_CROSSPLANE=$(CROSSPLANE_CORE) \
	E2E_CROSSPLANE_CRDS=$$(cd tools/crossplane && go list -m -f '{{.Dir}}' github.com/crossplane/crossplane/v2)/cluster/crds \
	E2E_PROVIDER_AWS_CRDS=$$(go list -m -f '{{.Dir}}' github.com/upbound/provider-aws/v2)/package/crds \
	E2E_FUNCTION=$(E2E_FUNCTION) \
	E2E_PACKAGE_MODE=$(E2E_PACKAGE_MODE) \
	E2E_FUNCTION_XPKG=$(FN_OUT)/$(FUNCTION_NAME)-$(E2E_ARCH).xpkg \
	E2E_CONFIGURATION_XPKG=$(CONFIGURATION_XPKG) \
	go test -tags e2e -count=1 -v -timeout $(E2E_TIMEOUT) -run '$(E2E_RUN)' ./test/e2e/
