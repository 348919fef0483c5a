package ocibuild

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// refNameAnnotation names an image in an OCI layout's index.json.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// WriteOCIArchive writes the index as an OCI image layout packed in a tar (an
// "oci-archive", as skopeo and buildah call it): index.json points at the
// multi-platform index, named by refName. The tar is reproducible: sorted
// entries, fixed times, owners and modes.
func WriteOCIArchive(file string, idx v1.ImageIndex, refName string) error {
	dir, err := os.MkdirTemp("", "oci-layout-")
	if err != nil {
		return fmt.Errorf("cannot create a scratch directory for the OCI layout: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()

	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("cannot start an OCI layout: %w", err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{refNameAnnotation: refName})); err != nil {
		return fmt.Errorf("cannot write the image index into the OCI layout: %w", err)
	}
	return tarDirectory(dir, file)
}

// ReadOCIArchive unpacks an archive written by WriteOCIArchive into dir and
// returns the multi-platform index it holds. The index reads its blobs from
// dir, so dir must outlive its use.
func ReadOCIArchive(file, dir string) (v1.ImageIndex, error) {
	if err := untar(file, dir); err != nil {
		return nil, err
	}
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("%s is not an OCI layout: %w", file, err)
	}
	m, err := top.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("cannot read the index.json of %s: %w", file, err)
	}
	if len(m.Manifests) != 1 || !m.Manifests[0].MediaType.IsIndex() {
		return nil, fmt.Errorf("%s: want index.json to name exactly one image index, it names %d manifests", file, len(m.Manifests))
	}
	idx, err := top.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		return nil, fmt.Errorf("cannot read the image index of %s: %w", file, err)
	}
	return idx, nil
}

// WriteImageTarball writes one image as a "docker save" style tarball, the
// form `crossplane xpkg build --embed-runtime-image-tarball` and
// `docker load` read. tag names the image inside the tarball.
func WriteImageTarball(file string, img v1.Image, tag string) error {
	t, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("invalid image tag %q: %w", tag, err)
	}
	if err := tarball.WriteToFile(file, t, img); err != nil {
		return fmt.Errorf("cannot write the image tarball %s: %w", file, err)
	}
	return nil
}

// tarDirectory packs dir into file with sorted entries and fixed metadata.
func tarDirectory(dir, file string) (err error) {
	var paths []string
	if err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			paths = append(paths, p)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("cannot list %s: %w", dir, err)
	}
	sort.Strings(paths)

	out, err := os.Create(file) //nolint:gosec // the output path is chosen by whoever runs the build.
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", file, err)
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("cannot close %s: %w", file, cerr)
		}
	}()
	tw := tar.NewWriter(out)
	for _, p := range paths {
		if err := addToTar(tw, dir, p); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("cannot finish %s: %w", file, err)
	}
	return nil
}

func addToTar(tw *tar.Writer, dir, p string) error {
	info, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("cannot stat %s: %w", p, err)
	}
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return fmt.Errorf("cannot make %s relative to %s: %w", p, dir, err)
	}
	h := &tar.Header{Name: filepath.ToSlash(rel), ModTime: Epoch, Format: tar.FormatPAX}
	switch {
	case info.IsDir():
		h.Typeflag, h.Name, h.Mode = tar.TypeDir, h.Name+"/", 0o755
	case info.Mode().IsRegular():
		h.Typeflag, h.Mode, h.Size = tar.TypeReg, 0o644, info.Size()
	default:
		return fmt.Errorf("%s: only files and directories belong in an OCI layout", p)
	}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("cannot write the tar header of %s: %w", rel, err)
	}
	if h.Typeflag != tar.TypeReg {
		return nil
	}
	f, err := os.Open(p) //nolint:gosec // p comes from walking our own scratch directory.
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", p, err)
	}
	defer func() { _ = f.Close() }()
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("cannot copy %s into the archive: %w", rel, err)
	}
	return nil
}

// untar unpacks files and directories of the tar into dir, refusing entries
// that would land outside it.
func untar(file, dir string) error {
	f, err := os.Open(file) //nolint:gosec // the archive path is chosen by whoever runs the tool.
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", file, err)
	}
	defer func() { _ = f.Close() }()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cannot read %s: %w", file, err)
		}
		target := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(target, filepath.Clean(dir)+string(filepath.Separator)) {
			return fmt.Errorf("%s: entry %q points outside the archive", file, h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o750); err != nil {
				return fmt.Errorf("cannot create %s: %w", target, err)
			}
		case tar.TypeReg:
			if err := writeFileFrom(target, tr); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: entry %q is neither a file nor a directory", file, h.Name)
		}
	}
}

func writeFileFrom(target string, r io.Reader) (err error) {
	if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
		return fmt.Errorf("cannot create %s: %w", filepath.Dir(target), err)
	}
	out, err := os.Create(target) //nolint:gosec // target was checked to stay inside the unpack directory.
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", target, err)
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("cannot close %s: %w", target, cerr)
		}
	}()
	if _, err := io.Copy(out, r); err != nil {
		return fmt.Errorf("cannot write %s: %w", target, err)
	}
	return nil
}
