package observe

import (
	"path/filepath"
	"testing"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/fnrequest"
)

func withStatus(status any) Resources {
	u := composed.New()
	u.Object["status"] = status
	return Resources{"r": {Resource: u}}
}

// exampleObserved returns the observed resources of an example
// (examples/xr-<example>.yaml with examples/observed/<example>.yaml).
func exampleObserved(t *testing.T, example string) map[resource.Name]resource.ObservedComposed {
	t.Helper()
	examples := filepath.Join("..", "..", "..", "examples")
	req, err := fnrequest.Read(filepath.Join(examples, "xr-"+example+".yaml"), filepath.Join(examples, "observed", example+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ocds, err := request.GetObservedComposedResources(req)
	if err != nil {
		t.Fatal(err)
	}
	return ocds
}

func TestCondition(t *testing.T) {
	unknown := xpv1.Condition{Type: xpv1.TypeReady, Status: corev1.ConditionUnknown}
	cases := map[string]struct {
		reason string
		r      Resources
		name   resource.Name
		want   xpv1.Condition
	}{
		"NotObserved": {
			reason: "A resource not observed yet reports nothing.",
			r:      Resources{},
			name:   "r",
			want:   unknown,
		},
		"NoStatus": {
			reason: "A resource the provider has not reconciled has no status.",
			r:      Resources{"r": {Resource: composed.New()}},
			name:   "r",
			want:   unknown,
		},
		"OtherTypesOnly": {
			reason: "Only a condition of the asked type counts.",
			r:      withStatus(map[string]any{"conditions": []any{map[string]any{"type": "Synced", "status": "True"}}}),
			name:   "r",
			want:   unknown,
		},
		"Found": {
			reason: "The condition's status, reason and message are read; other fields, known or not, are ignored.",
			r: withStatus(map[string]any{"conditions": []any{
				map[string]any{"type": "Synced", "status": "False", "reason": "ReconcileError", "message": "boom"},
				map[string]any{"type": "Ready", "status": "True", "reason": "Available", "message": "up",
					"lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": int64(3), "fromANewerProvider": map[string]any{"x": "y"}},
			}}),
			name: "r",
			want: xpv1.Condition{Type: xpv1.TypeReady, Status: corev1.ConditionTrue, Reason: "Available", Message: "up"},
		},
		"FirstOfItsType": {
			reason: "As with the typed list, the first entry of the type wins.",
			r: withStatus(map[string]any{"conditions": []any{
				map[string]any{"type": "Ready", "status": "False", "reason": "Creating"},
				map[string]any{"type": "Ready", "status": "True", "reason": "Available"},
			}}),
			name: "r",
			want: xpv1.Condition{Type: xpv1.TypeReady, Status: corev1.ConditionFalse, Reason: "Creating"},
		},
		"StatusNotAString": {
			reason: "A condition whose status is not a string is not a condition: Unknown, never Ready.",
			r:      withStatus(map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": true}}}),
			name:   "r",
			want:   unknown,
		},
		"ConditionsNotAList": {
			reason: "A malformed status reports nothing rather than failing.",
			r:      withStatus(map[string]any{"conditions": "Ready"}),
			name:   "r",
			want:   unknown,
		},
		"StatusNotAnObject": {
			reason: "A malformed status reports nothing rather than failing.",
			r:      withStatus("Ready"),
			name:   "r",
			want:   unknown,
		},
		"EntryNotAnObject": {
			reason: "Entries that are not objects are skipped.",
			r:      withStatus(map[string]any{"conditions": []any{"Ready", map[string]any{"type": "Ready", "status": "True"}}}),
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

// TestConditionAsSDK checks that reading the map gives what the SDK's
// GetCondition (a JSON round trip into the typed condition list) gives, for
// every condition the provider reports in the examples' observed resources,
// and for conditions whose values differ.
func TestConditionAsSDK(t *testing.T) {
	for _, example := range []string{"minimal", "full"} {
		ocds := exampleObserved(t, example)
		// The same resources, with each condition made False with a message.
		failing := Resources{}
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
			failing[name] = resource.ObservedComposed{Resource: &composed.Unstructured{Unstructured: *u}}
		}
		for _, r := range []Resources{Resources(ocds), failing} {
			if len(r) == 0 {
				t.Fatalf("%s: no observed resources", example)
			}
			for name, oc := range r {
				for _, ct := range []xpv1.ConditionType{xpv1.TypeReady, xpv1.TypeSynced, "Healthy"} {
					want := oc.Resource.GetCondition(ct)
					got := r.Condition(name, ct)
					if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(xpv1.Condition{}, "LastTransitionTime")); diff != "" {
						t.Errorf("%s %s %s: -SDK, +map:\n%s", example, name, ct, diff)
					}
				}
			}
		}
	}
}

// TestStringAsSDK checks that String, which walks a path of object fields
// without parsing it, gives what the SDK's GetString gives, for every
// observed resource of the examples and paths to strings, to other values,
// through non-objects, to nothing, and paths GetString parses itself.
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
		r := Resources(exampleObserved(t, example))
		found := 0
		for name, oc := range r {
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
	}
}
