package specschema_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	apiservercel "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/badclaims"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/specschema"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/specschema/celcompile"
)

func structural(t *testing.T, props *apiextensionsv1.JSONSchemaProps) *structuralschema.Structural {
	t.Helper()
	_, s, err := specschema.Structural(props)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rules(t *testing.T, props *apiextensionsv1.JSONSchemaProps) *specschema.Rules {
	t.Helper()
	b, err := celcompile.Compile(props)
	if err != nil {
		t.Fatal(err)
	}
	r, err := specschema.LoadRules(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func messages(errs field.ErrorList) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Error())
	}
	slices.Sort(out)
	return out
}

var schemas = map[string]func() (*apiextensionsv1.JSONSchemaProps, error){
	"cluster":    xrd.Schema,
	"namespaced": xrd.NamespacedSchema,
}

// TestRulesAsAPIServer evaluates the XRDs' rules on the examples, the bad
// claims catalogue and random specs built to reach every branch of every
// rule (including the ones that fail to evaluate, such as an index out of
// range), and compares the errors with the API server's CEL validator.
func TestRulesAsAPIServer(t *testing.T) {
	specs := exampleSpecs(t)
	for name, c := range badclaims.Catalogue() {
		if c.Transition {
			continue
		}
		var spec map[string]any
		if err := yaml.Unmarshal([]byte(c.Spec), &spec); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		specs["badclaims/"+name] = spec
	}
	rnd := rand.New(rand.NewPCG(14, 2026))
	for i := range 3000 {
		specs[fmt.Sprintf("random/%04d", i)] = randomSpec(rnd)
	}

	for scope, schema := range schemas {
		props, err := schema()
		if err != nil {
			t.Fatal(err)
		}
		s := structural(t, props)
		ours := rules(t, props)
		if err := ours.Verify(s); err != nil {
			t.Fatal(err)
		}
		ref := apiservercel.NewValidator(s, true, celconfig.PerCallLimit)
		failing := 0
		for name, spec := range specs {
			obj := map[string]any{"spec": spec}
			want, _ := ref.Validate(context.Background(), nil, s, obj, nil, celconfig.RuntimeCELCostBudget)
			got := ours.Check(s, obj)
			if len(want) > 0 {
				failing++
			}
			if diff := cmp.Diff(messages(want), messages(got)); diff != "" {
				t.Errorf("%s %s: -API server +specschema:\n%s", scope, name, diff)
			}
		}
		// The inputs must reach the rules: most random specs break one.
		if failing < len(specs)/3 {
			t.Errorf("%s: only %d of %d specs break a rule; the generator misses the rules", scope, failing, len(specs))
		}
	}
}

func exampleSpecs(t *testing.T) map[string]map[string]any {
	t.Helper()
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(b), "\n---\n") {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if spec, ok := obj["spec"].(map[string]any); ok && obj["kind"] != "Function" {
				out[fmt.Sprintf("%s#%d", filepath.Base(f), i)] = spec
			}
		}
	}
	if len(out) < 4 {
		t.Fatalf("found %d example specs; the glob is wrong", len(out))
	}
	return out
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// randomSpec builds a spec from values chosen to sit on either side of
// each rule: ARNs of the right and wrong Region and account, too few
// colons or dots to index, providers with and without connections.
func randomSpec(r *rand.Rand) map[string]any {
	spec := map[string]any{"environmentSuffix": "dev"}
	region := pick(r, "", "us-east-1", "eu-west-1")
	if region != "" {
		spec["region"] = region
	}
	src := map[string]any{
		"provider":   pick(r, "GitHub", "GitHubEnterpriseServer", "Bitbucket", "GitLab", "CodeCommit"),
		"repository": pick(r, "acme/shop", "shop", "a/b/c", "bad repo", "", strings.Repeat("r", 101), "x/"),
	}
	if r.IntN(3) == 0 {
		src["connectionArn"] = "arn:aws:codeconnections:us-east-1:123456789012:connection/abc"
	}
	if r.IntN(3) == 0 {
		src["hostArn"] = badclaims.HostARN
	}
	if r.IntN(8) != 0 {
		spec["source"] = src
	}
	arns := []string{
		"shop-api", "arn:aws:lambda:us-east-1:123456789012:function:f", "arn:aws:lambda:eu-west-1:444455556666:function:f",
		"arn:aws:lambda", "arn:", "arn:aws:lambda:us-east-1",
	}
	if r.IntN(3) != 0 {
		dep := map[string]any{}
		if r.IntN(2) == 0 {
			dep["image"] = pick(r, "111122223333.dkr.ecr.us-east-1.amazonaws.com/d:v1", "111122223333.dkr.ecr.eu-west-1.amazonaws.com/d:v1", "d:v1", "a.b.c")
		}
		if r.IntN(3) != 0 {
			var targets []any
			for range r.IntN(3) {
				tg := map[string]any{"functionName": pick(r, arns...)}
				if r.IntN(2) == 0 {
					tg["roleArn"] = pick(r, "arn:aws:iam::123456789012:role/d", "arn:aws:iam::444455556666:role/d", "role", "arn:aws:iam")
				}
				if r.IntN(3) == 0 {
					tg["externalId"] = "ext"
				}
				targets = append(targets, tg)
			}
			dep["targets"] = targets
		}
		spec["deployer"] = dep
	}
	if r.IntN(2) == 0 {
		ca := map[string]any{}
		list := func(xs ...string) []any {
			var out []any
			for range r.IntN(3) {
				out = append(out, pick(r, xs...))
			}
			return out
		}
		for k, xs := range map[string][]string{
			"trustedAccountIds":    {"444455556666", "123456789012"},
			"trustedPrincipalArns": {"arn:aws:iam::444455556666:role/p", "arn:aws:iam::999999999999:role/p", "arn:aws:iam"},
			"imageRepositoryArns":  {"arn:aws:ecr:us-east-1:444455556666:repository/r", "arn:aws:ecr:eu-west-1:444455556666:repository/r", "arn:aws"},
			"functionNames":        append([]string{"arn:aws:lambda:us-east-1:444455556666:function:f"}, arns...),
		} {
			if r.IntN(3) != 0 {
				ca[k] = list(xs...)
			}
		}
		if r.IntN(4) == 0 {
			ca["organizationId"] = "o-a1b2c3d4e5"
		}
		spec["crossAccount"] = ca
	}
	if r.IntN(3) == 0 {
		tags := map[string]any{}
		for range r.IntN(3) + 1 {
			tags[pick(r, "team", "aws:owner", strings.Repeat("k", 129), strings.Repeat("k", 128))] = pick(r, "v", strings.Repeat("v", 257), strings.Repeat("v", 256))
		}
		spec["tags"] = tags
	}
	if r.IntN(3) == 0 {
		test := map[string]any{}
		if r.IntN(2) == 0 {
			test["commands"] = pick(r, []any{}, []any{"make test"})
		}
		if r.IntN(2) == 0 {
			test["buildspec"] = "buildspec.yml"
		}
		spec["test"] = test
	}
	return spec
}

// TestCheckIsDeterministic: a spec breaking rules in several fields gives
// the same errors in the same order every time (the API server's order
// follows Go's map iteration).
func TestCheckIsDeterministic(t *testing.T) {
	props, err := xrd.Schema()
	if err != nil {
		t.Fatal(err)
	}
	s := structural(t, props)
	ours := rules(t, props)
	var spec map[string]any
	if err := yaml.Unmarshal([]byte(`
environmentSuffix: dev
source: {provider: CodeCommit, repository: a/b, hostArn: x}
tags: {"aws:a": v, "aws:b": v, "aws:c": v}
test: {commands: [make], buildspec: b.yml}
deployer: {image: d:v1, targets: [{functionName: f, externalId: e}, {functionName: g, externalId: e}]}
crossAccount: {trustedAccountIds: ["444455556666"]}
`), &spec); err != nil {
		t.Fatal(err)
	}
	first := ours.Check(s, map[string]any{"spec": spec})
	if len(first) < 5 {
		t.Fatalf("want errors in several fields, got %v", first)
	}
	for range 50 {
		if diff := cmp.Diff(first.ToAggregate().Error(), ours.Check(s, map[string]any{"spec": spec}).ToAggregate().Error()); diff != "" {
			t.Fatalf("the errors changed between runs:\n%s", diff)
		}
	}
}

// TestSplitAsExt: specschema's split is cel-go's ext.Strings split, which
// the API server's environment has.
func TestSplitAsExt(t *testing.T) {
	vars := []cel.EnvOption{cel.Variable("s", cel.StringType), cel.Variable("sep", cel.StringType)}
	program := func(opts ...cel.EnvOption) cel.Program {
		env, err := cel.NewEnv(append(vars, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		a, iss := env.Compile("s.split(sep)")
		if iss.Err() != nil {
			t.Fatal(iss.Err())
		}
		p, err := env.Program(a)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	want, got := program(ext.Strings()), program(cel.FunctionDecls(specschema.Functions()...))
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", ":", "::", ".", "é", "", "\x00", "ab"}
	for range 2000 {
		var s, sep strings.Builder
		for range r.IntN(8) {
			s.WriteString(pick(r, alphabet...))
		}
		for range r.IntN(3) {
			sep.WriteString(pick(r, alphabet...))
		}
		in := map[string]any{"s": s.String(), "sep": sep.String()}
		w, _, werr := want.Eval(in)
		g, _, gerr := got.Eval(in)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) || fmt.Sprint(w) != fmt.Sprint(g) {
			t.Fatalf("%q.split(%q): ext %v (%v), specschema %v (%v)", in["s"], in["sep"], w, werr, g, gerr)
		}
	}
}

// TestRefused: rules the evaluator cannot treat as the API server does are
// refused when they are compiled or verified, not evaluated differently.
func TestRefused(t *testing.T) {
	obj := func(rules ...apiextensionsv1.ValidationRule) *apiextensionsv1.JSONSchemaProps {
		return &apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"spec": {Type: "object", XValidations: rules, Properties: map[string]apiextensionsv1.JSONSchemaProps{"a": {Type: "string"}}},
		}}
	}
	yes := true
	cases := map[string]struct {
		schema     *apiextensionsv1.JSONSchemaProps
		compileErr string
		verifyErr  string
	}{
		"FunctionNotInTheEnvironment": {schema: obj(apiextensionsv1.ValidationRule{Rule: "self.a.lowerAscii() == self.a"}), compileErr: "specschema.Functions"},
		"NotABool":                    {schema: obj(apiextensionsv1.ValidationRule{Rule: "size(self.a)"}), compileErr: "not a bool"},
		"MessageExpression":           {schema: obj(apiextensionsv1.ValidationRule{Rule: "has(self.a)", MessageExpression: "'x'"}), verifyErr: "messageExpression"},
		"FieldPath":                   {schema: obj(apiextensionsv1.ValidationRule{Rule: "has(self.a)", FieldPath: ".a"}), verifyErr: "fieldPath"},
		"OptionalOldSelf":             {schema: obj(apiextensionsv1.ValidationRule{Rule: "has(self.a)", OptionalOldSelf: &yes}), verifyErr: "optionalOldSelf"},
		"AllOf": {schema: &apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"spec": {Type: "object", AllOf: []apiextensionsv1.JSONSchemaProps{{XValidations: apiextensionsv1.ValidationRules{{Rule: "has(self.a)"}}}},
				Properties: map[string]apiextensionsv1.JSONSchemaProps{"a": {Type: "string"}}},
		}}, verifyErr: "allOf"},
		// Rules whose result depends on the API server's typed values.
		"IntegerArithmetic": {schema: typed(apiextensionsv1.JSONSchemaProps{Type: "integer"}, "self.n % 2 == 0"), compileErr: "a number"},
		"DateTime":          {schema: typed(apiextensionsv1.JSONSchemaProps{Type: "string", Format: "date-time"}, "self.n < self.m"), compileErr: "format date-time"},
		"SetEquality":       {schema: typed(apiextensionsv1.JSONSchemaProps{Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{Type: "string"}}}, "self.n == self.m"), compileErr: "a list or object"},
		"SelfEquality":      {schema: &apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{Type: "string"}}, XValidations: apiextensionsv1.ValidationRules{{Rule: "self == oldSelf"}}}}}, compileErr: "a list or object"},
		"EscapedName":       {schema: typed(apiextensionsv1.JSONSchemaProps{Type: "string"}, "self.foo__dash__bar == 'x'"), compileErr: "escaped"},
		"RuleOnANumber": {schema: &apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"n": {Type: "integer", XValidations: apiextensionsv1.ValidationRules{{Rule: "self % 2 == 0"}}}}},
		}}, compileErr: "a number"},
		"Root": {schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XValidations: apiextensionsv1.ValidationRules{{Rule: "has(self.spec)"}}}, compileErr: "root"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := celcompile.Compile(tc.schema)
			if tc.compileErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.compileErr) {
					t.Fatalf("Compile: want an error containing %q, got %v", tc.compileErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r, err := specschema.LoadRules(b)
			if err != nil {
				t.Fatal(err)
			}
			err = r.Verify(structural(t, tc.schema))
			if err == nil || !strings.Contains(err.Error(), tc.verifyErr) {
				t.Fatalf("Verify: want an error containing %q, got %v", tc.verifyErr, err)
			}
		})
	}
}

// typed is a spec with fields n and m (and foo-bar) of schema s and a rule.
func typed(s apiextensionsv1.JSONSchemaProps, rule string) *apiextensionsv1.JSONSchemaProps {
	return &apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
		"spec": {Type: "object", XValidations: apiextensionsv1.ValidationRules{{Rule: rule}},
			Properties: map[string]apiextensionsv1.JSONSchemaProps{"n": s, "m": s, "foo-bar": s}},
	}}
}

// TestTransitionRulesAreSkipped: without an old object a rule using oldSelf
// is not evaluated, as on the API server's create.
func TestTransitionRulesAreSkipped(t *testing.T) {
	props := &apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
		"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"a": {Type: "string", XValidations: apiextensionsv1.ValidationRules{{Rule: "self == oldSelf"}, {Rule: "self == 'b'"}}},
		}},
	}}
	s := structural(t, props)
	got := messages(rules(t, props).Check(s, map[string]any{"spec": map[string]any{"a": "a"}}))
	want := []string{`spec.a: Invalid value: "a": failed rule: self == 'b'`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
}
