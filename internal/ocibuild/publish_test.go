package ocibuild

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// startRegistry serves an in-memory registry on 127.0.0.1 for the test and
// returns its host:port.
func startRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// fakePackage writes a .xpkg the way `crossplane xpkg build
// --embed-runtime-image-tarball` does: the runtime image plus a layer holding
// package.yaml, recorded in a config label.
func fakePackage(t *testing.T, runtime v1.Image) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	yaml := []byte("apiVersion: meta.pkg.crossplane.io/v1beta1\nkind: Function\nmetadata:\n  name: test-fn\n")
	if err := tw.WriteHeader(&tar.Header{Name: "package.yaml", Mode: 0o644, Size: int64(len(yaml))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(yaml); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
	if err != nil {
		t.Fatal(err)
	}
	d, err := layer.Digest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(runtime, layer)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Config.Labels["io.crossplane.xpkg:"+d.String()] = "base"
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "fn.xpkg")
	if err := tarball.WriteToFile(p, name.MustParseReference("test-fn:v1.2.3"), img); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustRef(t *testing.T, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPublishAndPullBack(t *testing.T) {
	host := startRegistry(t)
	ctx := t.Context()
	p := NewPublisher()

	idx, images, err := BuildIndex(testSpec(), []PlatformBinary{
		{Platform: amd64, Path: writeFile(t, "a", "amd64")},
		{Platform: arm64, Path: writeFile(t, "b", "arm64")},
	})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Index", func(t *testing.T) {
		// Push what the build wrote to disk, as `make publish` does.
		archive := filepath.Join(t.TempDir(), "image.oci.tar")
		if err := WriteOCIArchive(archive, idx, "v1.2.3"); err != nil {
			t.Fatal(err)
		}
		fromDisk, err := ReadOCIArchive(archive, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		pushed, err := p.PushIndex(ctx, fromDisk, host+"/test/fn:v1.2.3")
		if err != nil {
			t.Fatal(err)
		}
		pulled, err := remote.Index(mustRef(t, host+"/test/fn:v1.2.3"), remote.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := idx.Digest()
		got, _ := pulled.Digest()
		if diff := cmp.Diff([]string{want.String(), want.String()}, []string{pushed.String(), got.String()}); diff != "" {
			t.Errorf("index digests (pushed, pulled): -want +got:\n%s", diff)
		}
		// Pull each platform's image back by platform, as a node would.
		for i, platform := range []v1.Platform{amd64, arm64} {
			img, err := remote.Image(mustRef(t, host+"/test/fn:v1.2.3"), remote.WithContext(ctx), remote.WithPlatform(platform))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := img.Digest()
			want, _ := images[i].Digest()
			if got != want {
				t.Errorf("%s image pulled back as %s, built as %s", platform.String(), got, want)
			}
		}
	})

	t.Run("Image", func(t *testing.T) {
		tb := filepath.Join(t.TempDir(), "image.tar")
		if err := WriteImageTarball(tb, images[0], "test-fn:v1.2.3"); err != nil {
			t.Fatal(err)
		}
		img, err := tarball.ImageFromPath(tb, nil)
		if err != nil {
			t.Fatal(err)
		}
		pushed, err := p.PushImage(ctx, img, host+"/test/deployer:v1.2.3")
		if err != nil {
			t.Fatal(err)
		}
		pulled, err := remote.Image(mustRef(t, host+"/test/deployer:v1.2.3"), remote.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := pulled.Digest()
		if got != pushed {
			t.Errorf("pulled %s, pushed %s", got, pushed)
		}
		cfg, err := pulled.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Config.User != NonRootUser || cfg.Architecture != "amd64" {
			t.Errorf("pulled image runs as %q on %s, want %q on amd64", cfg.Config.User, cfg.Architecture, NonRootUser)
		}
	})

	t.Run("Packages", func(t *testing.T) {
		files := []string{fakePackage(t, images[0]), fakePackage(t, images[1])}
		pushed, err := p.PushPackages(ctx, files, host+"/test/fn-pkg:v1.2.3")
		if err != nil {
			t.Fatal(err)
		}
		pulled, err := remote.Index(mustRef(t, host+"/test/fn-pkg:v1.2.3"), remote.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := pulled.Digest()
		if got != pushed {
			t.Errorf("pulled index %s, pushed %s", got, pushed)
		}
		m, err := pulled.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		var platforms []string
		for _, d := range m.Manifests {
			platforms = append(platforms, d.Platform.String())
			img, err := pulled.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			manifest, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			// The package manager finds package.yaml by this annotation.
			last := manifest.Layers[len(manifest.Layers)-1]
			if last.Annotations["io.crossplane.xpkg"] != "base" {
				t.Errorf("%s: package layer annotations %v, want io.crossplane.xpkg=base", d.Platform.String(), last.Annotations)
			}
		}
		if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, platforms); diff != "" {
			t.Errorf("package index platforms: -want +got:\n%s", diff)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		if _, err := p.PushPackages(ctx, nil, host+"/test/x:v1"); err == nil {
			t.Error("PushPackages accepted no files")
		}
		if _, err := p.PushPackages(ctx, []string{writeFile(t, "bad.xpkg", "nope")}, host+"/test/x:v1"); err == nil {
			t.Error("PushPackages accepted a file that is not a package")
		}
		if _, err := p.PushImage(ctx, images[0], "no tag here"); err == nil {
			t.Error("PushImage accepted an invalid reference")
		}
	})
}
