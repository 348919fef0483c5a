package xrd_test

import (
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
	"unicode/utf8"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"
)

// maxPatternInsts bounds the program a schema pattern compiles to. Go's
// regexp, which the API server and the function both compile the XRD's
// patterns with, expands a counted repetition such as {1,512} into that many
// copies of what it repeats: two such patterns were most of the function's
// cold start (building its validator; docs/performance.md, sixth pass). Where
// a field's maxLength already bounds the value, the pattern leaves the bound
// to it. The largest now are the image references, whose tag ({0,127}) and
// digest ({64}) parts are bounded inside a longer value.
const maxPatternInsts = 400

// TestPatternsCompileSmall fails when a pattern of either XRD compiles to
// more than maxPatternInsts instructions.
func TestPatternsCompileSmall(t *testing.T) {
	for name, schema := range map[string]func() (*apiextensionsv1.JSONSchemaProps, error){
		"Claim": xrd.Schema, "Namespaced": xrd.NamespacedSchema,
	} {
		s, err := schema()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		eachPattern(s, "", func(path, pattern string) {
			n++
			re, err := syntax.Parse(pattern, syntax.Perl)
			if err != nil {
				t.Fatalf("%s %s: %v", name, path, err)
			}
			prog, err := syntax.Compile(re.Simplify())
			if err != nil {
				t.Fatalf("%s %s: %v", name, path, err)
			}
			if len(prog.Inst) > maxPatternInsts {
				t.Errorf("%s %s: pattern %q compiles to %d instructions, more than %d: bound the value with maxLength instead of a counted repetition where the pattern matches it whole",
					name, path, pattern, len(prog.Inst), maxPatternInsts)
			}
		})
		if n == 0 {
			t.Fatalf("%s: no patterns found", name)
		}
	}
}

func eachPattern(s *apiextensionsv1.JSONSchemaProps, path string, fn func(path, pattern string)) {
	if s == nil {
		return
	}
	if s.Pattern != "" {
		fn(path, s.Pattern)
	}
	for k, p := range s.Properties {
		eachPattern(&p, path+"."+k, fn)
	}
	if s.Items != nil {
		eachPattern(s.Items.Schema, path+"[]", fn)
	}
	if s.AdditionalProperties != nil {
		eachPattern(s.AdditionalProperties.Schema, path+"[*]", fn)
	}
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

// TestBoundsMovedToMaxLength shows that the patterns whose counted
// repetition gave way to maxLength accept, within that maxLength, exactly
// what the earlier patterns accepted, in both XRDs: the values are the
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
			path:     []string{"deployer", "targets", "[]", "alias"},
			before:   `^[A-Za-z_-][A-Za-z0-9_-]{0,127}$`,
			prefixes: []string{"", "live", "_", "-", "1", "9live"},
			class:    "Aaz09_-", otherChars: " .:é", maxLength: 128,
		},
	} {
		for api, schema := range map[string]func() (*apiextensionsv1.JSONSchemaProps, error){
			"Claim": xrd.Schema, "Namespaced": xrd.NamespacedSchema,
		} {
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

// check compares field's pattern and maxLength with the pattern before on
// 20,000 values.
func (tc boundMoved) check(t *testing.T, field *apiextensionsv1.JSONSchemaProps) {
	t.Helper()
	if field.MaxLength == nil || *field.MaxLength != tc.maxLength {
		t.Fatalf("maxLength is %v, want %d", field.MaxLength, tc.maxLength)
	}
	before, now := regexp.MustCompile(tc.before), regexp.MustCompile(field.Pattern)
	accepts := func(re *regexp.Regexp, v string) bool {
		return re.MatchString(v) && int64(utf8.RuneCountInString(v)) <= tc.maxLength
	}
	r := rand.New(rand.NewPCG(1, 2))
	others := []rune(tc.class + tc.otherChars)
	accepted := 0
	for range 20000 {
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
		got, want := accepts(now, v), accepts(before, v)
		if got != want {
			t.Fatalf("%q: accepted %t with %q, %t with %q (maxLength %d)", v, got, field.Pattern, want, tc.before, tc.maxLength)
		}
		if want {
			accepted++
		}
	}
	if accepted < 1000 || accepted > 19000 {
		t.Fatalf("%d of 20,000 values accepted: the values do not test both sides", accepted)
	}
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
