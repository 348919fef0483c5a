package iampolicy

import (
	"regexp"
	"strings"
)

// A Grant is one action allowed on one resource pattern by a statement.
type Grant struct {
	Action   string
	Resource string
}

// Grants lists every (action, resource) pair the Allow statements of a
// permission policy name, in statement order.
func (d Document) Grants() []Grant {
	var out []Grant
	for _, s := range d.Statement {
		if s.Effect != Allowed {
			continue
		}
		for _, a := range s.Action {
			for _, r := range s.Resource {
				out = append(out, Grant{Action: a, Resource: r})
			}
		}
	}
	return out
}

// Allows reports whether a permission policy allows action on resource the
// way IAM evaluates one identity-based policy ("Policy evaluation logic",
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
// an explicit Deny wins, otherwise some Allow must match, otherwise the
// request is implicitly denied. Action names match case-insensitively and
// resources case-sensitively; '*' and '?' are wildcards in both ("IAM JSON
// policy elements: Action" and "Resource"). A statement with a Condition is
// treated as never allowing and always denying, since the evaluator does not
// know the request's context: the function's permission policies have none.
func (d Document) Allows(action, resource string) bool {
	allowed := false
	for _, s := range d.Statement {
		if !matchAny(s.Action, action, true) || !matchAny(s.Resource, resource, false) {
			continue
		}
		switch {
		case s.Effect == Denied:
			return false
		case s.Effect == Allowed && len(s.Condition) == 0:
			allowed = true
		}
	}
	return allowed
}

func matchAny(patterns []string, value string, foldCase bool) bool {
	for _, p := range patterns {
		if Match(p, value, foldCase) {
			return true
		}
	}
	return false
}

// Match reports whether value matches an IAM pattern, where '*' matches any
// run of characters and '?' any one character.
func Match(pattern, value string, foldCase bool) bool {
	var b strings.Builder
	b.WriteString("^")
	if foldCase {
		b.WriteString("(?i)")
	}
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String()).MatchString(value)
}
