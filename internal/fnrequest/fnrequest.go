// Package fnrequest builds the RunFunctionRequest Crossplane sends the
// function for an XR manifest and, optionally, the composed resources it
// observes (a multi-document YAML file such as examples/observed/full.yaml).
// The benchmarks, the response regression test and the performance harness
// (test/perf) replay these requests.
//
// It is test support, not product code: the function never imports it.
package fnrequest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
)

// AnnotationCompositionResourceName is how Crossplane names an observed
// composed resource in the request: by this annotation's value.
const AnnotationCompositionResourceName = "crossplane.io/composition-resource-name"

// Tag is the request's meta tag; the function copies it into the response.
const Tag = "fnrequest"

// Read builds the request for the XR in xrPath and the composed resources in
// observedPath ("" for none, as on the XR's first reconcile).
func Read(xrPath, observedPath string) (*fnv1.RunFunctionRequest, error) {
	xrYAML, err := os.ReadFile(xrPath) //nolint:gosec // Test support: paths are the caller's example files.
	if err != nil {
		return nil, fmt.Errorf("cannot read the XR: %w", err)
	}
	var observedYAML []byte
	if observedPath != "" {
		if observedYAML, err = os.ReadFile(observedPath); err != nil { //nolint:gosec // As above.
			return nil, fmt.Errorf("cannot read the observed resources: %w", err)
		}
	}
	return New(xrYAML, observedYAML)
}

// Example builds the two requests of an example under the examples folder:
// create, for xr-<name>.yaml with nothing observed, and reconcile, with
// observed/<name>.yaml observed (the steady state).
func Example(examples, name string) (create, reconcile *fnv1.RunFunctionRequest, err error) {
	xr := filepath.Join(examples, "xr-"+name+".yaml")
	if create, err = Read(xr, ""); err != nil {
		return nil, nil, err
	}
	if reconcile, err = Read(xr, filepath.Join(examples, "observed", name+".yaml")); err != nil {
		return nil, nil, err
	}
	return create, reconcile, nil
}

// New builds the request for an XR manifest and a multi-document YAML of
// observed composed resources (nil for none).
func New(xrYAML, observedYAML []byte) (*fnv1.RunFunctionRequest, error) {
	xr, err := toStruct(xrYAML)
	if err != nil {
		return nil, fmt.Errorf("cannot parse the XR: %w", err)
	}
	req := &fnv1.RunFunctionRequest{
		Meta:     &fnv1.RequestMeta{Tag: Tag},
		Observed: &fnv1.State{Composite: &fnv1.Resource{Resource: xr}, Resources: map[string]*fnv1.Resource{}},
		// Crossplane has answered the function's requirement for platform
		// defaults: no EnvironmentConfig matches. Without the answer the
		// function only states its requirement and composes nothing.
		RequiredResources: map[string]*fnv1.Resources{v1alpha1.PlatformRequirementName: {}},
	}
	docs, err := Documents(observedYAML)
	if err != nil {
		return nil, err
	}
	for i, doc := range docs {
		s, err := toStruct(doc)
		if err != nil {
			return nil, fmt.Errorf("observed document %d: %w", i, err)
		}
		name := s.GetFields()["metadata"].GetStructValue().GetFields()["annotations"].GetStructValue().GetFields()[AnnotationCompositionResourceName].GetStringValue()
		if name == "" {
			return nil, fmt.Errorf("observed document %d: no %s annotation", i, AnnotationCompositionResourceName)
		}
		req.Observed.Resources[name] = &fnv1.Resource{Resource: s}
	}
	return req, nil
}

// Documents splits a multi-document YAML stream, dropping empty documents
// (such as a comment block before the first ---).
func Documents(y []byte) ([][]byte, error) {
	var docs [][]byte
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(y)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("cannot split the YAML documents: %w", err)
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("cannot parse a YAML document: %w", err)
		}
		if t := bytes.TrimSpace(j); len(t) == 0 || bytes.Equal(t, []byte("null")) {
			continue
		}
		docs = append(docs, doc)
	}
}

func toStruct(y []byte) (*structpb.Struct, error) {
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		return nil, err
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(j, s); err != nil {
		return nil, err
	}
	return s, nil
}
