package observe

import (
	"path/filepath"
	"testing"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/types/known/structpb"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/fnrequest"
)

func withStatus(t *testing.T, status any) Resources {
	t.Helper()
	s, err := structpb.NewStruct(map[string]any{"status": status})
	if err != nil {
		t.Fatal(err)
	}
	return Resources{"r": s}
}

// exampleObserved returns the observed resources of an example
// (examples/xr-<example>.yaml with examples/observed/<example>.yaml), as
// Resources and as the SDK's GetObservedComposedResources gives them.
func exampleObserved(t *testing.T, example string) (Resources, map[resource.Name]resource.ObservedComposed) {
	t.Helper()
	_, req, err := fnrequest.Example(filepath.Join("..", "..", "..", "examples"), example)
	if err != nil {
		t.Fatal(err)
	}
	return observed(t, req)
}

// observed returns req's observed resources as Resources and as the SDK
// gives them.
func observed(t *testing.T, req *fnv1.RunFunctionRequest) (Resources, map[resource.Name]resource.ObservedComposed) {
	t.Helper()
	ocds, err := request.GetObservedComposedResources(req)
	if err != nil {
		t.Fatal(err)
	}
	return FromRequest(req), ocds
}

func TestCondition(t *testing.T) {
	unknown := xpv1.Condition{Type: xpv1.TypeReady, Status: corev1.ConditionUnknown}
	cases := map[string]struct {
		reason string
		r      Resources
		name   resource.Name
		want   xpv1.Condition
	}{
		"NoObject": {
			reason: "A resource observed without an object reports nothing.",
			r:      Resources{"r": nil},
			name:   "r",
			want:   unknown,
		},
		"NotObserved": {
			reason: "A resource not observed yet reports nothing.",
			r:      Resources{},
			name:   "r",
			want:   unknown,
		},
		"NoStatus": {
			reason: "A resource the provider has not reconciled has no status.",
			r:      Resources{"r": &structpb.Struct{}},
			name:   "r",
			want:   unknown,
		},
		"OtherTypesOnly": {
			reason: "Only a condition of the asked type counts.",
			r:      withStatus(t, map[string]any{"conditions": []any{map[string]any{"type": "Synced", "status": "True"}}}),
			name:   "r",
			want:   unknown,
		},
		"Found": {
			reason: "The condition's status, reason and message are read; other fields, known or not, are ignored.",
			r: withStatus(t, map[string]any{"conditions": []any{
				map[string]any{"type": "Synced", "status": "False", "reason": "ReconcileError", "message": "boom"},
				map[string]any{"type": "Ready", "status": "True", "reason": "Available", "message": "up",
					"lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": int64(3), "fromANewerProvider": map[string]any{"x": "y"}},
			}}),
			name: "r",
			want: xpv1.Condition{Type: xpv1.TypeReady, Status: corev1.ConditionTrue, Reason: "Available", Message: "up"},
		},
		"FirstOfItsType": {
			reason: "As with the typed list, the first entry of the type wins.",
			r: withStatus(t, map[string]any{"conditions": []any{
				map[string]any{"type": "Ready", "status": "False", "reason": "Creating"},
				map[string]any{"type": "Ready", "status": "True", "reason": "Available"},
			}}),
			name: "r",
			want: xpv1.Condition{Type: xpv1.TypeReady, Status: corev1.ConditionFalse, Reason: "Creating"},
		},
		"StatusNotAString": {
			reason: "A condition whose status is not a string is not a condition: Unknown, never Ready.",
			r:      withStatus(t, map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": true}}}),
			name:   "r",
			want:   unknown,
		},
		"ConditionsNotAList": {
			reason: "A malformed status reports nothing rather than failing.",
			r:      withStatus(t, map[string]any{"conditions": "Ready"}),
			name:   "r",
			want:   unknown,
		},
		"StatusNotAnObject": {
			reason: "A malformed status reports nothing rather than failing.",
			r:      withStatus(t, "Ready"),
			name:   "r",
			want:   unknown,
		},
		"EntryNotAnObject": {
			reason: "Entries that are not objects are skipped.",
			r:      withStatus(t, map[string]any{"conditions": []any{"Ready", map[string]any{"type": "Ready", "status": "True"}}}),
			name:   "r",
			want:   xpv1.Condition{Type: xpv1.TypeReady, Status: corev1.ConditionTrue},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := tc.r.Condition(tc.name, xpv1.TypeReady)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nCondition(): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestConditionAsSDK checks that reading the request's objects gives what
// the SDK's GetCondition (a JSON round trip into the typed condition list)
// gives on the objects GetObservedComposedResources converts, for every
// condition the provider reports in the examples' observed resources, and
// for conditions whose values differ.
func TestConditionAsSDK(t *testing.T) {
	for _, example := range []string{"minimal", "full"} {
		r, ocds := exampleObserved(t, example)
		// The same resources, with each condition made False with a message.
		failingReq := &fnv1.RunFunctionRequest{Observed: &fnv1.State{Resources: map[string]*fnv1.Resource{}}}
		for name, oc := range ocds {
			u := &unstructured.Unstructured{Object: oc.Resource.DeepCopy().Object}
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			for _, c := range conds {
				c.(map[string]any)["status"] = "False"
				c.(map[string]any)["message"] = "cannot observe " + string(name)
			}
			if err := unstructured.SetNestedSlice(u.Object, conds, "status", "conditions"); err != nil {
				t.Fatal(err)
			}
			s, err := structpb.NewStruct(u.Object)
			if err != nil {
				t.Fatal(err)
			}
			failingReq.Observed.Resources[string(name)] = &fnv1.Resource{Resource: s}
		}
		failing, failingOcds := observed(t, failingReq)
		for _, c := range []struct {
			r    Resources
			ocds map[resource.Name]resource.ObservedComposed
		}{{r, ocds}, {failing, failingOcds}} {
			if len(c.ocds) == 0 || len(c.r) != len(c.ocds) {
				t.Fatalf("%s: %d observed resources, the SDK %d", example, len(c.r), len(c.ocds))
			}
			for name, oc := range c.ocds {
				for _, ct := range []xpv1.ConditionType{xpv1.TypeReady, xpv1.TypeSynced, "Healthy"} {
					want := oc.Resource.GetCondition(ct)
					got := c.r.Condition(name, ct)
					if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(xpv1.Condition{}, "LastTransitionTime")); diff != "" {
						t.Errorf("%s %s %s: -SDK, +Resources:\n%s", example, name, ct, diff)
					}
				}
			}
		}
	}
}

// TestStringAsSDK checks that String, which walks a path of object fields
// without parsing it, gives what the SDK's GetString gives on the objects
// GetObservedComposedResources converts, for every observed resource of the
// examples and paths to strings, to other values, through non-objects, to
// nothing, and paths GetString parses itself.
func TestStringAsSDK(t *testing.T) {
	paths := []string{
		"status.atProvider.arn", "status.atProvider.id", "status.atProvider.repositoryUrl",
		"status.atProvider.connectionStatus", "spec.forProvider.region", "metadata.name", "kind",
		"status.atProvider", "status.conditions", "status.atProvider.arn.more", "spec.forProvider.tags.environment",
		"status.nothing.here", "nothing",
		"metadata.annotations[crossplane.io/external-name]", "status.conditions[0].type",
		"status..atProvider", ".status", "status.", "",
	}
	for _, example := range []string{"minimal", "full"} {
		r, ocds := exampleObserved(t, example)
		found := 0
		for name, oc := range ocds {
			for _, p := range paths {
				want, err := oc.Resource.GetString(p)
				if err != nil {
					want = ""
				}
				if want != "" {
					found++
				}
				if got := r.String(name, p); got != want {
					t.Errorf("%s %s %q: got %q, GetString %q", example, name, p, got, want)
				}
			}
		}
		if found == 0 {
			t.Errorf("%s: no path found a string", example)
		}
		if got := r.String("not-observed", "status.atProvider.arn"); got != "" {
			t.Errorf("%s: String of a resource not observed = %q, want \"\"", example, got)
		}
	}
}

// TestObjectAsSDK checks that Object gives each observed resource as
// GetObservedComposedResources does, including one observed without an
// object, and a copy: changing it leaves the observed resources alone.
func TestObjectAsSDK(t *testing.T) {
	for _, example := range []string{"minimal", "full"} {
		_, req, err := fnrequest.Example(filepath.Join("..", "..", "..", "examples"), example)
		if err != nil {
			t.Fatal(err)
		}
		req.Observed.Resources["no-object"] = &fnv1.Resource{}
		r, ocds := observed(t, req)
		for name, oc := range ocds {
			got, ok := r.Object(name)
			if !ok {
				t.Errorf("%s %s: not observed", example, name)
				continue
			}
			if diff := cmp.Diff(oc.Resource, got); diff != "" {
				t.Errorf("%s %s: -SDK, +Object:\n%s", example, name, diff)
			}
			got.SetName("changed")
			if again, _ := r.Object(name); again.GetName() == "changed" {
				t.Errorf("%s %s: changing Object's result changed the observed resource", example, name)
			}
		}
		if _, ok := r.Object("not-observed"); ok {
			t.Errorf("%s: Object of a resource not observed reports it observed", example)
		}
	}
}
