//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cicd-platform/crossplane-cicd-pipeline/test/e2e/internal/stack"
)

// Ways to install the platform: through Crossplane's package manager from a
// local registry (the real path), or by applying the XRD and Composition
// directly with a hand-made FunctionRevision (the fallback).
const (
	packageModeXpkg   = "xpkg"
	packageModeDirect = "direct"
)

const (
	// functionAddress is where the project's function listens, as a
	// Crossplane-managed function would (mTLS on 9443).
	functionAddress = "127.0.0.1:9443"
	xrdName         = "xcicdpipelines.cicd.platform.dev"
	// namespacedXRDName is the namespaced API's XRD (apiextensions v2,
	// scope Namespaced), shipped in the same Configuration.
	namespacedXRDName = "cicdpipelines.cicd.m.platform.dev"
	packageTag        = "v0.0.0-e2e"
)

var (
	xrdGVK         = schema.GroupVersionKind{Group: "apiextensions.crossplane.io", Version: "v1", Kind: "CompositeResourceDefinition"}
	compositionGVK = schema.GroupVersionKind{Group: "apiextensions.crossplane.io", Version: "v1", Kind: "Composition"}
	claimGVK       = schema.GroupVersionKind{Group: "cicd.platform.dev", Version: "v1alpha1", Kind: "CicdPipeline"}
	xrGVK          = schema.GroupVersionKind{Group: "cicd.platform.dev", Version: "v1alpha1", Kind: "XCicdPipeline"}
	// namespacedXRGVK is the namespaced API's composite resource: no claim.
	namespacedXRGVK = schema.GroupVersionKind{Group: "cicd.m.platform.dev", Version: "v1alpha1", Kind: "CicdPipeline"}
)

var (
	platformOnce       sync.Once
	errPlatformInstall error
)

// requirePlatform installs the project's platform API once (the first test
// that needs it pays) and fails the test if that did not work.
func requirePlatform(t *testing.T) {
	t.Helper()
	platformOnce.Do(func() {
		began := time.Now()
		errPlatformInstall = installPlatform(env.ctx, t)
		if errPlatformInstall == nil {
			env.recordf("platform install (%s mode): %s", env.cfg.PackageMode, time.Since(began).Round(time.Millisecond))
		}
	})
	if errPlatformInstall != nil {
		t.Fatalf("cannot install the platform: %v", errPlatformInstall)
	}
}

func installPlatform(ctx context.Context, t *testing.T) error {
	if env.cfg.Function == "" {
		return errors.New("E2E_FUNCTION is not set: `make e2e` builds the function binary and names it")
	}
	if err := startFunction(ctx); err != nil {
		return err
	}
	switch env.cfg.PackageMode {
	case packageModeDirect:
		return installDirect(ctx)
	case packageModeXpkg:
		return installPackages(ctx, t)
	default:
		return fmt.Errorf("unknown E2E_PACKAGE_MODE %q (want %s or %s)", env.cfg.PackageMode, packageModeXpkg, packageModeDirect)
	}
}

// startFunction runs the function binary as Crossplane would reach it:
// listening on loopback with mTLS, trusting only the stack's CA.
func startFunction(ctx context.Context) error {
	dir, err := env.stack.FunctionServingDir("function")
	if err != nil {
		return err
	}
	p, err := env.stack.StartProcess("function", env.cfg.Function,
		[]string{"--debug", "--address=" + functionAddress},
		[]string{"TLS_SERVER_CERTS_DIR=" + dir})
	if err != nil {
		return err
	}
	return stack.Eventually(ctx, time.Minute, func(ctx context.Context) error {
		if err := p.Exited(); err != nil {
			return fmt.Errorf("%w:\n%s", err, p.TailLog(20))
		}
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", functionAddress)
		if err != nil {
			return fmt.Errorf("function not listening yet: %w", err)
		}
		return conn.Close()
	})
}

// installDirect is the fallback: apply both APIs' XRDs and Compositions
// from package/, and point the Compositions' functionRef at the running
// function through a hand-made FunctionRevision.
func installDirect(ctx context.Context) error {
	var objs []*unstructured.Unstructured
	for _, f := range []string{"definition.yaml", "composition.yaml", "definition-namespaced.yaml", "composition-namespaced.yaml"} {
		data, err := os.ReadFile(filepath.Join(env.cfg.RepoRoot, "package", f))
		if err != nil {
			return fmt.Errorf("cannot read package/%s: %w", f, err)
		}
		o, err := stack.DecodeYAML(data)
		if err != nil {
			return fmt.Errorf("package/%s: %w", f, err)
		}
		objs = append(objs, o...)
	}
	for _, o := range objs {
		if o.GetKind() != "Composition" {
			continue
		}
		fnName, err := functionRefName(o)
		if err != nil {
			return err
		}
		if err := stack.RegisterFunctionEndpoint(ctx, env.client, fnName, functionAddress); err != nil {
			return err
		}
	}
	for _, o := range objs {
		if _, err := env.client.Apply(ctx, o); err != nil {
			return err
		}
	}
	return waitXRD(ctx)
}

// installPackages is the real path: push the built Function and
// Configuration packages to a registry on loopback and install them through
// Crossplane's package manager. Dependencies are not resolved (public
// registries are unreachable): the test installs the Function itself, under
// the name the Configuration's Composition refers to.
func installPackages(ctx context.Context, t *testing.T) error {
	for name, path := range map[string]string{"E2E_FUNCTION_XPKG": env.cfg.FunctionXpkg, "E2E_CONFIGURATION_XPKG": env.cfg.ConfigurationXpkg} {
		if path == "" {
			return fmt.Errorf("%s is not set: `make e2e` builds the packages and names them (or use E2E_PACKAGE_MODE=direct)", name)
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := startRegistry(ctx); err != nil {
		return err
	}
	fnRef, err := pushPackage(ctx, env.cfg.FunctionXpkg, "cicd-platform/crossplane-cicd-pipeline-fn", packageTag)
	if err != nil {
		return err
	}
	cfgRef, err := pushPackage(ctx, env.cfg.ConfigurationXpkg, "cicd-platform/crossplane-cicd-pipeline", packageTag)
	if err != nil {
		return err
	}
	t.Logf("pushed %s and %s", fnRef, cfgRef)

	configuration := packageObject(stack.ConfigurationGVK, "crossplane-cicd-pipeline", cfgRef)
	if _, err := env.client.Apply(ctx, configuration); err != nil {
		return err
	}
	// The Configuration's Composition names the Function it calls.
	var fnName string
	err = stack.Eventually(ctx, 2*time.Minute, func(ctx context.Context) error {
		comps, err := env.client.List(ctx, compositionGVK, "", "")
		if err != nil {
			return err
		}
		for i := range comps {
			if comps[i].GetName() == xrdName {
				fnName, err = functionRefName(&comps[i])
				return err
			}
		}
		cfg, _ := env.client.Get(ctx, stack.ConfigurationGVK, "", configuration.GetName())
		if cfg != nil {
			return fmt.Errorf("composition %s not installed yet; Configuration: %s", xrdName, conditionsSummary(cfg))
		}
		return fmt.Errorf("composition %s not installed yet", xrdName)
	})
	if err != nil {
		return err
	}

	function := packageObject(stack.FunctionGVK, fnName, fnRef)
	if _, err := env.client.Apply(ctx, function); err != nil {
		return err
	}
	// With the External package runtime Crossplane deploys nothing and
	// leaves status.endpoint empty: publish where the function listens.
	var revision string
	err = stack.Eventually(ctx, 2*time.Minute, func(ctx context.Context) error {
		revs, err := env.client.List(ctx, stack.FunctionRevisionGVK, "", "pkg.crossplane.io/package="+fnName)
		if err != nil {
			return err
		}
		for _, r := range revs {
			if s, _, _ := unstructured.NestedString(r.Object, "spec", "desiredState"); s == "Active" {
				revision = r.GetName()
				return nil
			}
		}
		fn, _ := env.client.Get(ctx, stack.FunctionGVK, "", fnName)
		if fn != nil {
			return fmt.Errorf("no active revision of Function %s yet; Function: %s", fnName, conditionsSummary(fn))
		}
		return fmt.Errorf("no active revision of Function %s yet", fnName)
	})
	if err != nil {
		return err
	}
	if err := stack.SetFunctionRevisionEndpoint(ctx, env.client, revision, functionAddress); err != nil {
		return err
	}
	// Not t.Logf: the goroutine outlives the test that installs the platform.
	go stack.KeepFunctionEndpoint(ctx, env.client, fnName, functionAddress, func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "e2e: "+format+"\n", args...)
	})
	if err := waitXRD(ctx); err != nil {
		return err
	}
	return stack.Eventually(ctx, 2*time.Minute, func(ctx context.Context) error {
		cfg, err := env.client.Get(ctx, stack.ConfigurationGVK, "", configuration.GetName())
		if err != nil {
			return err
		}
		if s, _, _, _ := condition(cfg, "Installed"); s != "True" {
			return fmt.Errorf("configuration not installed: %s", conditionsSummary(cfg))
		}
		return nil
	})
}

func packageObject(gvk schema.GroupVersionKind, name, ref string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"package":                  ref,
		"packagePullPolicy":        "IfNotPresent",
		"skipDependencyResolution": true,
	}}}
	u.SetGroupVersionKind(gvk)
	u.SetName(name)
	return u
}

func functionRefName(comp *unstructured.Unstructured) (string, error) {
	steps, _, _ := unstructured.NestedSlice(comp.Object, "spec", "pipeline")
	if len(steps) != 1 {
		return "", fmt.Errorf("composition %s has %d pipeline steps, want 1", comp.GetName(), len(steps))
	}
	step, _ := steps[0].(map[string]any)
	name, _, _ := unstructured.NestedString(step, "functionRef", "name")
	if name == "" {
		return "", fmt.Errorf("composition %s names no function", comp.GetName())
	}
	return name, nil
}

// waitXRD waits until Crossplane serves both APIs: the claim API's XRD
// established and its claim offered, the namespaced API's established (it
// has no claim to offer).
func waitXRD(ctx context.Context) error {
	return stack.Eventually(ctx, readyTimeout, func(ctx context.Context) error {
		u, err := env.client.Get(ctx, xrdGVK, "", xrdName)
		if err != nil {
			return err
		}
		if err := xrdReady(u); err != nil {
			return err
		}
		ns, err := env.client.Get(ctx, xrdGVK, "", namespacedXRDName)
		if err != nil {
			return err
		}
		return xrdConditions(ns, "Established")
	})
}

func xrdReady(u *unstructured.Unstructured) error {
	return xrdConditions(u, "Established", "Offered")
}

func xrdConditions(u *unstructured.Unstructured, types ...string) error {
	for _, typ := range types {
		if status, _, _, _ := condition(u, typ); status != "True" {
			return fmt.Errorf("XRD %s not %s: %s", u.GetName(), typ, conditionsSummary(u))
		}
	}
	return nil
}

// waitXRDReady waits until Crossplane established an XRD and offers its
// claim, and returns how long that took.
func waitXRDReady(t *testing.T, name string) time.Duration {
	t.Helper()
	return eventually(t, readyTimeout, "XRD "+name+" never became established and offered", func(ctx context.Context) error {
		u, err := env.client.Get(ctx, xrdGVK, "", name)
		if err != nil {
			return err
		}
		return xrdReady(u)
	})
}

func nestedString(u *unstructured.Unstructured, path ...string) string {
	s, _, _ := unstructured.NestedString(u.Object, path...)
	return s
}
