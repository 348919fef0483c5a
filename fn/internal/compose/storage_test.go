package compose

import (
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/pkg/fieldpath"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestEmptyPrefixFilterAsSetValue: setEmptyPrefixFilter leaves an object as
// fieldpath's SetValue does, error for error, for the shape the builder
// composes and for others.
func TestEmptyPrefixFilterAsSetValue(t *testing.T) {
	rule := func() map[string]any {
		return map[string]any{"id": "expire", "status": "Enabled", "expiration": []any{map[string]any{"days": float64(30)}}}
	}
	cases := map[string]map[string]any{
		"Composed":       {"apiVersion": "s3.aws.upbound.io/v1beta1", "spec": map[string]any{"forProvider": map[string]any{"region": "us-east-1", "rule": []any{rule()}}}},
		"TwoRules":       {"spec": map[string]any{"forProvider": map[string]any{"rule": []any{rule(), rule()}}}},
		"FilterSet":      {"spec": map[string]any{"forProvider": map[string]any{"rule": []any{map[string]any{"filter": []any{map[string]any{"prefix": "logs/"}}}}}}},
		"NoRules":        {"spec": map[string]any{"forProvider": map[string]any{"rule": []any{}}}},
		"RuleNotAList":   {"spec": map[string]any{"forProvider": map[string]any{"rule": map[string]any{"id": "x"}}}},
		"RuleNotObject":  {"spec": map[string]any{"forProvider": map[string]any{"rule": []any{"x"}}}},
		"NoForProvider":  {"spec": map[string]any{}},
		"SpecNotObject":  {"spec": "x"},
		"Empty":          {},
		"NilRuleElement": {"spec": map[string]any{"forProvider": map[string]any{"rule": []any{nil}}}},
	}
	for name, obj := range cases {
		t.Run(name, func(t *testing.T) {
			want, got := runtime.DeepCopyJSON(obj), runtime.DeepCopyJSON(obj)
			wantErr := fieldpath.Pave(want).SetValue(lifecycleFilterPath, []any{map[string]any{"prefix": ""}})
			gotErr := setEmptyPrefixFilter(got)
			if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
				t.Errorf("error %v, want %v", gotErr, wantErr)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("-SetValue, +setEmptyPrefixFilter:\n%s", diff)
			}
		})
	}
}
