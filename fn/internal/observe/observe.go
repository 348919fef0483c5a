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
	corev1 "k8s.io/api/core/v1"
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
	if fieldsOnly(path) {
		// A path of object fields only (status.atProvider.arn): walked
		// directly, as GetString would after parsing it (TestStringAsSDK).
		var v any = oc.Resource.Object
		for field := range strings.SplitSeq(path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				return ""
			}
			v = m[field]
		}
		s, _ := v.(string)
		return s
	}
	s, err := oc.Resource.GetString(path)
	if err != nil {
		return ""
	}
	return s
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
// It reads the map rather than decoding status into the typed condition
// list (the SDK's GetCondition), which JSON-encodes and decodes the whole
// status on each call: a quarter of a reconcile's CPU, for three strings.
func (r Resources) Condition(name resource.Name, ct xpv1.ConditionType) xpv1.Condition {
	unknown := xpv1.Condition{Type: ct, Status: corev1.ConditionUnknown}
	oc, ok := r[name]
	if !ok || oc.Resource == nil {
		return unknown
	}
	status, _ := oc.Resource.Object["status"].(map[string]any)
	conditions, _ := status["conditions"].([]any)
	for _, entry := range conditions {
		c, _ := entry.(map[string]any)
		if t, _ := c["type"].(string); t != string(ct) {
			continue
		}
		st, ok := c["status"].(string)
		if !ok {
			return unknown
		}
		reason, _ := c["reason"].(string)
		message, _ := c["message"].(string)
		return xpv1.Condition{Type: ct, Status: corev1.ConditionStatus(st), Reason: xpv1.ConditionReason(reason), Message: message}
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
