package providercrds

import (
	"archive/zip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeModule is a module with one CRD, as the provider's: on a file proxy
// the go command downloads it as it downloads the provider from the module
// proxy.
const (
	fakeModule  = "example.com/provider"
	fakeVersion = "v1.0.0"
	fakeCRD     = "package/crds/s3.aws.upbound.io_buckets.yaml"
)

// fileProxy writes a module proxy (the layout GOPROXY=file:// reads)
// serving fakeModule at fakeVersion, and returns its URL.
func fileProxy(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, fakeModule, "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mod := "module " + fakeModule + "\n"
	files := map[string]string{
		"list":                fakeVersion + "\n",
		fakeVersion + ".info": `{"Version":"` + fakeVersion + `"}`,
		fakeVersion + ".mod":  mod,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(dir, fakeVersion+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	z := zip.NewWriter(f)
	for name, content := range map[string]string{"go.mod": mod, fakeCRD: "kind: CustomResourceDefinition\n"} {
		w, err := z.Create(fakeModule + "@" + fakeVersion + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return "file://" + filepath.ToSlash(root)
}

// requiring writes a main module that requires fakeModule at version, and
// returns its directory.
func requiring(t *testing.T, version string) string {
	t.Helper()
	dir := t.TempDir()
	gomod := "module probe\n\ngo 1.21\n\nrequire " + fakeModule + " " + version + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLocateInAFreshModuleCache checks that locate finds a required module
// that no build has downloaded, as the provider module is on a machine with
// a fresh module cache (no package of it is imported), and that a module it
// cannot download is an error that says why. The go command is the one
// running the test (GOTOOLCHAIN=local), not a toolchain it would download
// into the fresh cache.
func TestLocateInAFreshModuleCache(t *testing.T) {
	goflags, err := exec.Command("go", "env", "GOFLAGS").Output()
	if err != nil {
		t.Fatal(err)
	}
	proxy := fileProxy(t)
	env := func(cache string) []string {
		return []string{
			"GOTOOLCHAIN=local", "GOMODCACHE=" + cache, "GOPROXY=" + proxy, "GONOSUMDB=" + fakeModule,
			"GOFLAGS=" + strings.TrimSpace(string(goflags)+" -modcacherw"),
		}
	}

	t.Run("Downloaded", func(t *testing.T) {
		cache := t.TempDir()
		got, err := locate(requiring(t, fakeVersion), fakeModule, env(cache)...)
		if err != nil {
			t.Fatalf("locate(): %v", err)
		}
		want := Location{Dir: filepath.Join(cache, fakeModule+"@"+fakeVersion), Version: fakeVersion}
		if got != want {
			t.Errorf("locate() = %+v, want %+v", got, want)
		}
		if _, err := os.Stat(filepath.Join(got.Dir, fakeCRD)); err != nil {
			t.Errorf("the module's CRD is not in the cache: %v", err)
		}
	})
	t.Run("NotServed", func(t *testing.T) {
		_, err := locate(requiring(t, "v1.0.1"), fakeModule, env(t.TempDir())...)
		if err == nil || !strings.Contains(err.Error(), "cannot download "+fakeModule) {
			t.Errorf("locate() of a version the proxy does not serve: error %v, want cannot download %s", err, fakeModule)
		}
	})
	t.Run("NoGoMod", func(t *testing.T) {
		_, err := locate(t.TempDir(), fakeModule, env(t.TempDir())...)
		if err == nil || !strings.Contains(err.Error(), "go.mod") {
			t.Errorf("locate() outside a module: error %v, want one naming go.mod (the go command's stderr)", err)
		}
	})
}
