package specschema_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/badclaims"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/crdschema"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/specschema"
)

// validators builds both validators of a schema: the API server's
// (crdschema) and specschema's.
func validators(t *testing.T, props *apiextensionsv1.JSONSchemaProps) (*crdschema.Validator, *specschema.Validator) {
	t.Helper()
	ref, err := crdschema.New(props)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := specschema.New(props, rules(t, props))
	if err != nil {
		t.Fatal(err)
	}
	return ref, ours
}

// TestValidatorAsAPIServer defaults and validates the examples, the bad
// claims and mutations of every field of the full example (dropped, null,
// of every other type, empty, too long, off its pattern and enum, below and
// above its bounds, with too many or too few items, with an unknown field)
// with both validators, and requires the same defaulted object and the same
// errors (as a multiset: the API server's order varies, see
// TestValidateIsDeterministic).
func TestValidatorAsAPIServer(t *testing.T) {
	specs := exampleSpecs(t)
	for name, c := range badclaims.Catalogue() {
		var spec map[string]any
		if err := yaml.Unmarshal([]byte(c.Spec), &spec); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		specs["badclaims/"+name] = spec
	}
	rnd := rand.New(rand.NewPCG(14, 2027))
	for i := range 500 {
		specs[fmt.Sprintf("random/%03d", i)] = randomSpec(rnd)
	}
	for scope, schema := range schemas {
		props, err := schema()
		if err != nil {
			t.Fatal(err)
		}
		ref, ours := validators(t, props)
		blockedCases := 0
		cases := map[string]map[string]any{}
		maps.Copy(cases, specs)
		base := map[string]string{"cluster": "claim-full.yaml#0", "namespaced": "namespaced-full.yaml#0"}[scope]
		full := specs[base]
		if full == nil {
			t.Fatalf("no %s spec among the examples", base)
		}
		specProps := props.Properties["spec"]
		for name, spec := range mutations(full, &specProps) {
			cases["mutation/"+name] = spec
		}
		invalid := 0
		for name, spec := range cases {
			wantErrs := sameAsAPIServer(t, scope+" "+name, ref, ours, "spec", spec)
			if len(wantErrs) > 0 {
				invalid++
			}
			if slices.ContainsFunc(wantErrs, func(e string) bool { return strings.Contains(e, "some validation rules were not checked") }) {
				blockedCases++
			}
		}
		if blockedCases > len(cases)/2 {
			t.Errorf("%s: %d of %d cases block the CEL rules; too few compare their errors", scope, blockedCases, len(cases))
		}
		t.Logf("%s: %d cases, %d invalid, %d with the CEL rules blocked", scope, len(cases), invalid, blockedCases)
		if scope == "cluster" {
			fieldSchemasAsAPIServer(t, &specProps, cases)
		}
		if invalid < len(cases)/2 {
			t.Errorf("%s: only %d of %d cases are invalid; the mutations miss the schema", scope, invalid, len(cases))
		}
	}
}

// sameAsAPIServer defaults and validates {key: v} with both validators and
// reports any difference; it returns the API server's errors.
func sameAsAPIServer(t *testing.T, label string, ref *crdschema.Validator, ours *specschema.Validator, key string, v any) []string {
	t.Helper()
	want := map[string]any{key: runtime.DeepCopyJSONValue(v)}
	got := map[string]any{key: runtime.DeepCopyJSONValue(v)}
	ref.Default(want)
	ours.Default(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: Default: -API server +specschema:\n%s", label, diff)
	}
	wantErrs, gotErrs := messages(ref.Validate(want, nil)), messages(ours.Validate(got))
	if diff := cmp.Diff(wantErrs, gotErrs); diff != "" {
		t.Errorf("%s: Validate: -API server +specschema:\n%s", label, diff)
	}
	return wantErrs
}

// fieldSchemasAsAPIServer compares the validators of each spec field's
// schema alone, in the shape the platform's defaults are checked with
// (fn/internal/platform: {"value": <the field>}), on every value the cases
// give that field.
func fieldSchemasAsAPIServer(t *testing.T, spec *apiextensionsv1.JSONSchemaProps, cases map[string]map[string]any) {
	t.Helper()
	for field, props := range spec.Properties {
		wrapper := &apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"value": props}}
		ref, ours := validators(t, wrapper)
		for name, c := range cases {
			v, ok := c[field]
			if !ok {
				continue
			}
			sameAsAPIServer(t, "spec."+field+" "+name, ref, ours, "value", v)
		}
	}
}

// mutations returns copies of spec, each with one field of its schema s
// broken (or dropped, or added) in one way.
func mutations(spec map[string]any, s *apiextensionsv1.JSONSchemaProps) map[string]map[string]any {
	out := map[string]map[string]any{}
	var walk func(path []string, s *apiextensionsv1.JSONSchemaProps)
	set := func(name string, path []string, v any, drop bool) {
		c := runtime.DeepCopyJSON(spec)
		m := c
		for _, p := range path[:len(path)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		if drop {
			delete(m, path[len(path)-1])
		} else {
			m[path[len(path)-1]] = v
		}
		out[strings.Join(path, ".")+"/"+name] = c
	}
	walk = func(path []string, s *apiextensionsv1.JSONSchemaProps) {
		if len(path) > 0 {
			set("drop", path, nil, true)
			set("null", path, nil, false)
			for _, v := range []any{"text", int64(7), 2.5, true, []any{"x"}, map[string]any{"x": "y"}} {
				set(fmt.Sprintf("type-%T", v), path, v, false)
			}
			switch s.Type {
			case "string":
				set("empty", path, "", false)
				set("bad-pattern", path, "Not Valid!", false)
				if s.MaxLength != nil {
					set("too-long", path, strings.Repeat("a", int(*s.MaxLength)+1), false)
					set("too-long-runes", path, strings.Repeat("é", int(*s.MaxLength)), false)
				}
				if len(s.Enum) > 0 {
					set("not-in-enum", path, "NotAValue", false)
				}
			case "integer", "number":
				for _, b := range []*float64{s.Minimum, s.Maximum} {
					if b != nil {
						set(fmt.Sprintf("bound-%v-1", *b), path, int64(*b)-1, false)
						set(fmt.Sprintf("bound-%v+1", *b), path, int64(*b)+1, false)
					}
				}
			case "array":
				if s.MaxItems != nil {
					var items []any
					for i := range int(*s.MaxItems) + 1 {
						items = append(items, sampleOf(s.Items.Schema, i))
					}
					set("too-many", path, items, false)
				}
				set("empty-list", path, []any{}, false)
				set("bad-item", path, []any{map[string]any{"unknown": int64(1)}}, false)
			case "object":
				set("unknown-field", append(slices.Clone(path), "notAField"), "x", false)
				if s.MaxProperties != nil {
					m := map[string]any{}
					for i := range int(*s.MaxProperties) + 1 {
						m[fmt.Sprintf("k%d", i)] = "v"
					}
					set("too-many-properties", path, m, false)
				}
			}
		}
		for k, p := range s.Properties {
			walk(append(slices.Clone(path), k), &p)
		}
	}
	walk(nil, s)
	return out
}

func sampleOf(s *apiextensionsv1.JSONSchemaProps, i int) any {
	if s == nil {
		return nil
	}
	switch s.Type {
	case "string":
		return fmt.Sprintf("item-%d@example.com", i)
	case "integer":
		return int64(i)
	case "object":
		return map[string]any{}
	}
	return nil
}

// TestValidateIsDeterministic: several errors come in the same order every
// time (the API server's order of OpenAPI errors, unknown fields and CEL
// errors in different fields follows Go's map iteration).
func TestValidateIsDeterministic(t *testing.T) {
	for scope, schema := range schemas {
		props, err := schema()
		if err != nil {
			t.Fatal(err)
		}
		_, ours := validators(t, props)
		var spec map[string]any
		if err := yaml.Unmarshal([]byte(`
environmentSuffix: "Not Valid"
region: 7
unknownA: 1
unknownB: 2
source: {provider: CodeCommit, repository: a/b, hostArn: x, extra: y}
registry: {imagesToKeep: -1, tagMutability: SOMETIMES}
tags: {"aws:a": v, "aws:b": v, "aws:c": v}
test: {commands: [make], buildspec: b.yml}
deployer: {image: d:v1, targets: [{functionName: f, externalId: e}, {functionName: g, externalId: e}]}
`), &spec); err != nil {
			t.Fatal(err)
		}
		obj := map[string]any{"spec": spec}
		ours.Default(obj)
		first := specschema.Summary(ours.Validate(obj))
		if strings.Count(first, "; ") < 8 {
			t.Fatalf("%s: want errors in many fields, got %s", scope, first)
		}
		for range 50 {
			if got := specschema.Summary(ours.Validate(obj)); got != first {
				t.Fatalf("%s: the errors changed between runs:\n%s\n%s", scope, first, got)
			}
		}
	}
}

// TestNewRefusesUncompiledRules: a schema whose rule is not among the
// compiled rules is refused, not validated without it.
func TestNewRefusesUncompiledRules(t *testing.T) {
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	withRule := func(s apiextensionsv1.JSONSchemaProps) apiextensionsv1.JSONSchemaProps {
		s.XValidations = apiextensionsv1.ValidationRules{{Rule: "self.size() > 1"}}
		return s
	}
	other := rules(t, &apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
		"spec": {Type: "object", XValidations: apiextensionsv1.ValidationRules{{Rule: "true"}}},
	}})
	// The rule on each kind of node the walk must reach.
	for node, spec := range map[string]apiextensionsv1.JSONSchemaProps{
		"Object":   withRule(apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"a": str}}),
		"Property": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"a": withRule(str)}},
		"ListItem": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"a": {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: new(withRule(str))}}}},
		"MapValue": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"a": {Type: "object", AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{Allows: true, Schema: new(withRule(str))}}}},
	} {
		props := &apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": spec}}
		for name, r := range map[string]*specschema.Rules{"NoRules": nil, "OtherRules": other} {
			t.Run(node+"/"+name, func(t *testing.T) {
				_, err := specschema.New(props, r)
				if err == nil || !strings.Contains(err.Error(), `"self.size() > 1" is not among the compiled rules`) {
					t.Fatalf("want the uncompiled rule named, got %v", err)
				}
			})
		}
		t.Run(node+"/Compiled", func(t *testing.T) {
			if _, err := specschema.New(props, rules(t, props)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestValidateLeavesObjectAlone: Validate reports an unknown field without
// pruning it from the caller's object.
func TestValidateLeavesObjectAlone(t *testing.T) {
	props, err := schemas["cluster"]()
	if err != nil {
		t.Fatal(err)
	}
	_, ours := validators(t, props)
	obj := map[string]any{"spec": map[string]any{"environmentSuffix": "dev", "source": map[string]any{"repository": "acme/shop"}, "bogus": true}}
	before := runtime.DeepCopyJSON(obj)
	if errs := ours.Validate(obj); len(errs) == 0 {
		t.Fatal("an unknown field is accepted")
	}
	if diff := cmp.Diff(before, obj); diff != "" {
		t.Errorf("Validate changed the object: -before +after:\n%s", diff)
	}
}

// TestConcurrentUse: one Validator validates and defaults from several
// goroutines at once (run with -race), with the same results as alone.
func TestConcurrentUse(t *testing.T) {
	props, err := schemas["cluster"]()
	if err != nil {
		t.Fatal(err)
	}
	_, ours := validators(t, props)
	var spec map[string]any
	if err := yaml.Unmarshal([]byte("environmentSuffix: Bad\nsource: {provider: CodeCommit, repository: a/b}\ntags: {\"aws:a\": v}\nunknown: 1\n"), &spec); err != nil {
		t.Fatal(err)
	}
	obj := map[string]any{"spec": spec}
	want := specschema.Summary(ours.Validate(obj))
	defaulted := runtime.DeepCopyJSON(obj)
	ours.Default(defaulted)
	diffs := make([]string, 8)
	var wg sync.WaitGroup
	for i := range diffs {
		wg.Go(func() {
			for range 10 {
				o := runtime.DeepCopyJSON(obj)
				if diff := cmp.Diff(want, specschema.Summary(ours.Validate(o))); diff != "" {
					diffs[i] = diff
					return
				}
				ours.Default(o)
				if diff := cmp.Diff(defaulted, o); diff != "" {
					diffs[i] = diff
					return
				}
			}
		})
	}
	wg.Wait()
	for i, diff := range diffs {
		if diff != "" {
			t.Errorf("goroutine %d: -alone +concurrent:\n%s", i, diff)
		}
	}
}

// TestCELBlocked: after a missing required field, a wrong type, a value
// outside its enum, or one too long or with too many items, the CEL rules
// are not evaluated and one line says so, as kube-apiserver reports it;
// after other OpenAPI errors (a pattern) they are.
func TestCELBlocked(t *testing.T) {
	props, err := schemas["cluster"]()
	if err != nil {
		t.Fatal(err)
	}
	_, ours := validators(t, props)
	const blocked = "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"
	many := make([]any, 0, 2000)
	for i := range 2000 {
		many = append(many, fmt.Sprintf("arn:aws:ecr:us-east-1:%012d:repository/r", i))
	}
	cases := map[string]struct {
		spec        map[string]any
		wantBlocked bool
	}{
		"Required":    {spec: map[string]any{"environmentSuffix": "dev"}, wantBlocked: true},
		"TypeInvalid": {spec: map[string]any{"environmentSuffix": "dev", "source": map[string]any{"repository": true}}, wantBlocked: true},
		// Quadratic in the API server's CEL cost model; never evaluated.
		"TooMany": {spec: map[string]any{"environmentSuffix": "dev", "source": map[string]any{"repository": "acme/shop"},
			"crossAccount": map[string]any{"trustedAccountIds": many, "imageRepositoryArns": many}}, wantBlocked: true},
		"Pattern": {spec: map[string]any{"environmentSuffix": "Not Valid", "source": map[string]any{"provider": "CodeCommit", "repository": "a/b"}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			obj := map[string]any{"spec": tc.spec}
			ours.Default(obj)
			got := messages(ours.Validate(obj))
			if slices.Contains(got, blocked) != tc.wantBlocked {
				t.Errorf("blocked: want %t, got %v", tc.wantBlocked, got)
			}
			if evaluated := slices.ContainsFunc(got, func(e string) bool {
				return strings.Contains(e, "spec.source.repository must be") || strings.Contains(e, "evaluating rule")
			}); evaluated == tc.wantBlocked {
				t.Errorf("CEL rules evaluated: want %t, got %v", !tc.wantBlocked, got)
			}
		})
	}
}
