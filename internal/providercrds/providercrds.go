// Package providercrds finds the real provider-aws CRDs in the Go module
// cache (they ship in the provider module, the same version the function's
// typed structs come from) and builds validators from them, so tests can
// check composed resources exactly as kube-apiserver would.
package providercrds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/crdschema"
)

// Module is the provider module whose CRDs (and, for fn/internal/awsapis,
// typed structs) are used.
const Module = "github.com/upbound/provider-aws/v2"

// Location is where the provider module is in the module cache, and its
// version (the one go.mod requires).
type Location struct {
	Dir     string
	Version string
}

// Locate returns where the provider module is in the module cache,
// downloading it first if it is not there: no package of the module is
// imported (the function's types are copies, fn/internal/awsapis), so no
// build downloads it, and `go list -m` names no directory for it in a fresh
// module cache.
func Locate() (Location, error) {
	return locate("", Module)
}

// locate runs `go mod download -json module` in dir (the working directory
// when empty), with env added to the go command's environment.
func locate(dir, module string, env ...string) (Location, error) {
	cmd := exec.CommandContext(context.Background(), "go", "mod", "download", "-json", module) //nolint:gosec // The module is a constant or a test's.
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, runErr := cmd.Output()
	// A failure to download the module itself is an Error in the JSON; one
	// before that (go.mod, GOFLAGS, the toolchain) is only on stderr.
	var m struct {
		Dir     string `json:"Dir"`
		Version string `json:"Version"`
		Error   string `json:"Error"`
	}
	if err := json.Unmarshal(out, &m); err != nil && runErr == nil {
		return Location{}, fmt.Errorf("cannot read go mod download's answer for %s: %w", module, err)
	}
	var exitErr *exec.ExitError
	switch {
	case m.Error != "":
		return Location{}, fmt.Errorf("cannot download %s: %s", module, m.Error)
	case errors.As(runErr, &exitErr):
		return Location{}, fmt.Errorf("cannot download %s: %w: %s", module, runErr, strings.TrimSpace(string(exitErr.Stderr)))
	case runErr != nil:
		return Location{}, fmt.Errorf("cannot download %s: %w", module, runErr)
	case m.Dir == "":
		return Location{}, fmt.Errorf("go mod download names no directory for %s", module)
	}
	return Location{Dir: m.Dir, Version: m.Version}, nil
}

// Dir returns the provider module's CRD folder.
var Dir = sync.OnceValues(func() (string, error) {
	loc, err := Locate()
	if err != nil {
		return "", err
	}
	return filepath.Join(loc.Dir, "package", "crds"), nil
})

// File returns the path of the CRD of a group and kind. Files are named
// <group>_<plural>.yaml.
func File(gk schema.GroupKind) (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	plural := strings.ToLower(gk.Kind) + "s"
	if stem, ok := strings.CutSuffix(plural, "ys"); ok {
		plural = stem + "ies"
	}
	return filepath.Join(dir, gk.Group+"_"+plural+".yaml"), nil
}

var (
	mu         sync.Mutex
	schemas    = map[schema.GroupVersionKind]*apiextensionsv1.JSONSchemaProps{}
	validators = map[schema.GroupVersionKind]*crdschema.Validator{}
)

// Schema returns the OpenAPI schema of gvk from its CRD; each CRD is read
// and parsed once.
func Schema(gvk schema.GroupVersionKind) (*apiextensionsv1.JSONSchemaProps, error) {
	mu.Lock()
	defer mu.Unlock()
	return schemaLocked(gvk)
}

func schemaLocked(gvk schema.GroupVersionKind) (*apiextensionsv1.JSONSchemaProps, error) {
	if s, ok := schemas[gvk]; ok {
		return s, nil
	}
	f, err := File(gvk.GroupKind())
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(f) //nolint:gosec // A path in the module cache.
	if err != nil {
		return nil, fmt.Errorf("no provider-aws CRD for %s: %w", gvk, err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(b, crd); err != nil {
		return nil, fmt.Errorf("cannot parse the CRD of %s: %w", gvk, err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name == gvk.Version && v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
			schemas[gvk] = v.Schema.OpenAPIV3Schema
			return v.Schema.OpenAPIV3Schema, nil
		}
	}
	return nil, fmt.Errorf("the CRD of %s has no version %s with a schema", gvk.GroupKind(), gvk.Version)
}

// Validator returns a validator for the CRD of gvk at its version; built
// once per kind.
func Validator(gvk schema.GroupVersionKind) (*crdschema.Validator, error) {
	mu.Lock()
	defer mu.Unlock()
	if v, ok := validators[gvk]; ok {
		return v, nil
	}
	s, err := schemaLocked(gvk)
	if err != nil {
		return nil, err
	}
	v, err := crdschema.New(s)
	if err != nil {
		return nil, fmt.Errorf("cannot load the CRD of %s: %w", gvk, err)
	}
	validators[gvk] = v
	return v, nil
}

// FieldDescription returns the description of the field at path (keys of
// nested objects; arrays are stepped through) in the OpenAPI schema of gvk.
func FieldDescription(gvk schema.GroupVersionKind, path ...string) (string, error) {
	s, err := Schema(gvk)
	if err != nil {
		return "", err
	}
	for _, p := range path {
		for s.Type == "array" && s.Items != nil && s.Items.Schema != nil {
			s = s.Items.Schema
		}
		next, ok := s.Properties[p]
		if !ok {
			return "", fmt.Errorf("%s has no field %s", gvk, strings.Join(path, "."))
		}
		s = &next
	}
	return s.Description, nil
}
