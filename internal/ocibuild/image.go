package ocibuild

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// NonRootUser is the user and group that images run as: the "nonroot" user of
// the distroless images, so that the Dockerfile and the Go-built image agree.
const (
	NonRootUser = "65532:65532"
	nonRootID   = 65532
)

// Epoch is the creation time written into image configs and tar entries. A
// fixed time keeps digests independent of when the image was built; the
// Unix epoch is what ko and other reproducible builders use.
var Epoch = time.Unix(0, 0).UTC()

// ImageSpec describes an image to build around a static binary.
type ImageSpec struct {
	// Name of the image, used in SBOMs and tarball tags, e.g.
	// "crossplane-cicd-pipeline-fn".
	Name string
	// Version of the software in the image; it becomes the
	// org.opencontainers.image.version label.
	Version string
	// BinaryPath is where the binary is put in the image, e.g. /function.
	BinaryPath string
	// Entrypoint of the image. Defaults to the binary alone.
	Entrypoint []string
	// User the image runs as, "uid:gid". Defaults to NonRootUser.
	User string
	// Env is the image's environment, KEY=VALUE.
	Env []string
	// ExposedPorts such as "9443/tcp".
	ExposedPorts []string
	// Labels of the image config. The OCI version label is added.
	Labels map[string]string
}

// PlatformBinary is a static binary built for one platform.
type PlatformBinary struct {
	Platform v1.Platform
	// Path of the binary on disk.
	Path string
}

// ParsePlatformBinary parses "os/arch[/variant]=path".
func ParsePlatformBinary(s string) (PlatformBinary, error) {
	platform, file, ok := strings.Cut(s, "=")
	if !ok || file == "" {
		return PlatformBinary{}, fmt.Errorf("binary %q: want os/arch=path", s)
	}
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		return PlatformBinary{}, fmt.Errorf("binary %q: %w", s, err)
	}
	if p.OS == "" || p.Architecture == "" {
		return PlatformBinary{}, fmt.Errorf("binary %q: want os/arch=path", s)
	}
	return PlatformBinary{Platform: *p, Path: file}, nil
}

func (s ImageSpec) validate() error {
	if s.Name == "" {
		return fmt.Errorf("image spec: name is required")
	}
	if !path.IsAbs(s.BinaryPath) || path.Clean(s.BinaryPath) != s.BinaryPath || s.BinaryPath == "/" {
		return fmt.Errorf("image spec: binary path %q must be a clean absolute file path", s.BinaryPath)
	}
	return nil
}

// BuildImage builds a single-platform image holding the binary.
func BuildImage(spec ImageSpec, bin PlatformBinary) (v1.Image, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	binary, err := os.ReadFile(bin.Path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the %s binary: %w", bin.Platform.String(), err)
	}

	base, err := newLayer(rootFS())
	if err != nil {
		return nil, fmt.Errorf("cannot build the root filesystem layer: %w", err)
	}
	app, err := newLayer(binaryFS(spec.BinaryPath, binary))
	if err != nil {
		return nil, fmt.Errorf("cannot build the binary layer: %w", err)
	}

	cfg := &v1.ConfigFile{
		Created:      v1.Time{Time: Epoch},
		Architecture: bin.Platform.Architecture,
		OS:           bin.Platform.OS,
		OSVersion:    bin.Platform.OSVersion,
		Variant:      bin.Platform.Variant,
		Config:       imageConfig(spec),
		RootFS:       v1.RootFS{Type: "layers"},
	}

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot set the image config: %w", err)
	}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{
			Created:   v1.Time{Time: Epoch},
			CreatedBy: "ocibuild: root filesystem (nonroot user, /tmp)",
		}},
		mutate.Addendum{Layer: app, MediaType: types.OCILayer, History: v1.History{
			Created:   v1.Time{Time: Epoch},
			CreatedBy: "ocibuild: " + spec.BinaryPath,
		}},
	)
	if err != nil {
		return nil, fmt.Errorf("cannot add the layers: %w", err)
	}
	return img, nil
}

// BuildIndex builds one image per binary and a multi-platform index of them,
// in the order of the binaries given.
func BuildIndex(spec ImageSpec, bins []PlatformBinary) (v1.ImageIndex, []v1.Image, error) {
	if len(bins) == 0 {
		return nil, nil, fmt.Errorf("image %s: no binaries", spec.Name)
	}
	seen := map[string]bool{}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	images := make([]v1.Image, 0, len(bins))
	for _, b := range bins {
		if seen[b.Platform.String()] {
			return nil, nil, fmt.Errorf("image %s: two binaries for %s", spec.Name, b.Platform.String())
		}
		seen[b.Platform.String()] = true
		img, err := BuildImage(spec, b)
		if err != nil {
			return nil, nil, err
		}
		platform := b.Platform
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{MediaType: types.OCIManifestSchema1, Platform: &platform},
		})
		images = append(images, img)
	}
	annotated, ok := mutate.Annotations(idx, indexAnnotations(spec)).(v1.ImageIndex)
	if !ok {
		return nil, nil, fmt.Errorf("image %s: annotating the index did not return an index", spec.Name)
	}
	return annotated, images, nil
}

func imageConfig(spec ImageSpec) v1.Config {
	entrypoint := spec.Entrypoint
	if len(entrypoint) == 0 {
		entrypoint = []string{spec.BinaryPath}
	}
	user := spec.User
	if user == "" {
		user = NonRootUser
	}
	labels := map[string]string{}
	maps.Copy(labels, spec.Labels)
	if spec.Version != "" {
		labels["org.opencontainers.image.version"] = spec.Version
	}
	c := v1.Config{
		Entrypoint: entrypoint,
		User:       user,
		Env:        spec.Env,
		WorkingDir: "/",
		Labels:     labels,
	}
	if len(spec.ExposedPorts) > 0 {
		c.ExposedPorts = map[string]struct{}{}
		for _, p := range spec.ExposedPorts {
			c.ExposedPorts[p] = struct{}{}
		}
	}
	return c
}

func indexAnnotations(spec ImageSpec) map[string]string {
	a := map[string]string{}
	for _, k := range []string{"org.opencontainers.image.source", "org.opencontainers.image.revision", "org.opencontainers.image.licenses"} {
		if v, ok := spec.Labels[k]; ok {
			a[k] = v
		}
	}
	if spec.Version != "" {
		a["org.opencontainers.image.version"] = spec.Version
	}
	return a
}

// entry is one file or directory of a layer.
type entry struct {
	name     string
	mode     int64
	uid, gid int
	dir      bool
	content  []byte
}

// rootFS is the small filesystem the binary needs: the users of the
// distroless static image (so that tools resolving "nonroot" agree with the
// numeric user), the nonroot home directory and a sticky, world-writable
// /tmp.
func rootFS() []entry {
	return []entry{
		{name: "etc", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, content: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: "etc/passwd", mode: 0o644, content: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "home", mode: 0o755, dir: true},
		{name: "home/nonroot", mode: 0o700, dir: true, uid: nonRootID, gid: nonRootID},
		{name: "tmp", mode: 0o1777, dir: true},
	}
}

// binaryFS holds the binary, owned by root and not writable by the user
// the image runs as, with its parent directories.
func binaryFS(binaryPath string, binary []byte) []entry {
	rel := strings.TrimPrefix(binaryPath, "/")
	var entries []entry
	for dir := path.Dir(rel); dir != "."; dir = path.Dir(dir) {
		entries = append(entries, entry{name: dir, mode: 0o755, dir: true})
	}
	return append(entries, entry{name: rel, mode: 0o755, content: binary})
}

// newLayer writes the entries as a tar in sorted order with fixed metadata,
// and makes a gzip-compressed OCI layer of it.
func newLayer(entries []entry) (v1.Layer, error) {
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: Epoch,
			Format:  tar.FormatUSTAR,
		}
		if e.dir {
			h.Typeflag = tar.TypeDir
			h.Name += "/"
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.content))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("cannot write the tar header of %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.content); err != nil {
			return nil, fmt.Errorf("cannot write %s into the layer: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("cannot finish the layer: %w", err)
	}
	raw := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("cannot make a layer: %w", err)
	}
	return layer, nil
}
