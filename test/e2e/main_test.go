//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providerfake"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/testhelp"
	"github.com/cicd-platform/crossplane-cicd-pipeline/test/e2e/internal/providersim"
	"github.com/cicd-platform/crossplane-cicd-pipeline/test/e2e/internal/stack"
)

const (
	// account and region of the simulated AWS.
	simulatedAccount = providerfake.Account
	simulatedRegion  = "us-east-1"
)

// providerGroups are the provider-aws family members the Configuration
// package depends on (package/crossplane.yaml spec.dependsOn, which
// TestProviderDependencies in fn/internal/compose ties to the function's
// component registry). All their CRDs (from the provider module's
// package/crds) are installed, not only the kinds composed today, so that a
// kind the function starts to compose needs no change here: the
// cluster-scoped kinds (<group>.aws.upbound.io) the claim API composes and
// the namespaced ones (<group>.aws.m.upbound.io) the namespaced API
// composes. Each family provider serves both.
func providerGroups(repoRoot string) ([]string, error) {
	groups, err := testhelp.PackageProviderGroups(repoRoot)
	if err != nil {
		return nil, fmt.Errorf("cannot read the package's provider dependencies: %w", err)
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("package/crossplane.yaml depends on no %s* provider", testhelp.ProviderPrefix)
	}
	return groups, nil
}

// providerCRDFiles lists the CRD files of the package's provider groups,
// in both scopes.
func providerCRDFiles(repoRoot, dir string) ([]string, error) {
	groups, err := providerGroups(repoRoot)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, g := range groups {
		for _, group := range []string{g + ".aws.upbound.io", g + ".aws.m.upbound.io"} {
			matches, err := filepath.Glob(filepath.Join(dir, group+"_*.yaml"))
			if err != nil {
				return nil, fmt.Errorf("cannot list CRDs of %s: %w", group, err)
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("no CRDs of %s in %s", group, dir)
			}
			files = append(files, matches...)
		}
	}
	return files, nil
}

// config is what `make e2e` passes in the environment.
type config struct {
	WorkDir               string // E2E_WORK_DIR: data, certificates, logs
	Etcd                  string // E2E_ETCD
	KubeAPIServer         string // E2E_KUBE_APISERVER
	KubeControllerManager string // E2E_KUBE_CONTROLLER_MANAGER
	Crossplane            string // E2E_CROSSPLANE: Crossplane core binary
	CrossplaneCRDs        string // E2E_CROSSPLANE_CRDS: core module's cluster/crds
	ProviderCRDs          string // E2E_PROVIDER_AWS_CRDS: provider module's package/crds
	Function              string // E2E_FUNCTION: the project's function binary
	PackageMode           string // E2E_PACKAGE_MODE: xpkg or direct
	FunctionXpkg          string // E2E_FUNCTION_XPKG
	ConfigurationXpkg     string // E2E_CONFIGURATION_XPKG
	RepoRoot              string // the repository, for package/ and examples/
}

func configFromEnv() (config, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return config{}, fmt.Errorf("cannot find the repository root: %w", err)
	}
	c := config{
		WorkDir:               os.Getenv("E2E_WORK_DIR"),
		Etcd:                  os.Getenv("E2E_ETCD"),
		KubeAPIServer:         os.Getenv("E2E_KUBE_APISERVER"),
		KubeControllerManager: os.Getenv("E2E_KUBE_CONTROLLER_MANAGER"),
		Crossplane:            os.Getenv("E2E_CROSSPLANE"),
		CrossplaneCRDs:        os.Getenv("E2E_CROSSPLANE_CRDS"),
		ProviderCRDs:          os.Getenv("E2E_PROVIDER_AWS_CRDS"),
		Function:              os.Getenv("E2E_FUNCTION"),
		PackageMode:           os.Getenv("E2E_PACKAGE_MODE"),
		FunctionXpkg:          os.Getenv("E2E_FUNCTION_XPKG"),
		ConfigurationXpkg:     os.Getenv("E2E_CONFIGURATION_XPKG"),
		RepoRoot:              root,
	}
	if c.PackageMode == "" {
		c.PackageMode = packageModeXpkg
	}
	var missing []string
	for name, v := range map[string]string{
		"E2E_WORK_DIR": c.WorkDir, "E2E_ETCD": c.Etcd, "E2E_KUBE_APISERVER": c.KubeAPIServer,
		"E2E_KUBE_CONTROLLER_MANAGER": c.KubeControllerManager, "E2E_CROSSPLANE": c.Crossplane,
		"E2E_CROSSPLANE_CRDS": c.CrossplaneCRDs, "E2E_PROVIDER_AWS_CRDS": c.ProviderCRDs,
	} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return c, fmt.Errorf("missing %s in the environment: run the e2e tests with `make e2e`, which builds and names the binaries", strings.Join(missing, ", "))
	}
	return c, nil
}

// env is the running stack the tests share; TestMain sets it up.
var env *testEnv

type testEnv struct {
	cfg    config
	stack  *stack.Stack
	client *stack.Client
	sim    *providersim.Simulator
	// kinds are the cluster-scoped managed resource kinds installed (what
	// claims compose), namespacedKinds the namespaced ones (what namespaced
	// CicdPipelines compose).
	kinds           []schema.GroupVersionKind
	namespacedKinds []schema.GroupVersionKind
	//nolint:containedctx // the run's context: every test polls with it, and it ends when the stack stops
	ctx context.Context

	mu       sync.Mutex
	measured []string // lines for the summary at the end
}

// recordf adds a measurement to the summary printed after the tests.
func (e *testEnv) recordf(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.measured = append(e.measured, fmt.Sprintf(format, args...))
}

func TestMain(m *testing.M) {
	if !stack.InLoopbackNetns() {
		os.Exit(stack.ReexecInLoopbackNetns())
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stdout, "%s e2e: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: %s\n", fmt.Sprintf(format, args...))
		return 1
	}
	if err := stack.BringUpLoopback(); err != nil {
		return fail("%v", err)
	}
	cfg, err := configFromEnv()
	if err != nil {
		return fail("%v", err)
	}
	// Each run starts from an empty etcd; logs of the last run stay for
	// inspection until the next one.
	if err := os.RemoveAll(cfg.WorkDir); err != nil {
		return fail("cannot clean %s: %v", cfg.WorkDir, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	began := time.Now()
	st, err := stack.Start(ctx, stack.Config{
		WorkDir:               cfg.WorkDir,
		Etcd:                  cfg.Etcd,
		KubeAPIServer:         cfg.KubeAPIServer,
		KubeControllerManager: cfg.KubeControllerManager,
		Crossplane:            cfg.Crossplane,
		CrossplaneCRDs:        cfg.CrossplaneCRDs,
		CrossplaneDebug:       true,
		Logf:                  logf,
	})
	if err != nil {
		return fail("%v", err)
	}
	var stopOnce sync.Once
	var memory stack.MemoryReport
	stop := func() { stopOnce.Do(func() { memory = st.Stop() }) }
	defer stop()

	// An interrupted run must not leave servers behind (they would also die
	// with this process, but without a clean shutdown).
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-signals
		fmt.Fprintf(os.Stderr, "e2e: %v: stopping the stack\n", s)
		cancel()
		stop()
		os.Exit(1)
	}()

	client, err := stack.NewClient(st.RESTConfig, "e2e-test")
	if err != nil {
		return fail("%v", err)
	}
	crdBegan := time.Now()
	files, err := providerCRDFiles(cfg.RepoRoot, cfg.ProviderCRDs)
	if err != nil {
		return fail("%v", err)
	}
	if err := client.InstallCRDs(ctx, files); err != nil {
		return fail("cannot install the provider-aws CRDs: %v", err)
	}
	logf("installed %d provider-aws CRDs in %s", len(files), time.Since(crdBegan).Round(time.Millisecond))

	kinds, err := providersim.LoadKinds(files...)
	if err != nil {
		return fail("%v", err)
	}
	sim := providersim.New(client.Dynamic, kinds, providersim.Config{Account: simulatedAccount, DefaultRegion: simulatedRegion, Logf: logf})
	if err := sim.Start(ctx); err != nil {
		return fail("cannot start the provider simulator: %v", err)
	}
	stackReady := time.Since(began)
	logf("stack ready in %s", stackReady.Round(time.Millisecond))

	env = &testEnv{cfg: cfg, stack: st, client: client, sim: sim, ctx: ctx}
	for _, k := range kinds {
		if k.Namespaced {
			env.namespacedKinds = append(env.namespacedKinds, k.GVK)
		} else {
			env.kinds = append(env.kinds, k.GVK)
		}
	}
	for _, t := range st.StartupTimings {
		env.recordf("start-up: %-28s %s", t.Step, t.Duration.Round(time.Millisecond))
	}
	env.recordf("start-up: %-28s %s", "total, with provider CRDs", stackReady.Round(time.Millisecond))

	code := m.Run()

	// E2E_HOLD keeps the stack up after the tests, to inspect it: enter its
	// network namespace with nsenter --net=/proc/<kube-apiserver pid>/ns/net
	// and use the kubeconfig in the work folder.
	if hold, err := time.ParseDuration(os.Getenv("E2E_HOLD")); err == nil && hold > 0 {
		logf("holding the stack for %s (kubeconfig %s)", hold, st.KubeconfigPath)
		select {
		case <-time.After(hold):
		case <-ctx.Done():
		}
	}

	if err := st.CheckRunning(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: a stack process died during the tests: %v\n", err)
		code = 1
	}
	cancel()
	stop()
	env.recordf("memory: %s", memory)
	fmt.Fprintln(os.Stdout, "\n=== e2e measurements")
	for _, line := range env.measured {
		fmt.Fprintln(os.Stdout, "    "+line)
	}
	fmt.Fprintf(os.Stdout, "    logs: %s\n", st.LogDir)
	return code
}
