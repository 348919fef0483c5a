// Command ocibuild builds this project's container images and stages and
// publishes its Crossplane packages, without a container engine. mk/package.mk
// drives it; see docs/build.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/ocibuild"
)

type cli struct {
	Image   imageCmd   `cmd:"" help:"Build a reproducible multi-platform image from static binaries."`
	Stage   stageCmd   `cmd:"" help:"Stage a package source for crossplane xpkg build, stamped with the version."`
	Publish publishCmd `cmd:"" help:"Push packages and images to a registry."`
}

type imageCmd struct {
	Name       string            `help:"Image name, for tags and SBOMs."                               required:""`
	Version    string            `help:"Version of the software in the image."                         required:""`
	BinaryPath string            `help:"Where the binary goes in the image."                           required:""`
	Binary     []string          `help:"A static binary for one platform, as os/arch=path. Repeatable." required:""`
	Entrypoint []string          `help:"Entrypoint; defaults to the binary."`
	Port       []string          `help:"Exposed port, e.g. 9443/tcp. Repeatable."`
	Label      map[string]string `help:"Image label. Repeatable."`
	Out        string            `help:"Directory to write the image into."                            required:"" type:"path"`
}

// Run writes, for the given binaries:
//   - image.oci.tar: the multi-platform image as an OCI layout archive,
//   - image-<os>-<arch>.tar: each platform's image as a docker-save tarball,
//     the form `crossplane xpkg build --embed-runtime-image-tarball` and
//     AWS Lambda (single-platform images only) need,
//   - sbom-<os>-<arch>.cdx.json: each platform's CycloneDX SBOM,
//   - digests.txt: the digests, for comparing builds.
func (c *imageCmd) Run() error {
	bins := make([]ocibuild.PlatformBinary, 0, len(c.Binary))
	for _, b := range c.Binary {
		pb, err := ocibuild.ParsePlatformBinary(b)
		if err != nil {
			return err
		}
		bins = append(bins, pb)
	}
	spec := ocibuild.ImageSpec{
		Name: c.Name, Version: c.Version, BinaryPath: c.BinaryPath,
		Entrypoint: c.Entrypoint, ExposedPorts: c.Port, Labels: c.Label,
	}
	idx, images, err := ocibuild.BuildIndex(spec, bins)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.Out, 0o750); err != nil {
		return fmt.Errorf("cannot create %s: %w", c.Out, err)
	}
	if err := ocibuild.WriteOCIArchive(filepath.Join(c.Out, "image.oci.tar"), idx, c.Version); err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return fmt.Errorf("cannot compute the index digest: %w", err)
	}
	digests := []string{fmt.Sprintf("%s index %s", d, c.Name)}
	for i, img := range images {
		platform := strings.ReplaceAll(bins[i].Platform.String(), "/", "-")
		if err := ocibuild.WriteImageTarball(filepath.Join(c.Out, "image-"+platform+".tar"), img, c.Name+":"+c.Version+"-"+platform); err != nil {
			return err
		}
		if err := writeSBOM(filepath.Join(c.Out, "sbom-"+platform+".cdx.json"), spec, bins[i], img); err != nil {
			return err
		}
		d, err := img.Digest()
		if err != nil {
			return fmt.Errorf("cannot compute the %s image digest: %w", platform, err)
		}
		digests = append(digests, fmt.Sprintf("%s %s %s", d, bins[i].Platform.String(), c.Name))
	}
	p := filepath.Join(c.Out, "digests.txt")
	if err := os.WriteFile(p, []byte(strings.Join(digests, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("cannot write %s: %w", p, err)
	}
	fmt.Fprintf(os.Stdout, "image %s %s: %s\n", c.Name, c.Version, d)
	return nil
}

func writeSBOM(file string, spec ocibuild.ImageSpec, bin ocibuild.PlatformBinary, img v1.Image) (err error) {
	bom, err := ocibuild.SBOM(spec, bin, img)
	if err != nil {
		return err
	}
	f, err := os.Create(file) //nolint:gosec // the output directory is chosen by whoever runs the build.
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", file, err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("cannot close %s: %w", file, cerr)
		}
	}()
	return ocibuild.WriteSBOM(f, bom)
}

type stageCmd struct {
	Source          string `help:"Package source directory (crossplane.yaml and other YAML)."                    required:"" type:"existingdir"`
	Out             string `help:"Directory to stage into; emptied first."                                       required:"" type:"path"`
	Version         string `help:"Version to stamp into crossplane.yaml."                                       required:""`
	FunctionPackage string `help:"Where the Function is published; for a Configuration that depends on it."`
	FunctionRefName string `help:"The functionRef name the Composition source uses, renamed to the dependency's name."`
}

func (c *stageCmd) Run() error {
	_, err := ocibuild.Stage(ocibuild.StageOptions{
		Source: c.Source, Out: c.Out, Version: c.Version,
		FunctionPackage: c.FunctionPackage, FunctionRefName: c.FunctionRefName,
	})
	return err
}

type publishCmd struct {
	Packages   []string `help:"Push these .xpkg files (one per platform, or one) as REF. Repeatable as REF=file1,file2."             placeholder:"REF=FILE,..."`
	OCIArchive []string `help:"Push the multi-platform image of this OCI archive (from 'ocibuild image') as REF. Repeatable."          placeholder:"REF=FILE"`
	Image      []string `help:"Push the single image of this docker-save tarball as REF. Repeatable."                                 placeholder:"REF=FILE"`
}

func (c *publishCmd) Run(ctx context.Context) error {
	p := ocibuild.NewPublisher()
	for _, a := range c.Packages {
		ref, files, err := splitRef(a)
		if err != nil {
			return err
		}
		d, err := p.PushPackages(ctx, strings.Split(files, ","), ref)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stdout, "pushed %s@%s\n", ref, d)
	}
	for _, a := range c.OCIArchive {
		ref, file, err := splitRef(a)
		if err != nil {
			return err
		}
		if err := pushArchive(ctx, p, ref, file); err != nil {
			return err
		}
	}
	for _, a := range c.Image {
		ref, file, err := splitRef(a)
		if err != nil {
			return err
		}
		img, err := tarball.ImageFromPath(file, nil)
		if err != nil {
			return fmt.Errorf("cannot read the image tarball %s: %w", file, err)
		}
		d, err := p.PushImage(ctx, img, ref)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stdout, "pushed %s@%s\n", ref, d)
	}
	return nil
}

func pushArchive(ctx context.Context, p *ocibuild.Publisher, ref, file string) error {
	dir, err := os.MkdirTemp("", "ocibuild-publish-")
	if err != nil {
		return fmt.Errorf("cannot create a scratch directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	idx, err := ocibuild.ReadOCIArchive(file, dir)
	if err != nil {
		return err
	}
	d, err := p.PushIndex(ctx, idx, ref)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "pushed %s@%s\n", ref, d)
	return nil
}

func splitRef(s string) (ref, files string, err error) {
	ref, files, ok := strings.Cut(s, "=")
	if !ok || ref == "" || files == "" {
		return "", "", fmt.Errorf("%q: want REF=FILE", s)
	}
	return ref, files, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	k := kong.Parse(&cli{},
		kong.Name("ocibuild"),
		kong.Description("Build and publish this project's images and Crossplane packages without a container engine."),
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.UsageOnError())
	k.FatalIfErrorf(k.Run())
}
