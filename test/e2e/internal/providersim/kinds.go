package providersim

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providerfake"
)

// Kind is a managed resource kind the simulator plays the provider for,
// described by what its CRD says.
type Kind struct {
	GVK      schema.GroupVersionKind
	Resource schema.GroupVersionResource
	// Namespaced kinds (provider-aws v2's *.aws.m.upbound.io) live in a
	// namespace and resolve references only within it.
	Namespaced bool

	// atProviderFields are the top-level fields of status.atProvider; the
	// simulator writes only those (the API server would prune the rest, and
	// the difference would make every status write look like a change).
	atProviderFields map[string]bool
	// refs are the spec.forProvider fields, at any depth, that the provider
	// fills from a reference or selector.
	refs []refField
}

// refField is a forProvider field that the provider resolves from
// <field>Ref(s) or <field>Selector.
type refField struct {
	// Path to the object that holds the field, below spec.forProvider;
	// empty for a top-level field. Lists of objects (upjet's nested
	// blocks) are stepped through: the field is resolved in every item.
	Path   []string
	Field  string // e.g. roleArn
	List   bool   // resolved from <field>Refs into a list
	Target schema.GroupKind
	// ARN: the field takes the target's status.atProvider.arn; otherwise its
	// external name.
	ARN bool
}

// refDescription is how upjet documents a reference field, e.g.
// "Reference to a Role in iam to populate roleArn." or
// "References to Topic in sns to populate alarmActions."
var refDescription = regexp.MustCompile(`^References? to (?:a |an )?(\w+) in (\w+) to populate (\w+)`)

// arnValuedFields are reference targets that take an ARN although their
// names do not say so (read from provider-aws v2.5.0's generated resolvers:
// common.ARNExtractor or ExtractParamPath("arn")). Fields whose names end in
// Arn or Arns take ARNs too; all others take the target's external name.
// Keyed by the cluster-scoped group: the namespaced kinds' resolvers are
// generated from the same configuration.
var arnValuedFields = map[string]bool{
	"lambda.aws.upbound.io/Function.role":                           true,
	"lambda.aws.upbound.io/Function.layers":                         true,
	"codebuild.aws.upbound.io/Project.serviceRole":                  true,
	"sns.aws.upbound.io/TopicSubscription.endpoint":                 true,
	"cloudwatch.aws.upbound.io/MetricAlarm.alarmActions":            true,
	"cloudwatch.aws.upbound.io/MetricAlarm.okActions":               true,
	"cloudwatch.aws.upbound.io/MetricAlarm.insufficientDataActions": true,
}

// externalNameValuedArnFields are the exceptions the other way round.
var externalNameValuedArnFields = map[string]bool{
	"lambda.aws.upbound.io/Function.kmsKeyArn": true,
}

// LoadKinds reads the kinds from CRD files, each at its storage version:
// the version Crossplane must compose, since without the provider's
// conversion webhooks the API server cannot convert between versions.
func LoadKinds(crdFiles ...string) ([]*Kind, error) {
	kinds := make([]*Kind, 0, len(crdFiles))
	for _, f := range crdFiles {
		data, err := os.ReadFile(f) //nolint:gosec // CRD files chosen by the test
		if err != nil {
			return nil, fmt.Errorf("cannot read CRD: %w", err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(data, crd); err != nil {
			return nil, fmt.Errorf("cannot decode CRD %s: %w", f, err)
		}
		k, err := kindFromCRD(crd, "")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		kinds = append(kinds, k)
	}
	return kinds, nil
}

// kindFromCRD describes the kind at version, or at the storage version if
// version is empty.
func kindFromCRD(crd *apiextensionsv1.CustomResourceDefinition, version string) (*Kind, error) {
	var v *apiextensionsv1.CustomResourceDefinitionVersion
	for i := range crd.Spec.Versions {
		cv := &crd.Spec.Versions[i]
		if cv.Name == version || (version == "" && cv.Storage) {
			v = cv
			version = cv.Name
		}
	}
	if v == nil || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("CRD %s has no schema at version %s", crd.Name, version)
	}
	k := &Kind{
		GVK:              schema.GroupVersionKind{Group: crd.Spec.Group, Version: version, Kind: crd.Spec.Names.Kind},
		Resource:         schema.GroupVersionResource{Group: crd.Spec.Group, Version: version, Resource: crd.Spec.Names.Plural},
		Namespaced:       crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
		atProviderFields: map[string]bool{},
	}
	root := v.Schema.OpenAPIV3Schema.Properties
	for name := range root["status"].Properties["atProvider"].Properties {
		k.atProviderFields[name] = true
	}
	k.refs = refsIn(targetGroupSuffix(crd.Spec.Group), providerfake.ClusterGroup(crd.Spec.Group)+"/"+k.GVK.Kind, root["spec"].Properties["forProvider"].Properties, nil)
	sortRefs(k.refs)
	return k, nil
}

// targetGroupSuffix is the group suffix of the kinds a kind of group refers
// to: a reference's description names only the service ("Reference to a
// Role in iam"), and the target is in the same scope as the referrer.
func targetGroupSuffix(group string) string {
	if strings.HasSuffix(group, namespacedGroupSuffix) {
		return namespacedGroupSuffix
	}
	return clusterGroupSuffix
}

const (
	clusterGroupSuffix    = ".aws.upbound.io"
	namespacedGroupSuffix = ".aws.m.upbound.io"
)

// refsIn finds the reference fields among props, and in the objects (and
// lists of objects) below them, at path. kindKey is the cluster-scoped
// group/Kind (for arnValuedFields); targets are in groups ending in
// targetSuffix.
func refsIn(targetSuffix, kindKey string, props map[string]apiextensionsv1.JSONSchemaProps, path []string) []refField {
	var out []refField
	for name, p := range props {
		switch {
		case p.Type == "object" && len(p.Properties) > 0 && !strings.HasSuffix(name, "Selector") && !strings.HasSuffix(name, "Ref"):
			out = append(out, refsIn(targetSuffix, kindKey, p.Properties, append(slices.Clone(path), name))...)
		case p.Type == "array" && p.Items != nil && p.Items.Schema != nil && len(p.Items.Schema.Properties) > 0 && !strings.HasSuffix(name, "Refs"):
			out = append(out, refsIn(targetSuffix, kindKey, p.Items.Schema.Properties, append(slices.Clone(path), name))...)
		}
		field, ok := strings.CutSuffix(name, "Selector")
		if !ok {
			continue
		}
		ref, list := props[field+"Ref"], false
		if refs, ok := props[field+"Refs"]; ok {
			ref, list = refs, true
		}
		m := refDescription.FindStringSubmatch(strings.Join(strings.Fields(ref.Description), " "))
		if m == nil {
			continue // a reference the CRD does not describe; leave it alone
		}
		key := kindKey + "." + field
		lower := strings.ToLower(field)
		arn := arnValuedFields[key] || ((strings.HasSuffix(lower, "arn") || strings.HasSuffix(lower, "arns")) && !externalNameValuedArnFields[key])
		out = append(out, refField{
			Path:   path,
			Field:  field,
			List:   list,
			Target: schema.GroupKind{Group: m[2] + targetSuffix, Kind: m[1]},
			ARN:    arn,
		})
	}
	return out
}
