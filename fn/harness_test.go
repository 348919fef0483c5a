package main

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/platform"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/crdschema"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providercrds"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providerfake"
)

// xrFromYAML parses an XR manifest into the struct RunFunction receives.
func xrFromYAML(t testing.TB, y string) *structpb.Struct {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatalf("cannot parse the XR: %v", err)
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(j, s); err != nil {
		t.Fatalf("cannot convert the XR: %v", err)
	}
	return s
}

// xrFile reads an XR from the examples folder.
func xrFile(t testing.TB, name string) *structpb.Struct {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return xrFromYAML(t, string(b))
}

// newRequest builds a RunFunctionRequest for the XR and observed resources.
func newRequest(xr *structpb.Struct, observed map[string]*unstructured.Unstructured) *fnv1.RunFunctionRequest {
	req := &fnv1.RunFunctionRequest{
		Meta:     &fnv1.RequestMeta{Tag: "test"},
		Observed: &fnv1.State{Composite: &fnv1.Resource{Resource: xr}, Resources: map[string]*fnv1.Resource{}},
		// Crossplane has answered the function's requirement: no
		// platform-defaults EnvironmentConfig exists.
		RequiredResources: map[string]*fnv1.Resources{platform.RequirementName: {}},
	}
	for name, u := range observed {
		s, err := structpb.NewStruct(u.Object)
		if err != nil {
			panic(err)
		}
		req.Observed.Resources[name] = &fnv1.Resource{Resource: s}
	}
	return req
}

// withConfigs answers the function's requirement with these
// EnvironmentConfigs.
func withConfigs(req *fnv1.RunFunctionRequest, configs ...*structpb.Struct) *fnv1.RunFunctionRequest {
	items := make([]*fnv1.Resource, 0, len(configs))
	for _, c := range configs {
		items = append(items, &fnv1.Resource{Resource: c})
	}
	req.RequiredResources = map[string]*fnv1.Resources{platform.RequirementName: {Items: items}}
	return req
}

func run(t *testing.T, req *fnv1.RunFunctionRequest) *fnv1.RunFunctionResponse {
	t.Helper()
	rsp, err := NewFunction(logging.NewNopLogger()).RunFunction(context.Background(), req)
	if err != nil {
		t.Fatalf("RunFunction returned an error: %v", err)
	}
	return rsp
}

// desired returns the response's desired composed resources as unstructured.
func desired(rsp *fnv1.RunFunctionResponse) map[string]*unstructured.Unstructured {
	out := map[string]*unstructured.Unstructured{}
	for name, r := range rsp.GetDesired().GetResources() {
		out[name] = &unstructured.Unstructured{Object: r.GetResource().AsMap()}
	}
	return out
}

// converge plays the provider until the function composes nothing new: each
// round, every desired resource is validated against its provider CRD and
// observed as created and Ready (then changed by tweak, if given). It returns
// the final observed resources and response.
func converge(t *testing.T, xr *structpb.Struct, tweak func(name string, u *unstructured.Unstructured)) (map[string]*unstructured.Unstructured, *fnv1.RunFunctionResponse) {
	t.Helper()
	return convergeWith(t, xr, nil, tweak)
}

// convergeWith is converge with these platform-defaults EnvironmentConfigs.
func convergeWith(t *testing.T, xr *structpb.Struct, configs []*structpb.Struct, tweak func(name string, u *unstructured.Unstructured)) (map[string]*unstructured.Unstructured, *fnv1.RunFunctionResponse) {
	t.Helper()
	observed, rsp, _ := convergeRounds(t, xr, configs, tweak)
	return observed, rsp
}

// convergeRounds is convergeWith that also returns the rounds of
// observation it took: the number of the first response (from 1, the
// response to the XR with nothing observed) that composed every resource
// the final one does.
func convergeRounds(t *testing.T, xr *structpb.Struct, configs []*structpb.Struct, tweak func(name string, u *unstructured.Unstructured)) (map[string]*unstructured.Unstructured, *fnv1.RunFunctionResponse, int) {
	t.Helper()
	xrName, _ := xr.AsMap()["metadata"].(map[string]any)["name"].(string)
	// Crossplane creates a namespaced XR's composed resources in its
	// namespace.
	xrNamespace, _ := xr.AsMap()["metadata"].(map[string]any)["namespace"].(string)
	observed := map[string]*unstructured.Unstructured{}
	for round := range 10 {
		rsp := run(t, withConfigs(newRequest(xr, observed), configs...))
		if fatal := fatalMessage(rsp); fatal != "" {
			t.Fatalf("round %d: fatal result: %s", round, fatal)
		}
		d := desired(rsp)
		// Whatever the function emits, in every round, must be valid for
		// the provider's CRDs.
		validateComposed(t, d)
		// AWS refuses a policy naming a principal that does not exist:
		// only what earlier rounds created exists when this round's
		// resources are created or updated.
		requireExistingPrincipals(t, round, d, observed)
		next := map[string]*unstructured.Unstructured{}
		for name, u := range d {
			o := providerfake.Observe(xrName, name, u)
			if xrNamespace != "" {
				o.SetNamespace(xrNamespace)
			}
			// The fake is shared with the e2e simulator: like the API server
			// (and the simulator), keep only the status fields the
			// provider's CRD declares, then check the rest against it, so
			// the function is never tested on fields the provider cannot
			// report.
			pruneAtProvider(t, o)
			validateObserved(t, name, o)
			if tweak != nil {
				tweak(name, o)
			}
			next[name] = o
		}
		if sameKeys(next, observed) && round > 0 {
			// Response round (from 0) composed nothing new: the one before
			// it, number round counting from 1, was complete.
			return observed, rsp, round
		}
		observed = next
	}
	t.Fatal("the function did not converge in 10 rounds")
	return nil, nil, 0
}

// requireExistingPrincipals fails the test when a desired resource's policy
// names as principal an IAM role or user of the fake's account that no
// observed resource is (providerfake.UnknownPrincipals): the provider's
// create or update would fail with "Invalid principal in policy".
func requireExistingPrincipals(t *testing.T, round int, d, observed map[string]*unstructured.Unstructured) {
	t.Helper()
	arns := map[string]bool{}
	for _, o := range observed {
		if arn, _, _ := unstructured.NestedString(o.Object, "status", "atProvider", "arn"); arn != "" {
			arns[arn] = true
		}
	}
	for _, name := range sortedNames(d) {
		for _, p := range providerfake.UnknownPrincipals(d[name], providerfake.Account, func(arn string) bool { return arns[arn] }) {
			t.Errorf("round %d: %s names principal %s before it exists: AWS refuses the policy (Invalid principal in policy)", round+1, name, p)
		}
	}
}

func sameKeys(a, b map[string]*unstructured.Unstructured) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func fatalMessage(rsp *fnv1.RunFunctionResponse) string {
	for _, r := range rsp.GetResults() {
		if r.GetSeverity() == fnv1.Severity_SEVERITY_FATAL {
			return r.GetMessage()
		}
	}
	return ""
}

func sortedNames(m map[string]*unstructured.Unstructured) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// providerValidator returns a validator for the real provider-aws CRD of
// the object's kind, at the object's version.
func providerValidator(t *testing.T, u *unstructured.Unstructured) *crdschema.Validator {
	t.Helper()
	v, err := providercrds.Validator(u.GroupVersionKind())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// validateComposed checks every desired composed resource against the real
// provider-aws CRD of its kind: schema, unknown fields and CEL rules. It
// validates the object as the API server would store it, with the CRD's
// defaults applied.
func validateComposed(t *testing.T, d map[string]*unstructured.Unstructured) {
	t.Helper()
	for _, name := range sortedNames(d) {
		u := d[name]
		if _, ok := u.Object["status"]; ok {
			t.Errorf("%s: desired state has a status block", name)
		}
		obj := u.DeepCopy().Object
		if err := unstructured.SetNestedField(obj, "validation-"+name, "metadata", "name"); err != nil {
			t.Fatal(err)
		}
		v := providerValidator(t, u)
		v.Default(obj)
		if errs := v.Validate(obj, nil); len(errs) > 0 {
			t.Errorf("%s (%s) violates its provider-aws CRD: %s", name, u.GroupVersionKind(), crdschema.Summary(errs))
		}
	}
}

// resourceNames returns the resource names of a response, for readable diffs.
func resourceNames(rsp *fnv1.RunFunctionResponse) []string {
	return sortedNames(desired(rsp))
}

// validateObserved checks an observed resource, status included, against
// the real provider-aws CRD of its kind: the function must read only fields
// the provider can report.
func validateObserved(t *testing.T, name string, u *unstructured.Unstructured) {
	t.Helper()
	obj := u.DeepCopy().Object
	v := providerValidator(t, u)
	v.Default(obj)
	if errs := v.Validate(obj, nil); len(errs) > 0 {
		t.Errorf("observed %s (%s) is not what the provider could report: %s", name, u.GroupVersionKind(), crdschema.Summary(errs))
	}
}

// pruneAtProvider drops the status.atProvider fields, at any depth, that the
// provider's CRD does not declare, as the API server prunes them.
func pruneAtProvider(t *testing.T, u *unstructured.Unstructured) {
	t.Helper()
	sch, err := providercrds.Schema(u.GroupVersionKind())
	if err != nil {
		t.Fatal(err)
	}
	at, found, _ := unstructured.NestedMap(u.Object, "status", "atProvider")
	if !found {
		return
	}
	atSchema := sch.Properties["status"].Properties["atProvider"]
	prune(at, &atSchema)
	if err := unstructured.SetNestedMap(u.Object, at, "status", "atProvider"); err != nil {
		t.Fatal(err)
	}
}

// prune removes from v what the structural schema s does not declare.
func prune(v any, s *apiextensionsv1.JSONSchemaProps) {
	if s == nil || (s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields) {
		return
	}
	switch v := v.(type) {
	case map[string]any:
		if s.AdditionalProperties != nil {
			for _, item := range v {
				prune(item, s.AdditionalProperties.Schema)
			}
			return
		}
		for k, item := range v {
			ps, ok := s.Properties[k]
			if !ok {
				delete(v, k)
				continue
			}
			prune(item, &ps)
		}
	case []any:
		if s.Items != nil {
			for _, item := range v {
				prune(item, s.Items.Schema)
			}
		}
	}
}
