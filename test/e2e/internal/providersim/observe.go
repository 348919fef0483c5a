package providersim

import (
	"slices"
	"strings"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providerfake"
)

// atProvider merges the observed fields with the parameters the resource was
// created with (upjet reports both), keeping only fields the kind's schema
// has. Parameters win: some kinds have a parameter named like an observed
// field (cloudwatchevents Target's arn is the target's ARN).
func atProvider(k *Kind, id providerfake.Identity) map[string]any {
	out := map[string]any{}
	for key, v := range providerfake.ObservedFields(id) {
		if k.atProviderFields[key] {
			out[key] = v
		}
	}
	for key, v := range id.ForProvider {
		if k.atProviderFields[key] && !providerfake.IsReference(key) {
			out[key] = withoutReferences(v)
		}
	}
	return out
}

// withoutReferences drops reference and selector fields at any depth: the
// provider reports the resolved values in atProvider, never the references
// (the schema has no place for them, and the API server would prune them).
func withoutReferences(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for key, item := range v {
			if !providerfake.IsReference(key) {
				out[key] = withoutReferences(item)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = withoutReferences(item)
		}
		return out
	}
	return v
}

func sortRefs(refs []refField) {
	slices.SortFunc(refs, func(a, b refField) int {
		return strings.Compare(strings.Join(append(slices.Clone(a.Path), a.Field), "."), strings.Join(append(slices.Clone(b.Path), b.Field), "."))
	})
}
