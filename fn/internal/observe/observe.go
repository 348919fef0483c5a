// Package observe reads what the provider reports about composed resources.
//
// It reads by field path from the unstructured observed objects instead of
// converting them to typed structs: a newer provider may add fields that an
// older struct (and resource.AsObject) would reject. It reads them where the
// request holds them, as protobuf Structs, rather than converting every
// observed resource to a map first (the SDK's GetObservedComposedResources):
// a reconcile carries every composed resource's whole object and reads a
// handful of fields from each.
package observe

import (
	"slices"
	"strings"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
	"google.golang.org/protobuf/types/known/structpb"
	corev1 "k8s.io/api/core/v1"
)

// Resources is the observed state of the composed resources, by name: each
// resource's object as the request carries it.
type Resources map[resource.Name]*structpb.Struct

// FromRequest returns the request's observed composed resources. They stay
// the request's: Resources only reads them.
func FromRequest(req *fnv1.RunFunctionRequest) Resources {
	in := req.GetObserved().GetResources()
	r := make(Resources, len(in))
	for name, res := range in {
		r[resource.Name(name)] = res.GetResource()
	}
	return r
}

// Object returns the named resource as the SDK's GetObservedComposedResources
// would (a copy: changing it changes nothing observed), and whether it is
// observed.
func (r Resources) Object(name resource.Name) (*composed.Unstructured, bool) {
	s, ok := r[name]
	if !ok {
		return nil, false
	}
	u := composed.New()
	u.SetUnstructuredContent(s.AsMap())
	return u, true
}

// String returns the string at path in the named resource, or "" when the
// resource or the field does not exist (yet).
func (r Resources) String(name resource.Name, path string) string {
	s, ok := r[name]
	if !ok {
		return ""
	}
	if fieldsOnly(path) {
		// A path of object fields only (status.atProvider.arn): walked
		// directly, as GetString would after parsing it (TestStringAsSDK).
		v := structpb.NewStructValue(s)
		for field := range strings.SplitSeq(path, ".") {
			obj := v.GetStructValue()
			if obj == nil {
				return ""
			}
			v = obj.GetFields()[field]
		}
		return v.GetStringValue()
	}
	u, _ := r.Object(name)
	str, err := u.GetString(path)
	if err != nil {
		return ""
	}
	return str
}

// fieldsOnly reports whether path names object fields only, with no index
// and no empty field (which fieldpath.Parse rejects). Parsing a path is
// costly: the parser runs in its own goroutine.
func fieldsOnly(path string) bool {
	if strings.ContainsAny(path, "[]") {
		return false
	}
	for field := range strings.SplitSeq(path, ".") {
		if field == "" {
			return false
		}
	}
	return true
}

// ARN returns the named resource's status.atProvider.arn, or "".
func (r Resources) ARN(name resource.Name) string {
	return r.String(name, "status.atProvider.arn")
}

// Condition returns the named resource's condition of the given type, read
// straight from status.conditions: the first entry of that type, with its
// status, reason and message. A resource that does not exist or does not
// report it (or reports it in a form that is not a condition) has status
// Unknown. Fields a newer provider adds to a condition are ignored.
//
// It reads the object rather than decoding status into the typed condition
// list (the SDK's GetCondition), which JSON-encodes and decodes the whole
// status on each call: a quarter of a reconcile's CPU, for three strings.
func (r Resources) Condition(name resource.Name, ct xpv1.ConditionType) xpv1.Condition {
	unknown := xpv1.Condition{Type: ct, Status: corev1.ConditionUnknown}
	s, ok := r[name]
	if !ok {
		return unknown
	}
	status := s.GetFields()["status"].GetStructValue()
	conditions := status.GetFields()["conditions"].GetListValue()
	for _, entry := range conditions.GetValues() {
		c := entry.GetStructValue().GetFields()
		if t, ok := c["type"].GetKind().(*structpb.Value_StringValue); !ok || t.StringValue != string(ct) {
			continue
		}
		st, ok := c["status"].GetKind().(*structpb.Value_StringValue)
		if !ok {
			return unknown
		}
		return xpv1.Condition{
			Type: ct, Status: corev1.ConditionStatus(st.StringValue),
			Reason: xpv1.ConditionReason(c["reason"].GetStringValue()), Message: c["message"].GetStringValue(),
		}
	}
	return unknown
}

// Ready reports whether the named resource's Ready condition is True.
func (r Resources) Ready(name resource.Name) bool {
	return r.Condition(name, xpv1.TypeReady).Status == "True"
}

// AccountID returns the AWS account ID found in the first observed ARN, in
// name order, that carries one (S3 bucket ARNs do not), or "".
func (r Resources) AccountID() string {
	for _, name := range r.Names() {
		if id := AccountFromARN(r.ARN(name)); id != "" {
			return id
		}
	}
	return ""
}

// Names returns the names of the observed resources, sorted.
func (r Resources) Names() []resource.Name {
	names := make([]resource.Name, 0, len(r))
	for n := range r {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// AccountFromARN returns the account ID field of an ARN
// (arn:partition:service:region:account:resource), or "" when it has none.
func AccountFromARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || len(parts[4]) != 12 {
		return ""
	}
	for _, c := range parts[4] {
		if c < '0' || c > '9' {
			return ""
		}
	}
	return parts[4]
}
