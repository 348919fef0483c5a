// Package observe reads what the provider reports about composed resources.
//
// It reads by field path from the unstructured observed objects instead of
// converting them to typed structs: a newer provider may add fields that an
// older struct (and resource.AsObject) would reject.
package observe

import (
	"slices"
	"strings"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	"github.com/crossplane/function-sdk-go/resource"
)

// Resources is the observed state of the composed resources, by name.
type Resources map[resource.Name]resource.ObservedComposed

// String returns the string at path in the named resource, or "" when the
// resource or the field does not exist (yet).
func (r Resources) String(name resource.Name, path string) string {
	oc, ok := r[name]
	if !ok || oc.Resource == nil {
		return ""
	}
	s, err := oc.Resource.GetString(path)
	if err != nil {
		return ""
	}
	return s
}

// ARN returns the named resource's status.atProvider.arn, or "".
func (r Resources) ARN(name resource.Name) string {
	return r.String(name, "status.atProvider.arn")
}

// Condition returns the named resource's condition of the given type; a
// resource that does not exist or does not report it has status Unknown.
func (r Resources) Condition(name resource.Name, ct xpv1.ConditionType) xpv1.Condition {
	oc, ok := r[name]
	if !ok || oc.Resource == nil {
		return xpv1.Condition{Type: ct, Status: "Unknown"}
	}
	// GetCondition decodes status.conditions leniently (unknown fields are
	// ignored), so a newer provider's conditions are still read.
	return oc.Resource.GetCondition(ct)
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
