// Package stack runs a real Kubernetes control plane with Crossplane core as
// local processes for the e2e tests: etcd, kube-apiserver,
// kube-controller-manager (garbage collector and namespace controllers only)
// and Crossplane, every one listening on 127.0.0.1 only.
package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Fixed ports: the stack owns its network namespace, so nothing can clash.
const (
	etcdClientURL         = "http://127.0.0.1:2379"
	etcdPeerURL           = "http://127.0.0.1:2380"
	apiServerPort         = "6443"
	controllerManagerPort = "10257"
	// Crossplane's metrics and health servers bind all interfaces of the
	// namespace; off the usual 8080/8081, which functions' metrics servers
	// (function-sdk-go's default :8080) would otherwise race for.
	crossplaneMetricsPort  = "18080"
	crossplaneHealthPort   = "18081"
	crossplaneHealthURL    = "http://127.0.0.1:" + crossplaneHealthPort + "/readyz"
	crossplaneNamespace    = "crossplane-system"
	stopGrace              = 10 * time.Second
	memorySampleInterval   = 250 * time.Millisecond
	startupDeadline        = 3 * time.Minute
	crossplaneInitAttempts = 10
)

// Config names the binaries and folders a stack uses.
type Config struct {
	// WorkDir holds the stack's data, certificates and logs (logs/<process>.log).
	WorkDir string

	Etcd                  string
	KubeAPIServer         string
	KubeControllerManager string
	Crossplane            string
	// CrossplaneCRDs is Crossplane core's CRD folder (cluster/crds of the
	// core module), which `crossplane core init` installs.
	CrossplaneCRDs string
	// CrossplaneDebug turns on Crossplane's debug logs.
	CrossplaneDebug bool

	// Logf reports progress, e.g. testing.T.Logf or log.Printf.
	Logf func(format string, args ...any)
}

// Stack is a running control plane.
type Stack struct {
	cfg Config

	CA *CA
	// RESTConfig authenticates as cluster admin (system:masters).
	RESTConfig *rest.Config
	// KubeconfigPath holds the same credentials for child processes.
	KubeconfigPath string
	// CrossplaneTLSDir is Crossplane's client certificate folder for
	// function calls (tls.crt, tls.key, ca.crt): functions must trust ca.crt.
	CrossplaneTLSDir string
	LogDir           string

	// StartupTimings records how long each start-up step took, in order.
	StartupTimings []Timing

	processes []*Process
	memory    *memoryMonitor
}

// Timing is the duration of a named step.
type Timing struct {
	Step     string
	Duration time.Duration
}

// Start brings the whole stack up and returns once Crossplane is ready. On
// error, everything already started is stopped again.
func Start(ctx context.Context, cfg Config) (s *Stack, err error) {
	for name, bin := range map[string]string{"etcd": cfg.Etcd, "kube-apiserver": cfg.KubeAPIServer, "kube-controller-manager": cfg.KubeControllerManager, "crossplane": cfg.Crossplane} {
		if _, statErr := os.Stat(bin); statErr != nil {
			return nil, fmt.Errorf("%s binary %q is missing (build it with `make e2e-tools`): %w", name, bin, statErr)
		}
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s = &Stack{cfg: cfg, LogDir: filepath.Join(cfg.WorkDir, "logs"), memory: newMemoryMonitor(memorySampleInterval)}
	s.memory.add(selfProcess("e2e.test"))
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()

	ctx, cancel := context.WithTimeout(ctx, startupDeadline)
	defer cancel()

	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"certificates", s.writeCertificates},
		{"etcd", s.startEtcd},
		{"kube-apiserver", s.startAPIServer},
		{"kube-controller-manager", s.startControllerManager},
		{"crossplane core init", s.initCrossplane},
		{"crossplane core start", s.startCrossplane},
	}
	for _, step := range steps {
		began := time.Now()
		if err := step.run(ctx); err != nil {
			return s, fmt.Errorf("cannot start the stack: %s: %w", step.name, err)
		}
		s.StartupTimings = append(s.StartupTimings, Timing{Step: step.name, Duration: time.Since(began)})
		cfg.Logf("stack: %s ready after %s", step.name, time.Since(began).Round(10*time.Millisecond))
	}
	return s, nil
}

// StartProcess starts another process that belongs to the stack (e.g. the
// composition function): it is memory-sampled and stopped with the stack.
func (s *Stack) StartProcess(name, bin string, args, env []string) (*Process, error) {
	p, err := StartProcess(s.LogDir, name, bin, args, env)
	if err != nil {
		return nil, err
	}
	s.processes = append(s.processes, p)
	s.memory.add(p)
	return p, nil
}

// Stop stops every process, last started first, and returns their memory use.
// It is safe to call more than once.
func (s *Stack) Stop() MemoryReport {
	for _, p := range slices.Backward(s.processes) {
		p.Stop(stopGrace)
	}
	s.memory.close()
	return s.memory.report()
}

// Memory reports the memory use so far.
func (s *Stack) Memory() MemoryReport { return s.memory.report() }

// CheckRunning returns an error naming every stack process that has exited.
func (s *Stack) CheckRunning() error {
	var errs []error
	for _, p := range s.processes {
		if err := p.Exited(); err != nil {
			errs = append(errs, fmt.Errorf("%w; last log lines:\n%s", err, p.TailLog(20)))
		}
	}
	return errors.Join(errs...)
}

func (s *Stack) path(parts ...string) string {
	return filepath.Join(append([]string{s.cfg.WorkDir}, parts...)...)
}

func (s *Stack) writeCertificates(context.Context) error {
	ca, err := NewCA("e2e-stack-ca")
	if err != nil {
		return err
	}
	s.CA = ca
	loopback := []net.IP{net.IPv4(127, 0, 0, 1)}
	pki := s.path("pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return fmt.Errorf("cannot create certificate folder: %w", err)
	}

	serving, err := ca.Issue(CertRequest{CommonName: "kube-apiserver", IPs: loopback, DNSNames: []string{"localhost"}, Server: true})
	if err != nil {
		return err
	}
	admin, err := ca.Issue(CertRequest{CommonName: "e2e-admin", Organizations: []string{"system:masters"}, Client: true})
	if err != nil {
		return err
	}
	crossplane, err := ca.Issue(CertRequest{CommonName: "crossplane", Client: true})
	if err != nil {
		return err
	}
	saKey, saPub, err := newServiceAccountKey()
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"ca.crt":      ca.CertPEM,
		"serving.crt": serving.CertPEM,
		"serving.key": serving.KeyPEM,
		"sa.key":      saKey,
		"sa.pub":      saPub,
		"admin.crt":   admin.CertPEM,
		"admin.key":   admin.KeyPEM,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(pki, name), data, 0o600); err != nil {
			return fmt.Errorf("cannot write %s: %w", name, err)
		}
	}
	s.CrossplaneTLSDir = s.path("crossplane", "tls-client")
	if err := ca.WriteTLSDir(s.CrossplaneTLSDir, crossplane); err != nil {
		return err
	}

	s.RESTConfig = &rest.Config{
		Host: "https://127.0.0.1:" + apiServerPort,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   ca.CertPEM,
			CertData: admin.CertPEM,
			KeyData:  admin.KeyPEM,
		},
		// The tests and the provider simulator are the only clients besides
		// Crossplane; do not let client-side throttling skew the timings.
		QPS:   200,
		Burst: 400,
	}
	s.KubeconfigPath = s.path("kubeconfig")
	kubeconfig := clientcmdapi.NewConfig()
	kubeconfig.Clusters["e2e"] = &clientcmdapi.Cluster{Server: s.RESTConfig.Host, CertificateAuthorityData: ca.CertPEM}
	kubeconfig.AuthInfos["e2e-admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: admin.CertPEM, ClientKeyData: admin.KeyPEM}
	kubeconfig.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "e2e-admin"}
	kubeconfig.CurrentContext = "e2e"
	if err := clientcmd.WriteToFile(*kubeconfig, s.KubeconfigPath); err != nil {
		return fmt.Errorf("cannot write kubeconfig: %w", err)
	}
	return nil
}

func (s *Stack) startEtcd(ctx context.Context) error {
	p, err := s.StartProcess("etcd", s.cfg.Etcd, []string{
		"--name=e2e",
		"--data-dir=" + s.path("etcd"),
		"--listen-client-urls=" + etcdClientURL,
		"--advertise-client-urls=" + etcdClientURL,
		"--listen-peer-urls=" + etcdPeerURL,
		"--initial-advertise-peer-urls=" + etcdPeerURL,
		"--initial-cluster=e2e=" + etcdPeerURL,
		// The data is thrown away after the run; fsync only costs time.
		"--unsafe-no-fsync",
		"--log-level=warn",
	}, nil)
	if err != nil {
		return err
	}
	return poll(ctx, p, func(ctx context.Context) error {
		return httpGetOK(ctx, http.DefaultClient, etcdClientURL+"/health")
	})
}

func (s *Stack) startAPIServer(ctx context.Context) error {
	pki := s.path("pki")
	p, err := s.StartProcess("kube-apiserver", s.cfg.KubeAPIServer, []string{
		"--etcd-servers=" + etcdClientURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + apiServerPort,
		"--tls-cert-file=" + filepath.Join(pki, "serving.crt"),
		"--tls-private-key-file=" + filepath.Join(pki, "serving.key"),
		"--client-ca-file=" + filepath.Join(pki, "ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + filepath.Join(pki, "sa.pub"),
		"--service-account-signing-key-file=" + filepath.Join(pki, "sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=RBAC",
		// No token controller runs, so pods' service accounts would never
		// get tokens; nothing here runs pods.
		"--disable-admission-plugins=ServiceAccount",
		// Saves CPU on a small machine; fairness between clients is not
		// what these tests look at.
		"--enable-priority-and-fairness=false",
	}, nil)
	if err != nil {
		return err
	}
	rc := rest.CopyConfig(s.RESTConfig)
	httpClient, err := rest.HTTPClientFor(rc)
	if err != nil {
		return fmt.Errorf("cannot build API server client: %w", err)
	}
	return poll(ctx, p, func(ctx context.Context) error {
		return httpGetOK(ctx, httpClient, rc.Host+"/readyz")
	})
}

func (s *Stack) startControllerManager(ctx context.Context) error {
	pki := s.path("pki")
	p, err := s.StartProcess("kube-controller-manager", s.cfg.KubeControllerManager, []string{
		"--kubeconfig=" + s.KubeconfigPath,
		"--authentication-kubeconfig=" + s.KubeconfigPath,
		"--authorization-kubeconfig=" + s.KubeconfigPath,
		// Crossplane relies on the garbage collector to delete composed
		// resources with their XR; the namespace controller empties deleted
		// namespaces. Nothing else is needed without nodes or pods.
		"--controllers=garbagecollector,namespace",
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=" + controllerManagerPort,
		"--tls-cert-file=" + filepath.Join(pki, "serving.crt"),
		"--tls-private-key-file=" + filepath.Join(pki, "serving.key"),
	}, nil)
	if err != nil {
		return err
	}
	client, err := caHTTPClient(s.CA.CertPEM)
	if err != nil {
		return err
	}
	return poll(ctx, p, func(ctx context.Context) error {
		return httpGetOK(ctx, client, "https://127.0.0.1:"+controllerManagerPort+"/healthz")
	})
}

func (s *Stack) crossplaneEnv() []string {
	return []string{
		"KUBECONFIG=" + s.KubeconfigPath,
		"POD_NAMESPACE=" + crossplaneNamespace,
		"ENABLE_WEBHOOKS=false",
		"METRICS_PORT=" + crossplaneMetricsPort,
		"HEALTH_PROBE_PORT=" + crossplaneHealthPort,
	}
}

func (s *Stack) initCrossplane(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(s.RESTConfig)
	if err != nil {
		return fmt.Errorf("cannot build clientset: %w", err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: crossplaneNamespace}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !kerrors.IsAlreadyExists(err) {
		return fmt.Errorf("cannot create namespace %s: %w", crossplaneNamespace, err)
	}

	logPath := filepath.Join(s.LogDir, "crossplane-init.log")
	var lastErr error
	// init applies the core CRDs and then immediately uses them; the first
	// attempts can lose that race, so retry.
	for attempt := 1; attempt <= crossplaneInitAttempts; attempt++ {
		lastErr = runLogged(ctx, logPath, s.cfg.Crossplane, []string{"core", "init"},
			append(s.crossplaneEnv(),
				"CRDS_PATH="+s.cfg.CrossplaneCRDs,
				// init insists on generating Crossplane's own CA and client
				// certificate into Secrets; nothing here reads them (the
				// stack's CA signs what Crossplane and functions use).
				"TLS_CA_SECRET_NAME=crossplane-root-ca",
				"TLS_CLIENT_SECRET_NAME=crossplane-tls-client",
			))
		if lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last attempt: %w)", ctx.Err(), lastErr)
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("crossplane core init failed %d times, last: %w (log: %s)", crossplaneInitAttempts, lastErr, logPath)
}

func (s *Stack) startCrossplane(ctx context.Context) error {
	cacheDir := s.path("crossplane", "xpkg-cache")
	// Without an existing cache folder every package pull fails with
	// "read/write on closed pipe".
	if err := os.MkdirAll(cacheDir, 0o750); err != nil {
		return fmt.Errorf("cannot create package cache: %w", err)
	}
	args := []string{"core", "start"}
	if s.cfg.CrossplaneDebug {
		args = append([]string{"--debug"}, args...)
	}
	p, err := s.StartProcess("crossplane", s.cfg.Crossplane, args, append(s.crossplaneEnv(),
		// No pods here: Crossplane must not try to deploy package runtimes;
		// the tests run the function themselves.
		"PACKAGE_RUNTIME=External",
		"TLS_CLIENT_CERTS_DIR="+s.CrossplaneTLSDir,
		"XPKG_CACHE_DIR="+cacheDir,
	))
	if err != nil {
		return err
	}
	return poll(ctx, p, func(ctx context.Context) error {
		return httpGetOK(ctx, http.DefaultClient, crossplaneHealthURL)
	})
}

// runLogged runs a short-lived command to completion, appending its output to
// logPath.
func runLogged(ctx context.Context, logPath, bin string, args, env []string) error {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o750); err != nil {
		return fmt.Errorf("cannot create log folder: %w", err)
	}
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600) //nolint:gosec // the test's own log folder
	if err != nil {
		return fmt.Errorf("cannot open log %s: %w", logPath, err)
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, bin, args...) //nolint:gosec // binaries and arguments come from the test itself
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", filepath.Base(bin), strings.Join(args, " "), err)
	}
	return nil
}

// poll calls check until it succeeds, the process exits or ctx ends.
func poll(ctx context.Context, p *Process, check func(context.Context) error) error {
	var lastErr error
	for {
		if err := p.Exited(); err != nil {
			return fmt.Errorf("%w; last log lines:\n%s", err, p.TailLog(30))
		}
		attemptCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		lastErr = check(attemptCtx)
		cancel()
		if lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last check: %w; log: %s)", p.Name, ctx.Err(), lastErr, p.LogPath)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
