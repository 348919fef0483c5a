package ocibuild

import (
	"debug/buildinfo"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/uuid"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// SBOMSpecVersion is the CycloneDX version of the SBOMs written; 1.6 is the
// newest that the common consumers (Dependency-Track, Trivy, Grype) read.
const SBOMSpecVersion = cdx.SpecVersion1_6

// sbomNamespace seeds the SBOM serial number, which is derived from the image
// digest so that the same image always gets the same SBOM.
var sbomNamespace = uuid.MustParse("6f0a8c34-3c8e-4f43-9a7c-0e5b2f0d6b51")

// SBOM describes one image: the image itself, the Go binary in it with the
// Go toolchain that built it, and every Go module linked into the binary, as
// recorded by the toolchain in the binary's build information. It has no
// timestamp, so the same image always gives the same SBOM.
func SBOM(spec ImageSpec, bin PlatformBinary, img v1.Image) (*cdx.BOM, error) {
	info, err := buildinfo.ReadFile(bin.Path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the Go build information of %s: %w", bin.Path, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("cannot compute the image digest: %w", err)
	}

	imagePURL := fmt.Sprintf("pkg:oci/%s@%s?%s", spec.Name, strings.ReplaceAll(digest.String(), ":", "%3A"), url.Values{
		"arch": []string{bin.Platform.Architecture},
		"os":   []string{bin.Platform.OS},
	}.Encode())
	image := cdx.Component{
		BOMRef:     imagePURL,
		Type:       cdx.ComponentTypeContainer,
		Name:       spec.Name,
		Version:    spec.Version,
		PackageURL: imagePURL,
		Hashes:     &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: digest.Hex}},
	}

	mainVersion := info.Main.Version
	if mainVersion == "" || mainVersion == "(devel)" {
		mainVersion = spec.Version
	}
	settings := make([]cdx.Property, 0, len(info.Settings))
	for _, s := range info.Settings {
		settings = append(settings, cdx.Property{Name: "go:build:" + s.Key, Value: s.Value})
	}
	app := cdx.Component{
		BOMRef:     goPURL(info.Main.Path, mainVersion),
		Type:       cdx.ComponentTypeApplication,
		Name:       info.Path,
		Version:    mainVersion,
		PackageURL: goPURL(info.Main.Path, mainVersion),
		Properties: &settings,
	}
	toolchain := cdx.Component{
		BOMRef:     goPURL("stdlib", info.GoVersion),
		Type:       cdx.ComponentTypeLibrary,
		Name:       "stdlib",
		Version:    info.GoVersion,
		PackageURL: goPURL("stdlib", info.GoVersion),
	}

	components := []cdx.Component{app, toolchain}
	appDeps := []string{toolchain.BOMRef}
	for _, m := range info.Deps {
		if m.Replace != nil {
			m = m.Replace
		}
		c := cdx.Component{
			BOMRef:     goPURL(m.Path, m.Version),
			Type:       cdx.ComponentTypeLibrary,
			Name:       m.Path,
			Version:    m.Version,
			PackageURL: goPURL(m.Path, m.Version),
		}
		if m.Sum != "" {
			c.Properties = &[]cdx.Property{{Name: "go:module:sum", Value: m.Sum}}
		}
		components = append(components, c)
		appDeps = append(appDeps, c.BOMRef)
	}
	sort.Slice(components[2:], func(i, j int) bool { return components[2+i].BOMRef < components[2+j].BOMRef })
	sort.Strings(appDeps)

	bom := cdx.NewBOM()
	bom.SerialNumber = "urn:uuid:" + uuid.NewSHA1(sbomNamespace, []byte(imagePURL)).String()
	bom.Metadata = &cdx.Metadata{Component: &image}
	bom.Components = &components
	bom.Dependencies = &[]cdx.Dependency{
		{Ref: image.BOMRef, Dependencies: &[]string{app.BOMRef}},
		{Ref: app.BOMRef, Dependencies: &appDeps},
	}
	return bom, nil
}

// WriteSBOM encodes the SBOM as CycloneDX JSON.
func WriteSBOM(w io.Writer, bom *cdx.BOM) error {
	if err := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON).SetPretty(true).EncodeVersion(bom, SBOMSpecVersion); err != nil {
		return fmt.Errorf("cannot encode the SBOM: %w", err)
	}
	return nil
}

// goPURL is the package URL of a Go module, with the path's uppercase letters
// kept (purl allows them for golang) and each segment escaped.
func goPURL(module, version string) string {
	segments := strings.Split(module, "/")
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}
	return fmt.Sprintf("pkg:golang/%s@%s", strings.Join(segments, "/"), url.PathEscape(version))
}
