package ocibuild

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/go-cmp/cmp"
)

// buildHello builds a tiny static Go program for linux/amd64, so that the
// SBOM is read from real Go build information.
func buildHello(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  "module example.org/hello\n\ngo 1.26\n",
		"main.go": "package main\n\nfunc main() { println(\"hello\") }\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "hello")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

func TestSBOM(t *testing.T) {
	bin := PlatformBinary{Platform: amd64, Path: buildHello(t)}
	img, err := BuildImage(testSpec(), bin)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}

	encode := func() []byte {
		t.Helper()
		bom, err := SBOM(testSpec(), bin, img)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteSBOM(&buf, bom); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	first := encode()
	if diff := cmp.Diff(string(first), string(encode())); diff != "" {
		t.Errorf("two SBOMs of the same image differ: -first +second:\n%s", diff)
	}

	var bom cdx.BOM
	if err := json.Unmarshal(first, &bom); err != nil {
		t.Fatalf("the SBOM is not JSON: %v", err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion != SBOMSpecVersion {
		t.Errorf("format %s %s, want CycloneDX %s", bom.BOMFormat, bom.SpecVersion, SBOMSpecVersion)
	}
	if !strings.HasPrefix(bom.SerialNumber, "urn:uuid:") {
		t.Errorf("serial number %q is not a UUID URN", bom.SerialNumber)
	}
	image := bom.Metadata.Component
	wantImage := struct{ Type, Name, Version, PURL string }{
		Type: "container", Name: "test-fn", Version: "v1.2.3",
		PURL: "pkg:oci/test-fn@sha256%3A" + digest.Hex + "?arch=amd64&os=linux",
	}
	gotImage := struct{ Type, Name, Version, PURL string }{string(image.Type), image.Name, image.Version, image.PackageURL}
	if diff := cmp.Diff(wantImage, gotImage); diff != "" {
		t.Errorf("image component: -want +got:\n%s", diff)
	}

	type component struct{ Type, Name, Version, PURL string }
	var got []component
	for _, c := range *bom.Components {
		got = append(got, component{string(c.Type), c.Name, c.Version, c.PackageURL})
	}
	want := []component{
		{"application", "example.org/hello", "v1.2.3", "pkg:golang/example.org/hello@v1.2.3"},
		{"library", "stdlib", runtime.Version(), "pkg:golang/stdlib@" + runtime.Version()},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("components: -want +got:\n%s", diff)
	}

	if _, err := SBOM(testSpec(), PlatformBinary{Platform: amd64, Path: writeFile(t, "not-go", "not a Go binary")}, img); err == nil {
		t.Error("SBOM accepted a file without Go build information")
	}
}

func TestGoPURL(t *testing.T) {
	cases := map[string]struct{ module, version, want string }{
		"Plain":        {"golang.org/x/net", "v0.50.0", "pkg:golang/golang.org/x/net@v0.50.0"},
		"Uppercase":    {"github.com/CycloneDX/cyclonedx-go", "v0.12.0", "pkg:golang/github.com/CycloneDX/cyclonedx-go@v0.12.0"},
		"Incompatible": {"github.com/docker/cli", "v29.7.2+incompatible", "pkg:golang/github.com/docker/cli@v29.7.2+incompatible"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := goPURL(tc.module, tc.version); got != tc.want {
				t.Errorf("goPURL(%q, %q) = %q, want %q", tc.module, tc.version, got, tc.want)
			}
		})
	}
}
