// Package compose builds the provider-aws managed resources of one CI/CD
// pipeline from an XCicdPipeline spec and what has been observed so far.
//
// Builders use the provider's typed structs at each kind's storage version.
// Wiring between resources uses the provider's selectors (matchControllerRef
// plus a component label) where it has them. A value that has no selector
// and must be an ARN (or URI) is read from an observed resource, else
// derived from AWS's documented format once the account is known
// (derive.go); a resource that needs a value not known yet waits (it is
// not composed), and is reported as pending. A waiting resource that already exists keeps
// its observed spec, so nothing created is ever dropped.
package compose

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	"github.com/crossplane/function-sdk-go/errors"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/jsonmap"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/naming"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/observe"
)

// Labels and annotations the function sets on composed resources.
const (
	// LabelComponent tells sibling resources apart for selectors.
	LabelComponent = "cicd.platform.dev/component"
	// AnnotationExternalName is the AWS name of a resource.
	AnnotationExternalName = "crossplane.io/external-name"
)

// Tags every AWS resource carries beside the claim's own tags.
const (
	TagManagedBy   = "managed-by"
	TagClaim       = "cicd.platform.dev/claim"
	TagComposite   = "cicd.platform.dev/composite"
	TagEnvironment = "environment"
)

// Input is what the builders compose from.
type Input struct {
	Spec v1alpha1.XCicdPipelineSpec
	// Names are the AWS names, from AWSNames.
	Names naming.Names
	// Composite is the XR's name (namespace/name for a namespaced XR);
	// Claim is namespace/name of its claim, or empty for an XR created
	// directly.
	Composite string
	Claim     string
	Observed  observe.Resources
	Scope     Scope
	// AccountID is the pipeline's AWS account: the observed resources',
	// else the platform's accountId; "" while neither is known. The caller
	// checks that the two agree.
	AccountID string
}

// Pending is a resource that waits for a value only the provider can tell.
type Pending struct {
	Name    resource.Name
	Waiting string
}

// Result of composing.
type Result struct {
	// Desired composed resources, by name: each the protobuf encoding of
	// the structpb.Struct the response carries (jsonmap.AppendStruct), which
	// the function's gRPC codec writes as it is.
	Desired map[resource.Name][]byte
	// Pending resources, sorted by name.
	Pending []Pending
	// Preserved resources: waiting, but composed from their observed spec
	// because they already exist.
	Preserved []Pending
	// DeployStageReason says why the Deploy stage is left out; empty when it
	// is composed.
	DeployStageReason string
}

// Compose builds the desired managed resources.
func Compose(in Input) (*Result, error) {
	if in.Scope == nil {
		in.Scope = ClusterScope{}
	}
	c := &composer{in: in, res: &Result{Desired: map[resource.Name][]byte{}}}
	parts := []func() error{
		c.registry,
		c.storage,
		c.table,
		c.notifications,
		c.logGroups,
		c.roles,
		c.connection,
		c.buildProjects,
		c.deployer,
		c.pipeline,
		c.pipelineEvents,
		c.policies,
	}
	for _, part := range parts {
		if err := part(); err != nil {
			return nil, err
		}
		if c.err != nil {
			return nil, c.err
		}
	}
	sort.Slice(c.res.Pending, func(i, j int) bool { return c.res.Pending[i].Name < c.res.Pending[j].Name })
	sort.Slice(c.res.Preserved, func(i, j int) bool { return c.res.Preserved[i].Name < c.res.Preserved[j].Name })
	return c.res, nil
}

type composer struct {
	in  Input
	res *Result
	// err is the first error of wait, which its callers do not check.
	err error
	// tagMap is tags(), built once: every resource's typed struct refers
	// to the same map, which nothing writes to once built.
	tagMap map[string]*string
	// buf holds the desired resources' encodings, one after another: each
	// in Result.Desired is a slice of it, capped at its end. Growing buf
	// leaves the earlier ones where they were.
	buf []byte
}

// add composes a typed managed resource under name, labelled with its
// component name (the same as name) and, when externalName is set, named in
// AWS by the external-name annotation.
func (c *composer) add(name resource.Name, externalName string, obj runtime.Object) error {
	return c.addEdited(name, externalName, obj, nil)
}

// addEdited is add, with edit, when not nil, changing the resource's JSON
// map before it is encoded: for what no typed struct can say.
func (c *composer) addEdited(name resource.Name, externalName string, obj runtime.Object, edit func(map[string]any) error) error {
	if err := checkKind(name, obj); err != nil {
		return errors.Wrapf(err, "cannot compose %s", name)
	}
	c.makeRoom()
	start := len(c.buf)
	b, err := c.encode(c.buf, name, externalName, obj, edit)
	if err != nil {
		return errors.Wrapf(err, "cannot compose %s", name)
	}
	c.buf = b
	c.res.Desired[name] = b[start:len(b):len(b)]
	return nil
}

// Resources are encoded into chunks of bufChunk bytes (the full example's
// 30 resources take 23 KB, its steady state's 47 take 46 KB); a resource
// starts a new chunk when fewer than bufRoom bytes are left, so that
// growing one copies at most a chunk.
const (
	bufChunk = 16 << 10
	bufRoom  = 4 << 10
)

func (c *composer) makeRoom() {
	if cap(c.buf)-len(c.buf) < bufRoom {
		c.buf = make([]byte, 0, bufChunk)
	}
}

// encode appends obj's encoding as a desired resource: the typed struct
// with its kind, labels and annotations, less its status. A scope that
// leaves a resource as built gets it written in one walk (encodeTyped);
// one that reshapes it, an edit, or metadata set on the struct, works on
// the JSON map (encodeMap).
func (c *composer) encode(b []byte, name resource.Name, externalName string, obj runtime.Object, edit func(map[string]any) error) ([]byte, error) {
	if c.in.Scope.AsBuilt() && edit == nil {
		if k, ok := kindOf(obj); ok && typedMetaEmpty(obj, k) {
			return encodeTyped(b, obj, k, name, externalName)
		}
	}
	return encodeMap(b, obj, name, externalName, c.in.Scope, edit)
}

// encodeTyped writes what encodeMap makes of obj, of kind k, in the
// cluster scope, in one walk: obj's typed metadata is empty, so the
// metadata is the labels and annotations alone.
func encodeTyped(b []byte, obj runtime.Object, k typeKind, name resource.Name, externalName string) ([]byte, error) {
	meta := map[string]any{"labels": map[string]any{LabelComponent: string(name)}}
	if externalName != "" {
		meta["annotations"] = map[string]any{AnnotationExternalName: externalName}
	}
	var err error
	if b, err = jsonmap.AppendMember(b, "apiVersion", k.apiVersion); err != nil {
		return nil, err
	}
	if b, err = jsonmap.AppendMember(b, "kind", k.gvk.Kind); err != nil {
		return nil, err
	}
	if b, err = jsonmap.AppendMember(b, "metadata", meta); err != nil {
		return nil, err
	}
	return jsonmap.AppendStruct(b, obj, "apiVersion", "kind", "metadata", "status")
}

// encodeMap converts obj to its JSON map (fromTyped), drops its status,
// labels it with its component name and annotates it with its external
// name, lets scope reshape it and edit change it, and encodes the map.
func encodeMap(b []byte, obj runtime.Object, name resource.Name, externalName string, scope Scope, edit func(map[string]any) error) ([]byte, error) {
	u, err := fromTyped(obj)
	if err != nil {
		return nil, err
	}
	// Desired state carries only what the function owns: typed structs would
	// otherwise emit status.conditions: null.
	delete(u.Object, "status")
	u.SetLabels(map[string]string{LabelComponent: string(name)})
	if externalName != "" {
		u.SetAnnotations(map[string]string{AnnotationExternalName: externalName})
	}
	if err := scope.Finalize(u); err != nil {
		return nil, err
	}
	if edit != nil {
		if err := edit(u.Object); err != nil {
			return nil, err
		}
	}
	return jsonmap.AppendObject(b, u.Object)
}

// fromTyped is composed.From without its JSON round trip: the same
// resource (jsonmap follows the JSON package composed.From encodes with;
// TestFromTypedAsSDK compares the two), converted in one walk.
func fromTyped(obj runtime.Object) (*composed.Unstructured, error) {
	if _, ok := obj.(interface{ UnstructuredContent() map[string]any }); ok {
		return composed.From(obj) // Used as it is: no kind to look up.
	}
	k, err := typedKind(obj)
	if err != nil {
		return nil, err
	}
	m, err := jsonmap.Object(obj)
	if err != nil {
		return nil, err
	}
	m["apiVersion"], m["kind"] = k.apiVersion, k.gvk.Kind
	// As composed.From: ObjectMeta's generation is never the function's to
	// set, and an empty metadata would tell server-side apply to empty it.
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "generation")
		if len(meta) == 0 {
			delete(m, "metadata")
		}
	}
	return &composed.Unstructured{Unstructured: unstructured.Unstructured{Object: m}}, nil
}

// typedKind is a typed struct's kind, which the conversions above write as
// its apiVersion and kind, as composed.From does from composed.Scheme. They
// write them into the converted object rather than through
// obj.GetObjectKind(): that method is compiled into each kind's package, so
// calling it brought a page of every composed kind's package code into
// memory (docs/performance.md, seventh pass), and it changed the caller's
// struct.
func typedKind(obj runtime.Object) (typeKind, error) {
	k, ok := kindOf(obj)
	if !ok {
		return k, errors.Errorf("%T is not a composed kind (is it in awsapis.Kinds?)", obj)
	}
	return k, nil
}

// wait records that name cannot be composed until what it is waiting for is
// observed. If it already exists, its observed spec is kept as desired, so a
// value that goes missing never deletes a resource.
func (c *composer) wait(name resource.Name, waiting string) {
	p := Pending{Name: name, Waiting: waiting}
	observed, ok := c.in.Observed.Object(name)
	if !ok {
		c.res.Pending = append(c.res.Pending, p)
		return
	}
	u := composed.New()
	u.SetAPIVersion(observed.GetAPIVersion())
	u.SetKind(observed.GetKind())
	u.SetLabels(map[string]string{LabelComponent: string(name)})
	if en := observed.GetAnnotations()[AnnotationExternalName]; en != "" {
		u.SetAnnotations(map[string]string{AnnotationExternalName: en})
	}
	if spec, ok := observed.Object["spec"]; ok {
		u.Object["spec"] = spec // Object is a copy.
	}
	start := len(c.buf)
	b, err := jsonmap.AppendObject(c.buf, u.Object)
	if err != nil {
		if c.err == nil {
			c.err = errors.Wrapf(err, "cannot keep the observed spec of %s", name)
		}
		return
	}
	c.buf = b
	c.res.Desired[name] = b[start:len(b):len(b)]
	c.res.Preserved = append(c.res.Preserved, p)
}

// resourceSpec is the part of every managed resource's spec that comes from
// the claim: provider config, deletion and management policies.
func (c *composer) resourceSpec() xpv1.ResourceSpec {
	mp := make(xpv1.ManagementPolicies, 0, len(c.in.Spec.ManagementPolicies))
	for _, p := range c.in.Spec.ManagementPolicies {
		mp = append(mp, xpv1.ManagementAction(p))
	}
	return xpv1.ResourceSpec{
		ProviderConfigReference: &xpv1.Reference{Name: c.in.Spec.ProviderConfigName},
		DeletionPolicy:          xpv1.DeletionPolicy(c.in.Spec.DeletionPolicy),
		ManagementPolicies:      mp,
	}
}

// tags returns the claim's tags plus the fixed tags naming the claim,
// composite and environment; the fixed tags win.
func (c *composer) tags() map[string]*string {
	if c.tagMap != nil {
		return c.tagMap
	}
	t := make(map[string]*string, len(c.in.Spec.Tags)+4)
	for k, v := range c.in.Spec.Tags {
		t[k] = new(v)
	}
	t[TagManagedBy] = new("crossplane")
	t[TagComposite] = new(tagValue(c.in.Composite))
	t[TagEnvironment] = new(c.in.Spec.EnvironmentSuffix)
	if c.in.Claim != "" {
		t[TagClaim] = new(tagValue(c.in.Claim))
	}
	c.tagMap = t
	return t
}

// maxTagValue is AWS's limit on a tag value ("Tag naming limits and
// requirements", https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html).
const maxTagValue = 256

// tagValue returns v, or for a longer v (namespace/name of a claim may be
// 317 characters) its start and a hash of the whole, which stays unique.
func tagValue(v string) string {
	if len(v) <= maxTagValue {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	h := hex.EncodeToString(sum[:])[:8]
	return v[:maxTagValue-len(h)-1] + "-" + h
}

func (c *composer) region() *string { return new(c.in.Spec.Region) }

// destroy reports whether deleting the claim should delete the AWS
// resources, and so whether non-empty buckets and repositories may go too.
func (c *composer) destroy() bool { return c.in.Spec.DeletionPolicy != string(xpv1.DeletionOrphan) }

// selector selects the sibling resource composed under name.
func selector(name resource.Name) *xpv1.Selector {
	return &xpv1.Selector{MatchControllerRef: new(true), MatchLabels: map[string]string{LabelComponent: string(name)}}
}

// partition is the AWS partition of the claim's region.
func (c *composer) partition() string {
	p, _ := partitionOf(c.in.Spec.Region)
	return p
}

// partitionOf returns the partition of a region, and whether the region is
// in one of the partitions AWS's ARN pages name: aws (Regions named
// <area>-<direction>-<n>), aws-cn (cn-...) and aws-us-gov (us-gov-...)
// ("Amazon Resource Names (ARNs)",
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html;
// "Amazon Resource Names (ARNs) in GovCloud (US) Regions",
// https://docs.aws.amazon.com/govcloud-us/latest/UserGuide/using-govcloud-arns.html).
// Other Regions, such as us-iso-east-1 and us-isob-east-1 (aws-iso and
// aws-iso-b in AWS's ARN patterns, e.g. Alarm in the Resilience Hub API
// Reference) or eusc-de-east-1, are in partitions with other names and
// endpoints: false, with aws, the partition the function always assumed
// there.
func partitionOf(region string) (string, bool) {
	parts := strings.Split(region, "-")
	switch {
	case len(parts) == 3 && parts[0] == "cn":
		return "aws-cn", true
	case len(parts) == 4 && parts[0] == "us" && parts[1] == "gov":
		return "aws-us-gov", true
	case len(parts) == 3 && len(parts[0]) == 2:
		return "aws", true
	default:
		return "aws", false
	}
}

func enabled(b *bool) bool { return b == nil || *b }

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
