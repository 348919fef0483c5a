// Package iampolicy builds IAM policy documents: trust policies for roles and
// the customer-managed permission policies attached to them.
//
// Documents render deterministically (statements in the order given, actions
// and resources sorted and de-duplicated) so the function's output does not
// change between reconciles, and a document with a wildcard action or an
// empty statement is refused rather than emitted.
package iampolicy

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/crossplane/function-sdk-go/errors"
)

// Version is the IAM policy language version.
const Version = "2012-10-17"

// Statement effects.
const (
	Allowed = "Allow"
	Denied  = "Deny"
)

// A Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// A Statement of a policy document.
type Statement struct {
	Sid       string     `json:"Sid,omitempty"`
	Effect    string     `json:"Effect"`
	Principal *Principal `json:"Principal,omitempty"`
	Action    []string   `json:"Action"`
	Resource  []string   `json:"Resource,omitempty"`
	Condition Condition  `json:"Condition,omitempty"`
}

// Principal of a trust policy statement.
type Principal struct {
	Service []string `json:"Service,omitempty"`
	AWS     []string `json:"AWS,omitempty"`
}

// Condition maps an operator to keys and values, e.g.
// {"StringEquals": {"aws:SourceAccount": ["123456789012"]}}.
type Condition map[string]map[string][]string

// Allow returns a statement allowing actions on resources.
func Allow(sid string, actions []string, resources ...string) Statement {
	return Statement{Sid: sid, Effect: Allowed, Action: actions, Resource: resources}
}

// TrustServices returns a trust policy letting AWS services assume a role.
func TrustServices(services ...string) Document {
	return Document{Version: Version, Statement: []Statement{{
		Effect:    Allowed,
		Principal: &Principal{Service: services},
		Action:    []string{"sts:AssumeRole"},
	}}}
}

// TrustPrincipals returns a trust policy letting the given AWS principals
// call the given STS actions on a role (sts:AssumeRole, and
// sts:SetSourceIdentity for a caller that sets a source identity), under
// the given condition (nil for none).
func TrustPrincipals(principals, actions []string, cond Condition) Document {
	return Document{Version: Version, Statement: []Statement{{
		Effect:    Allowed,
		Principal: &Principal{AWS: principals},
		Action:    actions,
		Condition: cond,
	}}}
}

// New returns a permission policy document of the given statements.
func New(statements ...Statement) Document {
	return Document{Version: Version, Statement: statements}
}

// JSON renders the document, normalised: actions, resources and principals
// sorted and unique. It refuses wildcard actions in Allow statements, and statements without
// actions, or without resources in a permission policy.
func (d Document) JSON() (string, error) {
	out := Document{Version: d.Version, Statement: make([]Statement, 0, len(d.Statement))}
	for i, s := range d.Statement {
		if len(s.Action) == 0 {
			return "", errors.Errorf("statement %d (%s) has no actions", i, s.Sid)
		}
		for _, a := range s.Action {
			// A Deny may be broad; an Allow never is.
			if s.Effect != Denied && strings.Contains(a, "*") {
				return "", errors.Errorf("statement %d (%s) has the wildcard action %q", i, s.Sid, a)
			}
		}
		if s.Principal == nil && len(s.Resource) == 0 {
			return "", errors.Errorf("statement %d (%s) has no resources", i, s.Sid)
		}
		s.Action = sortedUnique(s.Action)
		s.Resource = sortedUnique(s.Resource)
		if s.Principal != nil {
			s.Principal = &Principal{Service: sortedUnique(s.Principal.Service), AWS: sortedUnique(s.Principal.AWS)}
		}
		out.Statement = append(out.Statement, s)
	}
	// encoding/json sorts map keys, so conditions render deterministically.
	b, err := json.Marshal(out)
	if err != nil {
		return "", errors.Wrap(err, "cannot render the policy document")
	}
	return string(b), nil
}

func sortedUnique(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := append([]string(nil), in...)
	sort.Strings(out)
	j := 0
	for i := range out {
		if i == 0 || out[i] != out[i-1] {
			out[j] = out[i]
			j++
		}
	}
	return out[:j]
}
