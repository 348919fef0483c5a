package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"sigs.k8s.io/yaml"
)

// function-go-templating's annotations: which composed resource a document
// is, and whether it is ready.
const (
	annotationName  = "gotemplating.fn.crossplane.io/composition-resource-name"
	annotationReady = "gotemplating.fn.crossplane.io/ready"
)

// goTemplate writes a function-go-templating template that emits what this
// repository's function emits, from the same request: every composed
// resource, with the XR's name, its region and every value the provider
// reported (ARNs, URLs, IDs) read from the request rather than written in,
// each resource's readiness from its observed Ready condition, and the XR's
// status from the observed resources. Resources the function composes only
// once others are observed are emitted only when resources are observed;
// a resource whose create and reconcile forms differ has both.
func goTemplate(create, reconcile *fnv1.RunFunctionResponse, req *fnv1.RunFunctionRequest) (string, error) {
	xr := req.GetObserved().GetComposite().GetResource().AsMap()
	meta, _ := xr["metadata"].(map[string]any)
	spec, _ := xr["spec"].(map[string]any)
	xrName, _ := meta["name"].(string)
	region, _ := spec["region"].(string)
	if xrName == "" || region == "" {
		return "", fmt.Errorf("the XR has no metadata.name or spec.region")
	}

	// Every string the provider reported in status.atProvider that the
	// function could not have known on create (ARNs, URLs, generated IDs;
	// not the echoes of the spec, such as the region), longest first, so an
	// ARN is replaced whole before the region inside it.
	onCreateText, err := protojson.Marshal(create.GetDesired())
	if err != nil {
		return "", err
	}
	type sub struct{ old, new string }
	var observedSubs []sub
	for name, r := range req.GetObserved().GetResources() {
		ap := r.GetResource().GetFields()["status"].GetStructValue().GetFields()["atProvider"].GetStructValue().GetFields()
		for field, v := range ap {
			s := v.GetStringValue()
			if len(s) < 8 || !strings.ContainsAny(s, ":/.-") || strings.Contains(string(onCreateText), s) {
				continue
			}
			observedSubs = append(observedSubs, sub{s, fmt.Sprintf(`{{ (index $.observed.resources %q).resource.status.atProvider.%s }}`, name, field)})
		}
	}
	specSubs := []sub{{xrName, `{{ $xr.metadata.name }}`}, {region, `{{ $xr.spec.region }}`}}
	replacer := func(subs []sub) *strings.Replacer {
		subs = slices.Clone(subs)
		slices.SortStableFunc(subs, func(a, b sub) int { return cmp.Or(cmp.Compare(len(b.old), len(a.old)), cmp.Compare(a.old, b.old)) })
		args := make([]string, 0, 2*len(subs))
		for _, s := range subs {
			args = append(args, s.old, s.new)
		}
		return strings.NewReplacer(args...)
	}
	onCreate := replacer(specSubs)
	onReconcile := replacer(append(observedSubs, specSubs...))

	doc := func(name string, r *structpb.Struct, rep *strings.Replacer) (string, error) {
		m := r.AsMap()
		md, _ := m["metadata"].(map[string]any)
		if md == nil {
			md = map[string]any{}
			m["metadata"] = md
		}
		a, _ := md["annotations"].(map[string]any)
		if a == nil {
			a = map[string]any{}
			md["annotations"] = a
		}
		a[annotationName] = name
		a[annotationReady] = "READY-PLACEHOLDER"
		y, err := yaml.Marshal(m)
		if err != nil {
			return "", err
		}
		ready := fmt.Sprintf(`"{{ if and $.observed.resources (eq (getResourceCondition "Ready" (index $.observed.resources %q)).Status "True") }}True{{ else }}False{{ end }}"`, name)
		return "---\n" + strings.Replace(rep.Replace(string(y)), "READY-PLACEHOLDER", ready, 1), nil
	}

	var b strings.Builder
	b.WriteString("{{- $xr := .observed.composite.resource }}\n")
	names := make([]string, 0, len(reconcile.GetDesired().GetResources()))
	for n := range reconcile.GetDesired().GetResources() {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		rec, err := doc(n, reconcile.GetDesired().GetResources()[n].GetResource(), onReconcile)
		if err != nil {
			return "", err
		}
		cr, ok := create.GetDesired().GetResources()[n]
		if !ok {
			fmt.Fprintf(&b, "{{- if $.observed.resources }}\n%s{{- end }}\n", rec)
			continue
		}
		cre, err := doc(n, cr.GetResource(), onCreate)
		if err != nil {
			return "", err
		}
		if cre == rec {
			b.WriteString(rec)
			continue
		}
		fmt.Fprintf(&b, "{{- if $.observed.resources }}\n%s{{- else }}\n%s{{- end }}\n", rec, cre)
	}

	// The XR's status, read from the observed resources.
	status := reconcile.GetDesired().GetComposite().GetResource().GetFields()["status"].GetStructValue().AsMap()
	if len(status) > 0 {
		b.WriteString("{{- if $.observed.resources }}\n---\n")
		fmt.Fprintf(&b, "apiVersion: %s\nkind: %s\nstatus:\n", xr["apiVersion"], xr["kind"])
		keys := make([]string, 0, len(status))
		for k := range status {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v, ok := status[k].(string)
			if !ok {
				// Lists and objects (status.effective) as JSON, which YAML
				// reads as flow style.
				j, err := json.Marshal(status[k])
				if err != nil {
					return "", err
				}
				fmt.Fprintf(&b, "  %s: %s\n", k, j)
				continue
			}
			fmt.Fprintf(&b, "  %s: %q\n", k, v)
		}
		b.WriteString("{{- end }}\n")
		// Values in the status block come from the observed resources too.
		s := b.String()
		i := strings.LastIndex(s, "status:\n")
		return s[:i] + onReconcile.Replace(s[i:]), nil
	}
	return b.String(), nil
}

// goTemplatingInput is function-go-templating's input for an inline
// template.
func goTemplatingInput(tmpl string) (*fnv1.RunFunctionRequest, error) {
	in, err := structpb.NewStruct(map[string]any{
		"apiVersion": "gotemplating.fn.crossplane.io/v1beta1",
		"kind":       "GoTemplate",
		"source":     "Inline",
		"inline":     map[string]any{"template": tmpl},
	})
	if err != nil {
		return nil, err
	}
	return &fnv1.RunFunctionRequest{Input: in}, nil
}
