package ocibuild

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64"}
)

func testSpec() ImageSpec {
	return ImageSpec{
		Name:         "test-fn",
		Version:      "v1.2.3",
		BinaryPath:   "/usr/local/bin/fn",
		ExposedPorts: []string{"9443/tcp"},
		Labels:       map[string]string{"org.opencontainers.image.source": "https://example.org/src"},
	}
}

// writeFile writes content to a new file in the test's temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func fileDigest(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

func TestParsePlatformBinary(t *testing.T) {
	cases := map[string]struct {
		in      string
		want    PlatformBinary
		wantErr bool
	}{
		"OSArch":        {in: "linux/arm64=_output/fn/arm64/function", want: PlatformBinary{Platform: arm64, Path: "_output/fn/arm64/function"}},
		"Variant":       {in: "linux/arm/v7=bin", want: PlatformBinary{Platform: v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, Path: "bin"}},
		"NoPath":        {in: "linux/amd64=", wantErr: true},
		"NoEquals":      {in: "linux/amd64", wantErr: true},
		"NoArch":        {in: "linux=bin", wantErr: true},
		"EqualsInPath":  {in: "linux/amd64=a=b", want: PlatformBinary{Platform: amd64, Path: "a=b"}},
		"EmptyPlatform": {in: "=bin", wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParsePlatformBinary(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParsePlatformBinary(%q) error = %v, want error %t", tc.in, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParsePlatformBinary(%q): -want +got:\n%s", tc.in, diff)
			}
		})
	}
}

func TestBuildImageConfig(t *testing.T) {
	bin := PlatformBinary{Platform: arm64, Path: writeFile(t, "fn", "binary")}
	cases := map[string]struct {
		spec       ImageSpec
		wantConfig v1.Config
		wantErr    bool
	}{
		"Defaults": {
			spec: testSpec(),
			wantConfig: v1.Config{
				Entrypoint:   []string{"/usr/local/bin/fn"},
				User:         "65532:65532",
				WorkingDir:   "/",
				ExposedPorts: map[string]struct{}{"9443/tcp": {}},
				Labels: map[string]string{
					"org.opencontainers.image.source":  "https://example.org/src",
					"org.opencontainers.image.version": "v1.2.3",
				},
			},
		},
		"ExplicitEntrypointUserEnv": {
			spec: ImageSpec{Name: "x", BinaryPath: "/bootstrap", Entrypoint: []string{"/bootstrap", "--flag"}, User: "1000:1000", Env: []string{"A=b"}},
			wantConfig: v1.Config{
				Entrypoint: []string{"/bootstrap", "--flag"},
				User:       "1000:1000",
				Env:        []string{"A=b"},
				WorkingDir: "/",
				Labels:     map[string]string{},
			},
		},
		"RelativeBinaryPath": {spec: ImageSpec{Name: "x", BinaryPath: "fn"}, wantErr: true},
		"RootBinaryPath":     {spec: ImageSpec{Name: "x", BinaryPath: "/"}, wantErr: true},
		"UncleanBinaryPath":  {spec: ImageSpec{Name: "x", BinaryPath: "/a/../fn"}, wantErr: true},
		"NoName":             {spec: ImageSpec{BinaryPath: "/fn"}, wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			img, err := BuildImage(tc.spec, bin)
			if (err != nil) != tc.wantErr {
				t.Fatalf("BuildImage() error = %v, want error %t", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			cfg, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantConfig, cfg.Config); diff != "" {
				t.Errorf("config: -want +got:\n%s", diff)
			}
			gotPlatform := v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture}
			if diff := cmp.Diff(arm64, gotPlatform); diff != "" {
				t.Errorf("platform: -want +got:\n%s", diff)
			}
			if !cfg.Created.Equal(Epoch) {
				t.Errorf("created = %v, want the fixed epoch %v", cfg.Created, Epoch)
			}
			mt, err := img.MediaType()
			if err != nil {
				t.Fatal(err)
			}
			if mt != types.OCIManifestSchema1 {
				t.Errorf("media type = %s, want %s", mt, types.OCIManifestSchema1)
			}
		})
	}
}

// tarEntry is what a test checks of a layer's entry.
type tarEntry struct {
	Name     string
	Mode     int64
	UID, GID int
	ModTime  int64
	Content  string
}

func layerEntries(t *testing.T, l v1.Layer) []tarEntry {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	tr := tar.NewReader(rc)
	var got []tarEntry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tarEntry{Name: h.Name, Mode: h.Mode, UID: h.Uid, GID: h.Gid, ModTime: h.ModTime.Unix(), Content: string(b)})
	}
}

func TestBuildImageLayers(t *testing.T) {
	bin := PlatformBinary{Platform: amd64, Path: writeFile(t, "fn", "the binary")}
	img, err := BuildImage(testSpec(), bin)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]tarEntry{
		{
			{Name: "etc/", Mode: 0o755},
			{Name: "etc/group", Mode: 0o644, Content: "root:x:0:\nnonroot:x:65532:\n"},
			{Name: "etc/passwd", Mode: 0o644, Content: "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"},
			{Name: "home/", Mode: 0o755},
			{Name: "home/nonroot/", Mode: 0o700, UID: 65532, GID: 65532},
			{Name: "tmp/", Mode: 0o1777},
		},
		{
			{Name: "usr/", Mode: 0o755},
			{Name: "usr/local/", Mode: 0o755},
			{Name: "usr/local/bin/", Mode: 0o755},
			{Name: "usr/local/bin/fn", Mode: 0o755, Content: "the binary"},
		},
	}
	got := make([][]tarEntry, 0, len(layers))
	for _, l := range layers {
		mt, err := l.MediaType()
		if err != nil {
			t.Fatal(err)
		}
		if mt != types.OCILayer {
			t.Errorf("layer media type = %s, want %s", mt, types.OCILayer)
		}
		got = append(got, layerEntries(t, l))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layers: -want +got:\n%s", diff)
	}
}

// TestBuildReproducible builds the same multi-platform image twice and
// compares digests and the bytes of every artifact written; a different
// binary must change the digest, or the comparison proves nothing.
func TestBuildReproducible(t *testing.T) {
	bins := []PlatformBinary{
		{Platform: amd64, Path: writeFile(t, "fn-amd64", "amd64 binary")},
		{Platform: arm64, Path: writeFile(t, "fn-arm64", "arm64 binary")},
	}
	type artifacts struct {
		IndexDigest   string
		ImageDigests  []string
		OCIArchive    string
		ImageTarballs []string
	}
	build := func(bins []PlatformBinary) artifacts {
		t.Helper()
		idx, images, err := BuildIndex(testSpec(), bins)
		if err != nil {
			t.Fatal(err)
		}
		d, err := idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		a := artifacts{IndexDigest: d.String()}
		archive := filepath.Join(dir, "image.oci.tar")
		if err := WriteOCIArchive(archive, idx, "v1.2.3"); err != nil {
			t.Fatal(err)
		}
		a.OCIArchive = fileDigest(t, archive)
		for i, img := range images {
			d, err := img.Digest()
			if err != nil {
				t.Fatal(err)
			}
			a.ImageDigests = append(a.ImageDigests, d.String())
			tb := filepath.Join(dir, fmt.Sprintf("image-%d.tar", i))
			if err := WriteImageTarball(tb, img, "test-fn:v1.2.3"); err != nil {
				t.Fatal(err)
			}
			a.ImageTarballs = append(a.ImageTarballs, fileDigest(t, tb))
		}
		return a
	}

	first, second := build(bins), build(bins)
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("two builds from the same inputs differ: -first +second:\n%s", diff)
	}

	changed := build([]PlatformBinary{bins[0], {Platform: arm64, Path: writeFile(t, "fn-arm64", "another arm64 binary")}})
	if changed.IndexDigest == first.IndexDigest {
		t.Errorf("a different arm64 binary gave the same index digest %s", first.IndexDigest)
	}
	if changed.ImageDigests[0] != first.ImageDigests[0] {
		t.Errorf("the amd64 image changed (%s, was %s) though its binary did not", changed.ImageDigests[0], first.ImageDigests[0])
	}
}

func TestBuildIndexPlatforms(t *testing.T) {
	bins := []PlatformBinary{
		{Platform: amd64, Path: writeFile(t, "a", "a")},
		{Platform: arm64, Path: writeFile(t, "b", "b")},
	}
	idx, _, err := BuildIndex(testSpec(), bins)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range m.Manifests {
		got = append(got, d.Platform.String())
	}
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, got); diff != "" {
		t.Errorf("index platforms: -want +got:\n%s", diff)
	}
	wantAnnotations := map[string]string{
		"org.opencontainers.image.source":  "https://example.org/src",
		"org.opencontainers.image.version": "v1.2.3",
	}
	if diff := cmp.Diff(wantAnnotations, m.Annotations); diff != "" {
		t.Errorf("index annotations: -want +got:\n%s", diff)
	}

	if _, _, err := BuildIndex(testSpec(), []PlatformBinary{bins[0], bins[0]}); err == nil {
		t.Error("BuildIndex accepted two binaries for one platform")
	}
	if _, _, err := BuildIndex(testSpec(), nil); err == nil {
		t.Error("BuildIndex accepted no binaries")
	}
	if _, _, err := BuildIndex(testSpec(), []PlatformBinary{{Platform: amd64, Path: filepath.Join(t.TempDir(), "missing")}}); err == nil {
		t.Error("BuildIndex accepted a missing binary")
	}
}

func TestOCIArchiveRoundTrip(t *testing.T) {
	bins := []PlatformBinary{
		{Platform: amd64, Path: writeFile(t, "a", "a")},
		{Platform: arm64, Path: writeFile(t, "b", "b")},
	}
	idx, _, err := BuildIndex(testSpec(), bins)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "image.oci.tar")
	if err := WriteOCIArchive(archive, idx, "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	back, err := ReadOCIArchive(archive, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	got, err := back.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("read back index digest %s, wrote %s", got, want)
	}

	if _, err := ReadOCIArchive(writeFile(t, "not.tar", "not a tar"), t.TempDir()); err == nil {
		t.Error("ReadOCIArchive accepted a file that is not a tar")
	}
}

func TestImageTarballRoundTrip(t *testing.T) {
	img, err := BuildImage(testSpec(), PlatformBinary{Platform: arm64, Path: writeFile(t, "fn", "x")})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := WriteImageTarball(p, img, "test-fn:v1.2.3"); err != nil {
		t.Fatal(err)
	}
	// This is how `crossplane xpkg build --embed-runtime-image-tarball`
	// reads it.
	back, err := tarball.ImageFromPath(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantCfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	gotCfg, err := back.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantCfg, gotCfg); diff != "" {
		t.Errorf("config read back: -want +got:\n%s", diff)
	}
	if err := WriteImageTarball(p, img, "Not A Tag!"); err == nil {
		t.Error("WriteImageTarball accepted an invalid tag")
	}
}
