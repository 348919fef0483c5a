package ocibuild

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"sigs.k8s.io/yaml"
)

// VersionAnnotation records in package metadata the version (from git) that
// the package was built as.
const VersionAnnotation = "cicd.platform.dev/version"

// StageOptions say how to turn a package source directory into the
// directory `crossplane xpkg build` reads.
type StageOptions struct {
	// Source directory: crossplane.yaml and the package's other YAML files.
	Source string
	// Out is the directory to write; it is emptied first.
	Out string
	// Version stamped into crossplane.yaml.
	Version string
	// FunctionPackage is where the Function package is published, e.g.
	// xpkg.example.org/platform/crossplane-cicd-pipeline-fn. When set, the
	// Configuration's dependency on the Function is pointed at it, at
	// exactly Version, and the Composition's functionRef names are rewritten
	// to the name Crossplane gives the Function it installs as that
	// dependency (see FunctionDependencyName).
	FunctionPackage string
	// FunctionRefName is the functionRef name the Composition source uses
	// (the name `crossplane render` and local development use).
	FunctionRefName string
}

// FunctionDependencyName is the metadata.name Crossplane's package manager
// gives a package it installs as a dependency: the repository path of the
// package reference (without the registry) made a DNS label, as the
// dependency resolver does with xpkg.ToDNSLabel. A Composition shipped in a
// Configuration has to call its Function by this name.
func FunctionDependencyName(pkg string) (string, error) {
	repo, err := name.NewRepository(pkg)
	if err != nil {
		return "", fmt.Errorf("invalid package repository %q: %w", pkg, err)
	}
	return toDNSLabel(repo.RepositoryStr()), nil
}

// toDNSLabel is crossplane-runtime's xpkg.ToDNSLabel, repeated here because
// that package is not in the crossplane-runtime version this module builds
// against.
func toDNSLabel(s string) string {
	var cut strings.Builder
	for i := range len(s) {
		b := s[i]
		if ('a' <= b && b <= 'z') || ('0' <= b && b <= '9') {
			cut.WriteByte(b)
		}
		if (b == '.' || b == '/' || b == ':' || b == '-') && (i != 0 && i != 62 && i != len(s)-1) {
			cut.WriteByte('-')
		}
		if i == 62 {
			break
		}
	}
	return strings.Trim(cut.String(), "-")
}

// Stage copies the YAML files of a package source into Out, stamping the
// version into crossplane.yaml and, for a Configuration, pointing it and its
// Composition at the published Function. It returns the files written.
func Stage(o StageOptions) ([]string, error) {
	entries, err := os.ReadDir(o.Source)
	if err != nil {
		return nil, fmt.Errorf("cannot read the package source %s: %w", o.Source, err)
	}
	if err := os.RemoveAll(o.Out); err != nil {
		return nil, fmt.Errorf("cannot empty %s: %w", o.Out, err)
	}
	if err := os.MkdirAll(o.Out, 0o750); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", o.Out, err)
	}
	var written []string
	sawMeta := false
	for _, e := range entries {
		if e.IsDir() || (!strings.HasSuffix(e.Name(), ".yaml") && !strings.HasSuffix(e.Name(), ".yml")) {
			continue
		}
		in, err := os.ReadFile(filepath.Join(o.Source, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", e.Name(), err)
		}
		out := in
		switch {
		case e.Name() == "crossplane.yaml":
			sawMeta = true
			if out, err = stampMeta(in, o); err != nil {
				return nil, fmt.Errorf("%s: %w", e.Name(), err)
			}
		case o.FunctionPackage != "":
			if out, err = renameFunctionRefs(in, o); err != nil {
				return nil, fmt.Errorf("%s: %w", e.Name(), err)
			}
		}
		p := filepath.Join(o.Out, e.Name())
		if err := os.WriteFile(p, out, 0o600); err != nil {
			return nil, fmt.Errorf("cannot write %s: %w", p, err)
		}
		written = append(written, p)
	}
	if !sawMeta {
		return nil, fmt.Errorf("%s has no crossplane.yaml", o.Source)
	}
	return written, nil
}

// stampMeta sets the version annotation and, for a Configuration, the
// dependency on the Function.
func stampMeta(in []byte, o StageOptions) ([]byte, error) {
	meta := map[string]any{}
	if err := yaml.Unmarshal(in, &meta); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	metadata, ok := meta["metadata"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no metadata")
	}
	annotations, _ := metadata["annotations"].(map[string]any)
	if annotations == nil {
		annotations = map[string]any{}
	}
	annotations[VersionAnnotation] = o.Version
	metadata["annotations"] = annotations

	if o.FunctionPackage != "" {
		if err := pointAtFunction(meta, o); err != nil {
			return nil, err
		}
	}
	out, err := yaml.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("cannot encode: %w", err)
	}
	return out, nil
}

// pointAtFunction replaces the one Function dependency of the Configuration
// with the published Function at exactly the version being built, so that
// a Configuration always brings the Function built with it.
func pointAtFunction(meta map[string]any, o StageOptions) error {
	spec, _ := meta["spec"].(map[string]any)
	deps, _ := spec["dependsOn"].([]any)
	found := 0
	for _, d := range deps {
		dep, ok := d.(map[string]any)
		if !ok {
			continue
		}
		if _, isFunction := dep["function"]; !isFunction {
			continue
		}
		found++
		dep["function"] = o.FunctionPackage
		dep["version"] = o.Version
	}
	if found != 1 {
		return fmt.Errorf("want exactly one Function in spec.dependsOn, found %d", found)
	}
	return nil
}

// renameFunctionRefs rewrites, in every Composition of a multi-document YAML
// file, the pipeline steps' functionRef names from FunctionRefName to the
// name of the Function installed as the Configuration's dependency. Files
// without a Composition are returned unchanged, byte for byte.
func renameFunctionRefs(in []byte, o StageOptions) ([]byte, error) {
	depName, err := FunctionDependencyName(o.FunctionPackage)
	if err != nil {
		return nil, err
	}
	docs := splitYAML(in)
	changed := false
	for i, doc := range docs {
		obj := map[string]any{}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil, fmt.Errorf("document %d is not YAML: %w", i+1, err)
		}
		if obj["kind"] != "Composition" {
			continue
		}
		spec, _ := obj["spec"].(map[string]any)
		steps, _ := spec["pipeline"].([]any)
		renamed := 0
		for _, s := range steps {
			step, _ := s.(map[string]any)
			ref, _ := step["functionRef"].(map[string]any)
			if ref != nil && ref["name"] == o.FunctionRefName {
				ref["name"] = depName
				renamed++
			}
		}
		if renamed == 0 {
			continue
		}
		out, err := yaml.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("cannot encode document %d: %w", i+1, err)
		}
		docs[i] = out
		changed = true
	}
	if !changed {
		return in, nil
	}
	return bytes.Join(docs, []byte("\n---\n")), nil
}

// splitYAML splits a multi-document YAML stream at its "---" lines, dropping
// empty documents.
func splitYAML(in []byte) [][]byte {
	var docs [][]byte
	for d := range bytes.SplitSeq(append([]byte("\n"), in...), []byte("\n---")) {
		// Drop the rest of the separator line (e.g. "--- # comment").
		if i := bytes.IndexByte(d, '\n'); i >= 0 {
			d = d[i+1:]
		} else {
			d = nil
		}
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}
