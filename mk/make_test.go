// Package mk holds the tests of the Makefile and its mk/*.mk files.
package mk

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/testhelp"
)

// dryRun is what `make -n <targets>` would run in a clone without ./bin,
// .cache and _output: ROOT (under which the Makefile puts all three) is an
// empty directory.
func dryRun(t *testing.T, targets ...string) (string, string) {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not on PATH")
	}
	root := t.TempDir()
	args := append([]string{"-n", "-C", testhelp.RepoRoot(t), "ROOT=" + root}, targets...)
	out, err := exec.Command("make", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), root
}

// TestCleanCloneBuildsItsTools: each target builds the pinned tools it runs
// when they are missing. A tool's path that is empty where a rule names it
// as a prerequisite (a makefile defining it included after the one using
// it) makes the target run a tool that was never built.
func TestCleanCloneBuildsItsTools(t *testing.T) {
	// Paths under ROOT, as filepath.Match patterns: the e2e control plane's
	// directories are named by the versions tools/*/go.mod pin.
	cases := map[string][]string{
		"test":         {"bin/crossplane", "bin/crossplane-core", "bin/aws-lambda-rie"},
		"render":       {"bin/crossplane", "bin/crossplane-core"},
		"lint":         {"bin/golangci-lint"},
		"vuln":         {"bin/govulncheck", "bin/indexdb"},
		"mutation":     {"bin/gremlins", "bin/aws-lambda-rie"},
		"package-test": {"bin/crossplane"},
		"e2e-tools": {
			".cache/e2e/etcd-v*/etcd", ".cache/e2e/kubernetes-v*/kube-apiserver",
			".cache/e2e/kubernetes-v*/kube-controller-manager", "bin/crossplane-core",
		},
	}
	for target, tools := range cases {
		t.Run(target, func(t *testing.T) {
			out, root := dryRun(t, target)
			var built []string
			for _, m := range goBuild.FindAllStringSubmatch(out, -1) {
				built = append(built, m[2])
			}
			for _, tool := range tools {
				found := false
				for _, path := range built {
					if ok, _ := filepath.Match(filepath.Join(root, tool), path); ok {
						found = true
					}
				}
				if !found {
					t.Errorf("make -n %s in a clean clone builds no %s (it builds %v):\n%s", target, tool, built, out)
				}
			}
		})
	}
}

// goBuild matches a go build command line and its output path.
var goBuild = regexp.MustCompile(`(?m)^(.*)\bgo build\b.* -o (\S+) (\S+)$`)

// TestOneBuildRuleForEveryBinary: every binary of this module is built by
// mk/golang.mk's rule into _output/bin/<os>_<arch>/, each once per make run,
// and only the pinned tools are built from tools/.
func TestOneBuildRuleForEveryBinary(t *testing.T) {
	out, root := dryRun(t, "render", "render-namespaced", "render-platform", "build", "check-reproducible", "perf-compare",
		"e2e", "mutation", "vuln", "lint")
	goBin := filepath.Join(root, "_output", "bin") + "/"
	lines := goBuild.FindAllStringSubmatch(out, -1)
	if len(lines) == 0 {
		t.Fatalf("no go build in make -n:\n%s", out)
	}
	built := map[string]bool{}
	for _, m := range lines {
		prefix, path, pkg := m[1], m[2], m[3]
		switch {
		case strings.HasPrefix(prefix, "cd tools/"):
			// A pinned tool (mk/tools.mk).
		case strings.HasPrefix(path, goBin):
			if built[path] {
				t.Errorf("%s is built twice", path)
			}
			built[path] = true
		default:
			t.Errorf("%s (%s) is built outside mk/golang.mk's rule: %s", path, pkg, m[0])
		}
	}
	for _, want := range []string{
		"linux_amd64/function", "linux_arm64/function", "linux_amd64/deployer", "linux_arm64/deployer",
	} {
		if !built[goBin+want] {
			t.Errorf("make build does not build %s%s; built: %v", goBin, want, built)
		}
	}
}

// TestHelpListsTheTargets: `make help` lists the targets the README, the
// docs and .ci/run name, so none is renamed or hidden unnoticed.
func TestHelpListsTheTargets(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not on PATH")
	}
	help, err := exec.Command("make", "-s", "-C", testhelp.RepoRoot(t), "help").Output()
	if err != nil {
		t.Fatalf("make help: %v", err)
	}
	listed := map[string]bool{}
	for line := range strings.SplitSeq(string(help), "\n") {
		if fields := strings.Fields(line); len(fields) > 0 {
			listed[fields[0]] = true
		}
	}
	for _, target := range []string{
		"render", "render-observed", "render-namespaced", "render-platform", "test", "lint", "vuln", "build",
		"package-test", "publish", "e2e", "e2e-tools", "bench", "perf-compare", "mutation", "generate", "tools",
	} {
		if !listed[target] {
			t.Errorf("make help does not list %s:\n%s", target, help)
		}
	}
}
