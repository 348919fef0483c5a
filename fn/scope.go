package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/crossplane/function-sdk-go/errors"
	"github.com/crossplane/function-sdk-go/resource/composite"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"
	namespaced "github.com/cicd-platform/crossplane-cicd-pipeline/apis/namespaced/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/compose"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/platform"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/specschema"
)

// xrScope is what the function needs to know about the API an XR belongs
// to: the claim API's cluster-scoped XR (cicd.platform.dev) or the
// namespaced CicdPipeline (cicd.m.platform.dev). The rest of the function
// works on the claim API's spec (the shared parameters plus
// providerConfigName and deletionPolicy), so platform defaults, validation
// and every builder are the same for both.
type xrScope struct {
	// Scope adapts the composed resources to the XR's scope.
	Scope compose.Scope
	// NamePrefix starts every AWS name (see naming).
	NamePrefix string
	// Composite identifies the XR in the composite tag.
	Composite string
	// Namespaced is true for a namespaced XR.
	Namespaced bool
}

// scopeOf returns the XR's scope and its spec in the claim API's shape.
// A namespaced XR's spec is validated against its own XRD first (so a
// claim-only field such as deletionPolicy is refused, naming the field),
// then its providerConfigRef.name becomes providerConfigName, which the
// platform defaults and enforces as for a claim; its kind goes to the scope.
func scopeOf(xr *composite.Unstructured, specs *specCache) (*composite.Unstructured, *xrScope, error) {
	gv, err := schema.ParseGroupVersion(xr.GetAPIVersion())
	if err != nil {
		return nil, nil, errors.Wrap(err, "apiVersion")
	}
	switch gv.Group {
	case v1alpha1.Group:
		return xr, &xrScope{Scope: compose.ClusterScope{}, NamePrefix: xr.GetName(), Composite: xr.GetName()}, nil
	case namespaced.Group:
	default:
		return nil, nil, errors.Errorf("apiVersion: %s is neither %s nor %s", gv.Group, v1alpha1.Group, namespaced.Group)
	}
	if xr.GetNamespace() == "" {
		return nil, nil, errors.Errorf("metadata.namespace: a %s is namespaced", namespaced.Kind)
	}
	raw, ok := xr.Object["spec"].(map[string]any)
	if !ok {
		return nil, nil, errors.New("spec: Required value")
	}
	spec := runtime.DeepCopyJSON(raw)
	for _, f := range crossplaneSpecFields {
		delete(spec, f)
	}
	spec, err = specs.CheckNamespaced(spec)
	if err != nil {
		return nil, nil, err
	}
	kind := v1alpha1.DefaultProviderConfigKind
	if ref, ok := spec["providerConfigRef"].(map[string]any); ok {
		if k, ok := ref["kind"].(string); ok {
			kind = k
		}
		if n, ok := ref["name"].(string); ok {
			spec["providerConfigName"] = n
		}
		delete(spec, "providerConfigRef")
	}
	view := xr.DeepCopy()
	view.Object["spec"] = spec
	id := xr.GetNamespace() + "/" + xr.GetName()
	return view, &xrScope{
		Scope:      compose.NamespacedScope{ProviderConfigKind: kind},
		NamePrefix: namespacedPrefix(xr.GetNamespace(), xr.GetName()),
		Composite:  id,
		Namespaced: true,
	}, nil
}

// checkNamespaced defaults and validates a namespaced spec (without
// Crossplane's fields) against the namespaced XRD, returning it defaulted:
// the CEL rules read defaulted fields (source.provider), as the API
// server's would.
func checkNamespaced(spec map[string]any) (map[string]any, error) {
	v, err := xrd.NamespacedValidator()
	if err != nil {
		return nil, errors.Wrap(err, "cannot load the namespaced XRD's schema")
	}
	return spec, defaultAndValidate(v, spec)
}

// defaultAndValidate defaults spec in place and validates it, as the API
// server does an object's spec.
func defaultAndValidate(v *specschema.Validator, spec map[string]any) error {
	obj := map[string]any{"spec": spec}
	v.Default(obj)
	if errs := v.Validate(obj); len(errs) > 0 {
		return errors.New(specschema.Summary(errs))
	}
	return nil
}

// namespacedPrefix is the AWS name prefix of a namespaced XR: its name and a
// hash of namespace/name. Crossplane gives a claim's XR a random suffix;
// a namespaced XR is named by its team alone, and two teams' "shop" in two
// namespaces must not get the same AWS names (S3 bucket names are global,
// IAM role names per account). The hash has 8 hex digits, as the shortened
// names (naming.fit) do.
func namespacedPrefix(namespace, name string) string {
	sum := sha256.Sum256([]byte(namespace + "/" + name))
	return fmt.Sprintf("%s-%s", name, hex.EncodeToString(sum[:])[:8])
}

// namespacedEffective names the resolved provider config fields as the
// namespaced API spells them.
func namespacedEffective(res *platform.Result, xr *composite.Unstructured, s compose.NamespacedScope) {
	kindSource := "default"
	if k, _ := xr.GetString("spec.providerConfigRef.kind"); k != "" {
		kindSource = "claim"
	}
	out := make([]v1alpha1.EffectiveValue, 0, len(res.Effective)+1)
	for _, e := range res.Effective {
		if e.Field == "providerConfigName" {
			out = append(out,
				v1alpha1.EffectiveValue{Field: "providerConfigRef.kind", Value: s.ProviderConfigKind, Source: kindSource},
				v1alpha1.EffectiveValue{Field: "providerConfigRef.name", Value: e.Value, Source: e.Source})
			continue
		}
		out = append(out, e)
	}
	res.Effective = out
}
