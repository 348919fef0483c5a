// Package celcompile compiles a CRD schema's x-kubernetes-validations rules
// ahead of time, for internal/specschema: it parses and type-checks each
// rule in specschema's CEL environment and writes the checked expressions,
// so the composition function only plans them at start-up and links neither
// CEL's parser nor the API server's CEL libraries. go generate runs it
// (apis/xrdgen -rules-out).
package celcompile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/google/cel-go/cel"
	"google.golang.org/protobuf/proto"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/specschema"
)

// Compile returns the compiled rules of every node of schema as the JSON
// specschema.LoadRules reads: one entry per distinct rule, sorted by rule.
func Compile(schema *apiextensionsv1.JSONSchemaProps) ([]byte, error) {
	env, err := cel.NewEnv(
		cel.VariableDecls(specschema.Variables()...),
		cel.FunctionDecls(specschema.Functions()...),
	)
	if err != nil {
		return nil, fmt.Errorf("cannot build the CEL environment: %w", err)
	}
	rules := map[string]bool{}
	collect(schema, rules)

	out := make([]specschema.CompiledRule, 0, len(rules))
	for rule := range rules {
		c, err := compile(env, rule)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b specschema.CompiledRule) int {
		switch {
		case a.Rule < b.Rule:
			return -1
		case a.Rule > b.Rule:
			return 1
		}
		return 0
	})
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // The rules stay readable: && rather than \u0026\u0026.
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("cannot encode the compiled rules: %w", err)
	}
	return b.Bytes(), nil
}

func compile(env *cel.Env, rule string) (specschema.CompiledRule, error) {
	a, iss := env.Compile(rule)
	if iss.Err() != nil {
		return specschema.CompiledRule{}, fmt.Errorf("cannot compile the CEL rule %q in specschema's environment (a function it lacks is added in specschema.Functions): %w", rule, iss.Err())
	}
	if t := a.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return specschema.CompiledRule{}, fmt.Errorf("the CEL rule %q evaluates to %s, not a bool", rule, t)
	}
	checked, err := cel.AstToCheckedExpr(a)
	if err != nil {
		return specschema.CompiledRule{}, fmt.Errorf("cannot convert the CEL rule %q: %w", rule, err)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(checked)
	if err != nil {
		return specschema.CompiledRule{}, fmt.Errorf("cannot encode the CEL rule %q: %w", rule, err)
	}
	usesOldSelf := false
	for _, ref := range a.NativeRep().ReferenceMap() {
		if ref.Name == "oldSelf" {
			usesOldSelf = true
		}
	}
	return specschema.CompiledRule{Rule: rule, Checked: b, UsesOldSelf: usesOldSelf}, nil
}

// collect adds the rules of s and of every schema below it.
func collect(s *apiextensionsv1.JSONSchemaProps, rules map[string]bool) {
	if s == nil {
		return
	}
	for _, r := range s.XValidations {
		rules[r.Rule] = true
	}
	for _, p := range s.Properties {
		collect(&p, rules)
	}
	if s.Items != nil {
		collect(s.Items.Schema, rules)
		for _, i := range s.Items.JSONSchemas {
			collect(&i, rules)
		}
	}
	if s.AdditionalProperties != nil {
		collect(s.AdditionalProperties.Schema, rules)
	}
	for _, list := range [][]apiextensionsv1.JSONSchemaProps{s.AllOf, s.AnyOf, s.OneOf} {
		for _, x := range list {
			collect(&x, rules)
		}
	}
	collect(s.Not, rules)
}
