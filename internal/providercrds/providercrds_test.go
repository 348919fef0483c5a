package providercrds

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLocateInAFreshModuleCache checks that the provider's CRDs are found
// on a machine whose module cache has never held the provider module: no
// package of it is imported, so no build downloads it. The fresh cache is
// filled from this machine's (as a file proxy), so the test needs no
// network (and the go command running the test, not a toolchain it would
// download into the fresh cache).
func TestLocateInAFreshModuleCache(t *testing.T) {
	here, err := Locate()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	proxy := filepath.Join(strings.TrimSpace(string(out)), "cache", "download")
	fresh := t.TempDir()
	got, err := Locate("GOTOOLCHAIN=local", "GOMODCACHE="+fresh, "GOPROXY=file://"+filepath.ToSlash(proxy), "GOFLAGS=-modcacherw")
	if err != nil {
		t.Fatalf("Locate() in a fresh module cache: %v", err)
	}
	if !strings.HasPrefix(got.Dir, fresh) || got.Version != here.Version {
		t.Errorf("Locate() in a fresh module cache = %+v, want %s at %s", got, Module, here.Version)
	}
	if _, err := os.Stat(filepath.Join(got.Dir, "package", "crds", "s3.aws.upbound.io_buckets.yaml")); err != nil {
		t.Errorf("the fresh module cache has no CRDs: %v", err)
	}
}
