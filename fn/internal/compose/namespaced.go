package compose

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	"github.com/crossplane/function-sdk-go/errors"
	"github.com/crossplane/function-sdk-go/resource/composed"
)

// Group suffixes of provider-aws's cluster-scoped and namespaced managed
// resources: s3.aws.upbound.io and s3.aws.m.upbound.io serve the same kinds.
const (
	ClusterGroupSuffix    = ".aws.upbound.io"
	NamespacedGroupSuffix = ".aws.m.upbound.io"
)

// Kinds of provider-aws (aws.m.upbound.io) provider config a namespaced
// managed resource can name.
const (
	ProviderConfigKind        = "ProviderConfig"
	ClusterProviderConfigKind = "ClusterProviderConfig"
)

// NamespacedScope composes provider-aws's namespaced managed resources
// (*.aws.m.upbound.io) for a namespaced (Crossplane v2) XR. Crossplane
// creates them in the XR's namespace, and their selectors (which name no
// namespace) resolve in that namespace, so a pipeline only ever wires up its
// own namespace's resources.
type NamespacedScope struct {
	// ProviderConfigKind is ProviderConfig (in the XR's namespace) or
	// ClusterProviderConfig.
	ProviderConfigKind string
}

// AsBuilt is false: Finalize reshapes every resource.
func (NamespacedScope) AsBuilt() bool { return false }

// Finalize turns a resource built from the cluster-scoped typed structs into
// its namespaced twin: the namespaced group, a provider config reference
// with its kind, and no deletion policy (namespaced managed resources have
// none: Orphan becomes management policies without Delete). The result is
// then decoded strictly into the namespaced typed struct of its kind, so a
// field the namespaced schema lacks is an error here, not a surprise in the
// cluster, and encoded again from that struct.
func (s NamespacedScope) Finalize(u *composed.Unstructured) error {
	if s.ProviderConfigKind != ProviderConfigKind && s.ProviderConfigKind != ClusterProviderConfigKind {
		return errors.Errorf("provider config kind must be %s or %s, not %q", ProviderConfigKind, ClusterProviderConfigKind, s.ProviderConfigKind)
	}
	gvk := u.GroupVersionKind()
	group, ok := strings.CutSuffix(gvk.Group, ClusterGroupSuffix)
	if !ok {
		return errors.Errorf("%s is not a provider-aws cluster-scoped kind", gvk)
	}
	gvk.Group = group + NamespacedGroupSuffix
	u.SetGroupVersionKind(gvk)

	spec, ok := u.Object["spec"].(map[string]any)
	if !ok {
		return errors.Errorf("%s has no spec", gvk.Kind)
	}
	policy, _ := spec["deletionPolicy"].(string)
	delete(spec, "deletionPolicy")
	if policy == string(xpv1.DeletionOrphan) {
		mp, err := orphaned(spec["managementPolicies"])
		if err != nil {
			return err
		}
		spec["managementPolicies"] = mp
	}
	ref, _ := spec["providerConfigRef"].(map[string]any)
	name, _ := ref["name"].(string)
	spec["providerConfigRef"] = map[string]any{"kind": s.ProviderConfigKind, "name": name}

	return s.typed(u)
}

// orphaned returns management policies that never delete the external
// resource: what a deletion policy of Orphan means for a managed resource
// without one. "*" is spelled out as every action but Delete
// (https://docs.crossplane.io/latest/managed-resources/managed-resources/#managementpolicies
// lists Create, Update, LateInitialize, Observe as the "orphan" combination).
func orphaned(v any) ([]any, error) {
	list, _ := v.([]any)
	var out []any
	for _, p := range list {
		switch p {
		case string(xpv1.ManagementActionAll):
			for _, a := range []xpv1.ManagementAction{xpv1.ManagementActionObserve, xpv1.ManagementActionCreate, xpv1.ManagementActionUpdate, xpv1.ManagementActionLateInitialize} {
				if !slices.Contains(out, any(string(a))) {
					out = append(out, string(a))
				}
			}
		case string(xpv1.ManagementActionDelete):
		default:
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.Errorf("spec.managementPolicies %v without Delete leave no action", list)
	}
	return out, nil
}

// typed reshapes u for the namespaced typed struct of its kind and decodes
// it strictly into that struct, so a field the namespaced schema does not
// have, or has with another type, is an error.
func (s NamespacedScope) typed(u *composed.Unstructured) error {
	gvk := u.GroupVersionKind()
	obj, ok := newKind(gvk)
	if !ok {
		return errors.Errorf("provider-aws has no namespaced %s", gvk)
	}
	shaped, err := reshape(u.Object, reflect.TypeOf(obj), "")
	if err != nil {
		return errors.Wrapf(err, "%s does not fit provider-aws's namespaced schema", gvk)
	}
	b, err := json.Marshal(shaped)
	if err != nil {
		return errors.Wrapf(err, "cannot encode %s", gvk.Kind)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(obj); err != nil {
		return errors.Wrapf(err, "%s does not fit provider-aws's namespaced schema", gvk)
	}
	m, ok := shaped.(map[string]any)
	if !ok {
		return errors.Errorf("%s is not an object", gvk)
	}
	u.Object = m
	return nil
}

// reshape returns v in the shape of Go type t. provider-aws's cluster
// v1beta1 kinds keep Terraform's single-item blocks as lists of one object
// (imageScanningConfiguration: [{scanOnPush: true}]); its namespaced v1beta1
// kinds declare them as objects. A list of at most one element where t
// has a struct becomes that element; everything else is walked by t's JSON
// fields and left as it is.
func reshape(v any, t reflect.Type, path string) (any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if list, ok := v.([]any); ok {
			if len(list) > 1 {
				return nil, errors.Errorf("%s: %d items where the namespaced schema has one object", path, len(list))
			}
			if len(list) == 0 {
				return map[string]any{}, nil
			}
			v = list[0]
		}
		m, ok := v.(map[string]any)
		if !ok {
			return v, nil
		}
		fields := jsonFields(t)
		for k, item := range m {
			ft, ok := fields[k]
			if !ok {
				continue // The strict decode names it.
			}
			shaped, err := reshape(item, ft, path+"."+k)
			if err != nil {
				return nil, err
			}
			m[k] = shaped
		}
		return m, nil
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			return v, nil
		}
		for i, item := range list {
			shaped, err := reshape(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			list[i] = shaped
		}
		return list, nil
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return v, nil
		}
		for k, item := range m {
			shaped, err := reshape(item, t.Elem(), path+"."+k)
			if err != nil {
				return nil, err
			}
			m[k] = shaped
		}
		return m, nil
	default:
		return v, nil
	}
}

// jsonFields returns the types of a struct's JSON fields by name, with
// embedded (inline) structs' fields among them.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			et := f.Type
			for et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				maps.Copy(out, jsonFields(et))
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
