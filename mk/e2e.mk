# End-to-end tests against a real control plane: etcd, kube-apiserver,
# kube-controller-manager and Crossplane core, run as local processes inside a
# loopback-only network namespace (see docs/e2e.md).
#
#   make e2e          build the stack (cached) and run test/e2e
#   make e2e-tools    only build the stack's binaries
#
# The binaries are cached under .cache/e2e/<tool>-<version>/ (git-ignored) and
# rebuilt only when their tool module changes, so warm runs start in seconds.

KUBERNETES_VERSION := v1.35.3
ETCD_VERSION := v3.6.5

E2E_CACHE := $(ROOT)/.cache/e2e
KUBE_APISERVER := $(E2E_CACHE)/kubernetes-$(KUBERNETES_VERSION)/kube-apiserver
KUBE_CONTROLLER_MANAGER := $(E2E_CACHE)/kubernetes-$(KUBERNETES_VERSION)/kube-controller-manager
ETCD := $(E2E_CACHE)/etcd-$(ETCD_VERSION)/etcd

# Scenario selection and package install mode, passed through to the test.
E2E_RUN ?=
E2E_PACKAGE_MODE ?= direct
E2E_TIMEOUT ?= 30m

$(KUBE_APISERVER): tools/kubernetes/go.mod tools/kubernetes/go.sum
	@mkdir -p $(@D)
	@echo "building kube-apiserver $(KUBERNETES_VERSION) into $@ (several minutes, once)"
	cd tools/kubernetes && go build -trimpath -ldflags "-s -w" -o $@ k8s.io/kubernetes/cmd/kube-apiserver

$(KUBE_CONTROLLER_MANAGER): tools/kubernetes/go.mod tools/kubernetes/go.sum
	@mkdir -p $(@D)
	@echo "building kube-controller-manager $(KUBERNETES_VERSION) into $@ (several minutes, once)"
	cd tools/kubernetes && go build -trimpath -ldflags "-s -w" -o $@ k8s.io/kubernetes/cmd/kube-controller-manager

$(ETCD): tools/etcd/go.mod tools/etcd/go.sum
	@mkdir -p $(@D)
	@echo "building etcd $(ETCD_VERSION) into $@ (a minute, once)"
	cd tools/etcd && go build -trimpath -ldflags "-s -w" -o $@ go.etcd.io/etcd/server/v3

.PHONY: e2e-tools
e2e-tools: $(ETCD) $(KUBE_APISERVER) $(KUBE_CONTROLLER_MANAGER) $(CROSSPLANE_CORE) ## Build the e2e control plane's binaries (cached).
