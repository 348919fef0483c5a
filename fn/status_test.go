package main

import (
	"math"
	"testing"

	"github.com/crossplane/function-sdk-go/resource/composite"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestSetStatusAsSDK: setStatus leaves an XR as SetValue("status."+field)
// does, error for error, for the values the function sets (strings, the
// effective list) and for those it hands to SetValue.
func TestSetStatusAsSDK(t *testing.T) {
	effective := []any{map[string]any{"field": "spec.region", "value": "eu-west-1", "source": "claim"}, map[string]any{"field": "spec.x", "value": []any{1.5, true, nil}, "source": "platform"}}
	cases := map[string]struct {
		xr    map[string]any
		field string
		value any
	}{
		"NoStatus":          {xr: map[string]any{"spec": map[string]any{}}, field: "pipelineName", value: "p"},
		"Status":            {xr: map[string]any{"status": map[string]any{"other": "x"}}, field: "pipelineArn", value: "arn:aws:codepipeline:eu-west-1:123456789012:p"},
		"Replace":           {xr: map[string]any{"status": map[string]any{"pipelineName": "old"}}, field: "pipelineName", value: "new"},
		"List":              {xr: map[string]any{}, field: "effective", value: effective},
		"StatusNotObject":   {xr: map[string]any{"status": "x"}, field: "pipelineName", value: "p"},
		"StatusNull":        {xr: map[string]any{"status": nil}, field: "pipelineName", value: "p"},
		"NotJSONInt":        {xr: map[string]any{}, field: "n", value: 3},
		"NotJSONMap":        {xr: map[string]any{}, field: "m", value: map[string]string{"a": "b"}},
		"InvalidUTF8":       {xr: map[string]any{}, field: "s", value: "a\xffb"},
		"InvalidUTF8InList": {xr: map[string]any{}, field: "l", value: []any{map[string]any{"\xff": "x"}}},
		"NaN":               {xr: map[string]any{}, field: "f", value: math.NaN()},
		"Path":              {xr: map[string]any{}, field: "a.b", value: "x"},
		"Index":             {xr: map[string]any{"status": map[string]any{"a": []any{"x"}}}, field: "a[0]", value: "y"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			want := &composite.Unstructured{}
			want.Object = runtime.DeepCopyJSON(tc.xr)
			wantErr := want.SetValue("status."+tc.field, tc.value)
			got := &composite.Unstructured{}
			got.Object = runtime.DeepCopyJSON(tc.xr)
			err := setStatus(got, tc.field, tc.value)
			if diff := cmp.Diff(errString(wantErr), errString(err)); diff != "" {
				t.Errorf("error: -SetValue, +setStatus:\n%s", diff)
			}
			if diff := cmp.Diff(want.Object, got.Object); diff != "" {
				t.Errorf("-SetValue, +setStatus:\n%s", diff)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestClaimRefAsSDK: claimRef reads what GetClaimReference reads, for plain
// references and for the shapes it hands to GetClaimReference.
func TestClaimRefAsSDK(t *testing.T) {
	cases := map[string]map[string]any{
		"Claim":           {"spec": map[string]any{"claimRef": map[string]any{"apiVersion": "cicd.platform.dev/v1alpha1", "kind": "CicdPipeline", "namespace": "team-a", "name": "web"}}},
		"NoNamespace":     {"spec": map[string]any{"claimRef": map[string]any{"name": "web"}}},
		"NullName":        {"spec": map[string]any{"claimRef": map[string]any{"namespace": "team-a", "name": nil}}},
		"OtherFields":     {"spec": map[string]any{"claimRef": map[string]any{"name": "web", "uid": "x", "Name": "other"}}},
		"NoClaimRef":      {"spec": map[string]any{}},
		"NoSpec":          {},
		"SpecNotObject":   {"spec": "x"},
		"ClaimRefNull":    {"spec": map[string]any{"claimRef": nil}},
		"ClaimRefString":  {"spec": map[string]any{"claimRef": "web"}},
		"NameNotString":   {"spec": map[string]any{"claimRef": map[string]any{"namespace": "team-a", "name": 5.0}}},
		"KindNotString":   {"spec": map[string]any{"claimRef": map[string]any{"kind": true, "name": "web"}}},
		"NameInvalidUTF8": {"spec": map[string]any{"claimRef": map[string]any{"namespace": "team-a", "name": "w\xffb"}}},
	}
	for name, obj := range cases {
		t.Run(name, func(t *testing.T) {
			xr := &composite.Unstructured{}
			xr.Object = obj
			var want [2]string
			if ref := xr.GetClaimReference(); ref != nil {
				want = [2]string{ref.Namespace, ref.Name}
			}
			namespace, got := claimRef(xr)
			if diff := cmp.Diff(want, [2]string{namespace, got}); diff != "" {
				t.Errorf("-GetClaimReference, +claimRef:\n%s", diff)
			}
		})
	}
}
