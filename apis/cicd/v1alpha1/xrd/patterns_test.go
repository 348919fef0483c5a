package xrd_test

import (
	"math/rand/v2"
	"regexp/syntax"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/specschema"
)

// maxPatternInsts bounds the program a schema pattern compiles to. Go's
// regexp, which the API server and the function both compile the XRD's
// patterns with, expands a counted repetition such as {1,512} into that many
// copies of what it repeats: two such patterns were most of the time the
// function's validator took to build at start-up (docs/performance.md, sixth
// pass). Where a field's maxLength already bounds the value, the pattern
// leaves the bound to it. The largest now are the image references, whose
// tag ({0,127}) and digest ({64}) parts are bounded inside a longer value.
const maxPatternInsts = 400

// TestPatternsCompileSmall fails when a pattern of either XRD, as the
// validator compiles them (specschema.Patterns), compiles to more than
// maxPatternInsts instructions.
func TestPatternsCompileSmall(t *testing.T) {
	for name, schema := range schemas {
		props, err := schema()
		if err != nil {
			t.Fatal(err)
		}
		_, s, err := specschema.Structural(props)
		if err != nil {
			t.Fatal(err)
		}
		patterns := specschema.Patterns(s)
		if len(patterns) == 0 {
			t.Fatalf("%s: no patterns found", name)
		}
		for _, pattern := range patterns {
			re, err := syntax.Parse(pattern, syntax.Perl)
			if err != nil {
				t.Fatalf("%s: %q: %v", name, pattern, err)
			}
			prog, err := syntax.Compile(re.Simplify())
			if err != nil {
				t.Fatalf("%s: %q: %v", name, pattern, err)
			}
			if len(prog.Inst) > maxPatternInsts {
				t.Errorf("%s: pattern %q compiles to %d instructions, more than %d: bound the value with maxLength instead of a counted repetition where the pattern matches it whole",
					name, pattern, len(prog.Inst), maxPatternInsts)
			}
		}
	}
}

// schemas are both XRDs' schemas.
var schemas = map[string]func() (*apiextensionsv1.JSONSchemaProps, error){
	"Claim": xrd.Schema, "Namespaced": xrd.NamespacedSchema,
}

// boundMoved is a field whose pattern's counted repetition gave way to its
// maxLength: its pattern before, and values to try (a prefix, then
// characters mostly of class, now and then of otherChars).
type boundMoved struct {
	path       []string
	before     string
	prefixes   []string
	class      string
	otherChars string
	maxLength  int64
}

// TestBoundsMovedToMaxLength shows that the fields whose pattern's counted
// repetition gave way to maxLength accept exactly what they accepted with
// the earlier pattern, in both XRDs: the values are the
// same, only the error for a value over maxLength is now "Too long" alone.
func TestBoundsMovedToMaxLength(t *testing.T) {
	const roleClass = "ABCXYZabcxyz0189+=,.@_/-"
	for name, tc := range map[string]boundMoved{
		"deploy target's role ARN": {
			path:     []string{"deployer", "targets", "[]", "roleArn"},
			before:   `^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$`,
			prefixes: []string{"arn:aws:iam::123456789012:role/", "arn:aws-us-gov:iam::123456789012:role/", "arn:aws:iam::12345678901:role/", "arn:aws:iam::123456789012:user/"},
			class:    roleClass, otherChars: " :*\x00é", maxLength: 128,
		},
		"trusted principal ARN": {
			path:     []string{"crossAccount", "trustedPrincipalArns", "[]"},
			before:   `^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]{1,512}$`,
			prefixes: []string{"arn:aws:iam::123456789012:role/", "arn:aws:iam::123456789012:user/", "arn:aws-cn:iam::123456789012:group/"},
			class:    roleClass, otherChars: " :*\x00é", maxLength: 128,
		},
		"deploy target's alias": {
			path: []string{"deployer", "targets", "[]", "alias"},
			// Digits only is refused by the field's CEL rule (TestBadClaimsAreRejected).
			before:   `^[A-Za-z0-9_-]{1,128}$`,
			prefixes: []string{"", "live", "_", "-", "1", "9live"},
			class:    "Aaz09_-", otherChars: " .:é", maxLength: 128,
		},
	} {
		for api, schema := range schemas {
			t.Run(api+" "+name, func(t *testing.T) {
				s, err := schema()
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, at(t, s, tc.path))
			})
		}
	}
}

// check validates values against field's schema alone and against the
// same schema with the pattern before, with the function's validator
// (kube-openapi's maxLength and pattern checks, as the API server's), and
// fails where the two disagree.
func (tc boundMoved) check(t *testing.T, field *apiextensionsv1.JSONSchemaProps) {
	t.Helper()
	if field.MaxLength == nil || *field.MaxLength != tc.maxLength {
		t.Fatalf("maxLength is %v, want %d", field.MaxLength, tc.maxLength)
	}
	// The bound is the pattern's and maxLength's: the field's CEL rules,
	// if any, have bad claims of their own (TestBadClaimsAreRejected).
	field = field.DeepCopy()
	field.XValidations = nil
	before := field.DeepCopy()
	before.Pattern = tc.before
	now, then := fieldValidator(t, field), fieldValidator(t, before)
	accepts := func(v *specschema.Validator, value string) bool {
		return len(v.Validate(map[string]any{"value": value})) == 0
	}
	r := rand.New(rand.NewPCG(1, 2))
	others := []rune(tc.class + tc.otherChars)
	accepted := 0
	const values = 5000
	for range values {
		var b strings.Builder
		b.WriteString(tc.prefixes[r.IntN(len(tc.prefixes))])
		for range r.IntN(140) {
			if r.IntN(50) == 0 {
				b.WriteRune(others[r.IntN(len(others))])
			} else {
				b.WriteByte(tc.class[r.IntN(len(tc.class))])
			}
		}
		v := b.String()
		got, want := accepts(now, v), accepts(then, v)
		if got != want {
			t.Fatalf("%q: accepted %t with %q, %t with %q (maxLength %d)", v, got, field.Pattern, want, tc.before, tc.maxLength)
		}
		if want {
			accepted++
		}
	}
	if accepted < values/20 || accepted > values-values/20 {
		t.Fatalf("%d of %d values accepted: the values do not test both sides", accepted, values)
	}
}

// fieldValidator validates {"value": ...} against field's schema alone.
func fieldValidator(t *testing.T, field *apiextensionsv1.JSONSchemaProps) *specschema.Validator {
	t.Helper()
	v, err := specschema.New(&apiextensionsv1.JSONSchemaProps{
		Type:       "object",
		Properties: map[string]apiextensionsv1.JSONSchemaProps{"value": *field},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// at is the schema of the field at path ("[]" for a list's items).
func at(t *testing.T, s *apiextensionsv1.JSONSchemaProps, path []string) *apiextensionsv1.JSONSchemaProps {
	t.Helper()
	for _, p := range append([]string{"spec"}, path...) {
		if p == "[]" {
			if s.Items == nil || s.Items.Schema == nil {
				t.Fatalf("no items at %v", path)
			}
			s = s.Items.Schema
			continue
		}
		c, ok := s.Properties[p]
		if !ok {
			t.Fatalf("no field %s of %v", p, path)
		}
		s = &c
	}
	return s
}
