package ocibuild

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Crossplane's package layer annotation: `crossplane xpkg build` records in
// the config labels which layer holds package.yaml, and `crossplane xpkg
// push` copies that record onto the layer's descriptor, where the package
// manager looks for it.
const (
	xpkgAnnotationKey = "io.crossplane.xpkg"
)

// Publisher pushes images and packages to a registry.
type Publisher struct {
	options []remote.Option
}

// NewPublisher returns a Publisher that authenticates with the credentials
// of the Docker config (~/.docker/config.json, credential helpers), as
// `crossplane xpkg push` and crane do. Registries on localhost and 127.0.0.1
// are spoken to over plain HTTP, everything else over HTTPS.
func NewPublisher(opts ...remote.Option) *Publisher {
	return &Publisher{options: append([]remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)}
}

// PushIndex pushes a multi-platform index and its images and tags it.
func (p *Publisher) PushIndex(ctx context.Context, idx v1.ImageIndex, ref string) (v1.Hash, error) {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	if err := remote.WriteIndex(tag, idx, p.opts(ctx)...); err != nil {
		return v1.Hash{}, fmt.Errorf("cannot push the image index %s: %w", ref, err)
	}
	return digestOf(idx)
}

// PushImage pushes one image and tags it.
func (p *Publisher) PushImage(ctx context.Context, img v1.Image, ref string) (v1.Hash, error) {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	if err := remote.Write(tag, img, p.opts(ctx)...); err != nil {
		return v1.Hash{}, fmt.Errorf("cannot push the image %s: %w", ref, err)
	}
	return img.Digest()
}

// PushPackages pushes Crossplane packages (.xpkg files) the way `crossplane
// xpkg push -f a.xpkg,b.xpkg` does: one package is pushed as an image; several
// (one per platform) are pushed by digest and tagged as a multi-platform
// index, with each entry's platform taken from the package's image config.
func (p *Publisher) PushPackages(ctx context.Context, files []string, ref string) (v1.Hash, error) {
	if len(files) == 0 {
		return v1.Hash{}, fmt.Errorf("no package files to push to %s", ref)
	}
	images := make([]v1.Image, 0, len(files))
	for _, f := range files {
		img, err := LoadPackage(f)
		if err != nil {
			return v1.Hash{}, err
		}
		images = append(images, img)
	}
	if len(images) == 1 {
		return p.PushImage(ctx, images[0], ref)
	}
	idx, err := PackageIndex(images)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("cannot index the packages for %s: %w", ref, err)
	}
	return p.PushIndex(ctx, idx, ref)
}

// LoadPackage reads a .xpkg file and annotates its package layer as
// `crossplane xpkg push` does before pushing.
func LoadPackage(file string) (v1.Image, error) {
	img, err := tarball.ImageFromPath(file, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot read the package %s: %w", file, err)
	}
	annotated, err := AnnotatePackageLayers(img)
	if err != nil {
		return nil, fmt.Errorf("cannot annotate the layers of %s: %w", file, err)
	}
	return annotated, nil
}

// AnnotatePackageLayers moves the "io.crossplane.xpkg:<layer digest>" config
// labels that `crossplane xpkg build` writes onto the layers' descriptors
// (the same as crossplane-runtime's xpkg.AnnotateLayers).
func AnnotatePackageLayers(img v1.Image) (v1.Image, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("cannot read the image config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("cannot read the image layers: %w", err)
	}
	out := empty.Image
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return nil, fmt.Errorf("cannot compute a layer digest: %w", err)
		}
		add := mutate.Addendum{Layer: l}
		if a, ok := cfg.Config.Labels[xpkgAnnotationKey+":"+d.String()]; ok {
			add.Annotations = map[string]string{xpkgAnnotationKey: a}
		}
		if out, err = mutate.Append(out, add); err != nil {
			return nil, fmt.Errorf("cannot add a layer: %w", err)
		}
	}
	annotated, err := mutate.ConfigFile(out, cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot set the image config: %w", err)
	}
	return annotated, nil
}

// PackageIndex makes a multi-platform index of per-platform packages, each
// entry's platform read from the package's image config.
func PackageIndex(images []v1.Image) (v1.ImageIndex, error) {
	adds := make([]mutate.IndexAddendum, 0, len(images))
	for _, img := range images {
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("cannot read a package's image config: %w", err)
		}
		mt, err := img.MediaType()
		if err != nil {
			return nil, fmt.Errorf("cannot read a package's media type: %w", err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			MediaType: mt,
			Platform:  &v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, OSVersion: cfg.OSVersion, Variant: cfg.Variant},
		}})
	}
	var base v1.ImageIndex = empty.Index
	if mt, err := images[0].MediaType(); err == nil && mt == types.OCIManifestSchema1 {
		base = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	}
	return mutate.AppendManifests(base, adds...), nil
}

func (p *Publisher) opts(ctx context.Context) []remote.Option {
	return append(append([]remote.Option{}, p.options...), remote.WithContext(ctx))
}

func digestOf(idx v1.ImageIndex) (v1.Hash, error) {
	d, err := idx.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("cannot compute the index digest: %w", err)
	}
	return d, nil
}
