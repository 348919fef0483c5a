package ocibuild

// Tests of the artifacts `make build` writes. `make package-test` runs them
// with PACKAGE_OUTPUT_DIR set; without it (plain `go test ./...`) they skip,
// and with it every artifact they look for must exist.

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"sigs.k8s.io/yaml"
)

var builtArches = []string{"amd64", "arm64"}

type builtEnv struct {
	out, version, registry string
}

func builtArtifacts(t *testing.T) builtEnv {
	t.Helper()
	out := os.Getenv("PACKAGE_OUTPUT_DIR")
	if out == "" {
		t.Skip("PACKAGE_OUTPUT_DIR is not set: run `make package-test` to build and test the packages")
	}
	e := builtEnv{out: out, version: os.Getenv("PACKAGE_VERSION"), registry: os.Getenv("PACKAGE_REGISTRY")}
	if e.version == "" || e.registry == "" {
		t.Fatal("PACKAGE_VERSION and PACKAGE_REGISTRY must be set with PACKAGE_OUTPUT_DIR")
	}
	return e
}

// packageContents reads a .xpkg: its image config and the YAML documents of
// the layer the package manager reads (the one labelled io.crossplane.xpkg
// base).
func packageContents(t *testing.T, file string) (*v1.ConfigFile, []map[string]any) {
	t.Helper()
	img, err := LoadPackage(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var found []v1.Descriptor
	for _, l := range manifest.Layers {
		if l.Annotations[xpkgAnnotationKey] == "base" {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: want one package layer, found %d", file, len(found))
	}
	layer, err := img.LayerByDigest(found[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layer.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s: the package layer has no package.yaml", file)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name != "package.yaml" {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		var docs []map[string]any
		for _, d := range splitYAML(b) {
			m := map[string]any{}
			if err := yaml.Unmarshal(d, &m); err != nil {
				t.Fatalf("%s: package.yaml: %v", file, err)
			}
			docs = append(docs, m)
		}
		return cfg, docs
	}
}

func annotationsOf(t *testing.T, obj map[string]any) map[string]any {
	t.Helper()
	md, _ := obj["metadata"].(map[string]any)
	a, _ := md["annotations"].(map[string]any)
	return a
}

func requireAnnotations(t *testing.T, what string, got map[string]any, version string) {
	t.Helper()
	for _, k := range []string{
		"friendly-name.meta.crossplane.io", "meta.crossplane.io/description", "meta.crossplane.io/source",
		"meta.crossplane.io/license", "meta.crossplane.io/readme", "meta.crossplane.io/maintainer",
	} {
		if s, _ := got[k].(string); s == "" {
			t.Errorf("%s: annotation %s is missing", what, k)
		}
	}
	if got[VersionAnnotation] != version {
		t.Errorf("%s: %s = %v, want %s", what, VersionAnnotation, got[VersionAnnotation], version)
	}
}

func TestBuiltFunctionPackages(t *testing.T) {
	e := builtArtifacts(t)
	for _, arch := range builtArches {
		t.Run(arch, func(t *testing.T) {
			cfg, docs := packageContents(t, filepath.Join(e.out, "fn", "crossplane-cicd-pipeline-fn-"+arch+".xpkg"))
			type runtime struct {
				Entrypoint   []string
				User, OS     string
				Architecture string
				Version      string
				Ports        []string
			}
			var ports []string
			for p := range cfg.Config.ExposedPorts {
				ports = append(ports, p)
			}
			got := runtime{cfg.Config.Entrypoint, cfg.Config.User, cfg.OS, cfg.Architecture, cfg.Config.Labels["org.opencontainers.image.version"], ports}
			want := runtime{[]string{"/function"}, NonRootUser, "linux", arch, e.version, []string{"9443/tcp"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("embedded runtime image config: -want +got:\n%s", diff)
			}
			if len(docs) != 1 {
				t.Fatalf("want only the Function metadata in package.yaml, found %d documents", len(docs))
			}
			meta := docs[0]
			if meta["apiVersion"] != "meta.pkg.crossplane.io/v1beta1" || meta["kind"] != "Function" {
				t.Errorf("metadata is %v %v, want meta.pkg.crossplane.io/v1beta1 Function", meta["apiVersion"], meta["kind"])
			}
			requireAnnotations(t, "Function", annotationsOf(t, meta), e.version)
		})
	}
}

func TestBuiltConfigurationPackage(t *testing.T) {
	e := builtArtifacts(t)
	_, docs := packageContents(t, filepath.Join(e.out, "configuration", "crossplane-cicd-pipeline.xpkg"))
	kinds := map[string][]map[string]any{}
	for _, d := range docs {
		k, _ := d["kind"].(string)
		kinds[k] = append(kinds[k], d)
	}
	if len(kinds["Configuration"]) != 1 || len(kinds["CompositeResourceDefinition"]) != 2 || len(kinds["Composition"]) != 2 {
		t.Fatalf("want one Configuration, two XRDs (claim and namespaced API) and two Compositions, found %v", sortedKinds(kinds))
	}
	// Each XRD's default Composition is in the package and composes it.
	compositions := map[string]map[string]any{}
	for _, c := range kinds["Composition"] {
		compositions[c["metadata"].(map[string]any)["name"].(string)] = c
	}
	for _, x := range kinds["CompositeResourceDefinition"] {
		xs := x["spec"].(map[string]any)
		ref, _ := xs["defaultCompositionRef"].(map[string]any)
		c, ok := compositions[fmt.Sprint(ref["name"])]
		if !ok {
			t.Errorf("XRD %v: its default Composition %v is not in the package", x["metadata"], ref)
			continue
		}
		ctr := c["spec"].(map[string]any)["compositeTypeRef"].(map[string]any)
		if want := fmt.Sprint(xs["group"]) + "/v1alpha1"; ctr["apiVersion"] != want || ctr["kind"] != xs["names"].(map[string]any)["kind"] {
			t.Errorf("Composition %v composes %v, want %s %v", ref["name"], ctr, want, xs["names"])
		}
	}
	meta := kinds["Configuration"][0]
	requireAnnotations(t, "Configuration", annotationsOf(t, meta), e.version)

	spec, _ := meta["spec"].(map[string]any)
	crossplane, _ := spec["crossplane"].(map[string]any)
	// The namespaced API's XRD is apiextensions.crossplane.io/v2.
	if v, _ := crossplane["version"].(string); v != ">=v2.0.0" {
		t.Errorf("Crossplane version constraint %q, want >=v2.0.0", v)
	}
	deps := map[string]string{}
	for _, d := range spec["dependsOn"].([]any) {
		dep := d.(map[string]any)
		for _, k := range []string{"provider", "function"} {
			if pkg, ok := dep[k].(string); ok {
				deps[k+" "+pkg], _ = dep["version"].(string)
			}
		}
	}
	want := map[string]string{"function " + e.registry + "/crossplane-cicd-pipeline-fn": e.version}
	for _, p := range []string{"cloudwatch", "cloudwatchevents", "cloudwatchlogs", "codebuild", "codepipeline", "codestarconnections", "dynamodb", "ecr", "iam", "lambda", "s3", "sns"} {
		want["provider xpkg.upbound.io/upbound/provider-aws-"+p] = ">=v2.5.0"
	}
	if diff := cmp.Diff(want, deps); diff != "" {
		t.Errorf("dependsOn: -want +got:\n%s", diff)
	}

	depName, err := FunctionDependencyName(e.registry + "/crossplane-cicd-pipeline-fn")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range kinds["Composition"] {
		cspec, _ := c["spec"].(map[string]any)
		steps, _ := cspec["pipeline"].([]any)
		if len(steps) == 0 {
			t.Errorf("Composition %v has no pipeline", c["metadata"])
		}
		for _, s := range steps {
			ref, _ := s.(map[string]any)["functionRef"].(map[string]any)
			if ref["name"] != depName {
				t.Errorf("a pipeline step calls %v; the Function installed as the dependency is named %s", ref["name"], depName)
			}
		}
	}
}

// sortedKinds lists the kinds found, for failure messages.
func sortedKinds(m map[string][]map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestBuiltImages(t *testing.T) {
	e := builtArtifacts(t)
	images := map[string]string{"fn": "crossplane-cicd-pipeline-fn"}
	if _, err := os.Stat(filepath.Join(e.out, "deployer", "image")); err == nil {
		images["deployer"] = "crossplane-cicd-pipeline-deployer"
	}
	for dir, imageName := range images {
		t.Run(dir, func(t *testing.T) {
			idx, err := ReadOCIArchive(filepath.Join(e.out, dir, "image", "image.oci.tar"), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			m, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			var platforms []string
			for _, d := range m.Manifests {
				platforms = append(platforms, d.Platform.String())
			}
			if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, platforms); diff != "" {
				t.Errorf("platforms: -want +got:\n%s", diff)
			}
			for _, arch := range builtArches {
				img, err := tarball.ImageFromPath(filepath.Join(e.out, dir, "image", "image-linux-"+arch+".tar"), nil)
				if err != nil {
					t.Fatal(err)
				}
				cfg, err := img.ConfigFile()
				if err != nil {
					t.Fatal(err)
				}
				if cfg.Architecture != arch || cfg.Config.User != NonRootUser {
					t.Errorf("%s image: %s as %q, want %s as %q", arch, cfg.Architecture, cfg.Config.User, arch, NonRootUser)
				}
				b, err := os.ReadFile(filepath.Join(e.out, dir, "image", "sbom-linux-"+arch+".cdx.json"))
				if err != nil {
					t.Fatal(err)
				}
				var bom cdx.BOM
				if err := json.Unmarshal(b, &bom); err != nil {
					t.Fatalf("%s SBOM: %v", arch, err)
				}
				if bom.Metadata == nil || bom.Metadata.Component == nil || bom.Metadata.Component.Name != imageName {
					t.Errorf("%s SBOM does not describe %s", arch, imageName)
				}
				if bom.Components == nil || len(*bom.Components) < 10 {
					t.Errorf("%s SBOM lists too few components for a real binary", arch)
				}
			}
		})
	}
}

// TestBuiltPublish pushes the built packages and images to a registry on
// 127.0.0.1, as `make publish` does, and pulls them back.
func TestBuiltPublish(t *testing.T) {
	e := builtArtifacts(t)
	host := startRegistry(t)
	ctx := t.Context()
	p := NewPublisher()

	var fnFiles []string
	for _, a := range builtArches {
		fnFiles = append(fnFiles, filepath.Join(e.out, "fn", "crossplane-cicd-pipeline-fn-"+a+".xpkg"))
	}
	packages := map[string][]string{
		host + "/platform/crossplane-cicd-pipeline-fn:" + e.version: fnFiles,
		host + "/platform/crossplane-cicd-pipeline:" + e.version:    {filepath.Join(e.out, "configuration", "crossplane-cicd-pipeline.xpkg")},
	}
	for ref, files := range packages {
		pushed, err := p.PushPackages(ctx, files, ref)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Get(mustRef(t, ref), remote.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		if desc.Digest != pushed {
			t.Errorf("%s: pulled %s, pushed %s", ref, desc.Digest, pushed)
		}
	}

	idx, err := ReadOCIArchive(filepath.Join(e.out, "fn", "image", "image.oci.tar"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/platform/crossplane-cicd-pipeline-fn-runtime:" + e.version
	pushed, err := p.PushIndex(ctx, idx, ref)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Index(mustRef(t, ref), remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	got, err := pulled.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got != pushed {
		t.Errorf("%s: pulled %s, pushed %s", ref, got, pushed)
	}
}
