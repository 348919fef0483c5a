package main

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/compose"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providercrds"
)

// selectorTarget reads the kind and group a provider-aws selector resolves,
// from the CRD's field description ("Selector for a Role in iam to populate
// role.").
var selectorTarget = regexp.MustCompile(`^Selector for (?:a list of |an? )(\w+) in (\w+) to populate`)

// TestSelectorsResolveToComposedKinds checks that every selector the
// function emits matches, by its component label, a composed resource of the
// kind the provider resolves that selector to. A selector to the wrong kind
// never resolves in a real cluster.
func TestSelectorsResolveToComposedKinds(t *testing.T) {
	for _, example := range []string{"xr-minimal.yaml", "xr-full.yaml"} {
		_, rsp := converge(t, xrFile(t, example), nil)
		d := desired(rsp)
		// Composed resources are labelled with their own name as component.
		byComponent := d
		for _, name := range sortedNames(d) {
			u := d[name]
			forProvider, _, _ := unstructured.NestedMap(u.Object, "spec", "forProvider")
			for _, sel := range selectors(forProvider, []string{"spec", "forProvider"}) {
				desc, err := providercrds.FieldDescription(u.GroupVersionKind(), sel.path...)
				if err != nil {
					t.Fatal(err)
				}
				m := selectorTarget.FindStringSubmatch(desc)
				if m == nil {
					t.Errorf("%s %s: cannot tell what %s selects from %q", example, name, strings.Join(sel.path, "."), desc)
					continue
				}
				target, ok := byComponent[sel.component]
				if !ok {
					t.Errorf("%s %s: %s selects component %s, which is not composed", example, name, strings.Join(sel.path, "."), sel.component)
					continue
				}
				group, _, _ := strings.Cut(target.GroupVersionKind().Group, ".")
				if target.GetKind() != m[1] || group != m[2] {
					t.Errorf("%s %s: %s resolves a %s in %s, but selects %s (a %s in %s)", example, name, strings.Join(sel.path, "."), m[1], m[2], sel.component, target.GetKind(), group)
				}
			}
		}
	}
}

type selectorAt struct {
	path      []string
	component string
}

// selectors finds every *Selector field under obj (stepping through lists)
// and the component label it matches.
func selectors(obj map[string]any, path []string) []selectorAt {
	var out []selectorAt
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := append(append([]string(nil), path...), k)
		switch v := obj[k].(type) {
		case map[string]any:
			if strings.HasSuffix(k, "Selector") {
				labels, _, _ := unstructured.NestedStringMap(v, "matchLabels")
				out = append(out, selectorAt{path: p, component: labels[compose.LabelComponent]})
				continue
			}
			out = append(out, selectors(v, p)...)
		case []any:
			for _, item := range v {
				if m, ok := item.(map[string]any); ok {
					out = append(out, selectors(m, p)...)
				}
			}
		}
	}
	return out
}
