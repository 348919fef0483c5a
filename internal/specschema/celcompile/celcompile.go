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
	"maps"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
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
	rules := map[string][]*apiextensionsv1.JSONSchemaProps{}
	collect(schema, rules)

	out := make([]specschema.CompiledRule, 0, len(rules))
	for rule, nodes := range rules {
		c, a, err := compile(env, rule)
		if err != nil {
			return nil, err
		}
		for _, n := range nodes {
			if err := typedAlike(rule, a, n, n == schema); err != nil {
				return nil, err
			}
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

func compile(env *cel.Env, rule string) (specschema.CompiledRule, *cel.Ast, error) {
	a, iss := env.Compile(rule)
	if iss.Err() != nil {
		return specschema.CompiledRule{}, nil, fmt.Errorf("cannot compile the CEL rule %q in specschema's environment (a function it lacks is added in specschema.Functions): %w", rule, iss.Err())
	}
	if t := a.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return specschema.CompiledRule{}, nil, fmt.Errorf("the CEL rule %q evaluates to %s, not a bool", rule, t)
	}
	checked, err := cel.AstToCheckedExpr(a)
	if err != nil {
		return specschema.CompiledRule{}, nil, fmt.Errorf("cannot convert the CEL rule %q: %w", rule, err)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(checked)
	if err != nil {
		return specschema.CompiledRule{}, nil, fmt.Errorf("cannot encode the CEL rule %q: %w", rule, err)
	}
	usesOldSelf := false
	for _, ref := range a.NativeRep().ReferenceMap() {
		if ref.Name == "oldSelf" {
			usesOldSelf = true
		}
	}
	return specschema.CompiledRule{Rule: rule, Checked: b, UsesOldSelf: usesOldSelf}, a, nil
}

// typedAlike refuses a rule whose result could depend on what specschema
// does not model of the API server's schema-typed CEL values, which it
// evaluates on plain JSON instead: numbers (the API server reads an
// integer field as an int, the function's input holds floats), strings
// with a date, date-time, duration or byte format (the API server reads
// them as timestamps, durations, bytes), equality of lists or objects
// (set and map lists compare regardless of order on the API server),
// escaped property names, and rules at the resource's root (where the API
// server adds apiVersion, kind and metadata). It reads the fields the rule
// selects by name and refuses if any property of that name under the
// rule's node is such a field, which may refuse a rule the evaluator would
// treat alike, never the reverse.
func typedAlike(rule string, a *cel.Ast, node *apiextensionsv1.JSONSchemaProps, root bool) error {
	if root {
		return fmt.Errorf("the CEL rule %q is at the resource's root, which specschema does not evaluate as the API server does", rule)
	}
	// A rule on a number or formatted string reads it as self.
	if err := typedField(rule, "self", node, false); err != nil {
		return err
	}
	selected, compared, err := fieldsOf(rule, a, node)
	if err != nil {
		return err
	}
	var walk func(name string, s *apiextensionsv1.JSONSchemaProps)
	walk = func(name string, s *apiextensionsv1.JSONSchemaProps) {
		if s == nil || err != nil {
			return
		}
		if name != "" && selected[name] {
			err = typedField(rule, name, s, compared[name])
		}
		for _, k := range slices.Sorted(maps.Keys(s.Properties)) {
			p := s.Properties[k]
			walk(k, &p)
		}
		if s.Items != nil {
			walk("", s.Items.Schema)
		}
		if s.AdditionalProperties != nil {
			walk("", s.AdditionalProperties.Schema)
		}
	}
	walk("", node)
	if err != nil {
		return fmt.Errorf("%w; write it so that it reads strings, booleans, presence and sizes, or teach specschema the API server's typed values", err)
	}
	return nil
}

// typedField refuses a field a rule reads (compared: with == or != as it
// is) whose value the API server reads as typed.
func typedField(rule, name string, s *apiextensionsv1.JSONSchemaProps, compared bool) error {
	switch {
	case s.Type == "integer" || s.Type == "number" || s.XIntOrString:
		return fmt.Errorf("the CEL rule %q reads %s, a number, which the API server reads as typed and specschema as JSON", rule, name)
	case s.Type == "string" && slices.Contains([]string{"date", "date-time", "duration", "byte"}, s.Format):
		return fmt.Errorf("the CEL rule %q reads %s, a string of format %s, which the API server reads as typed", rule, name, s.Format)
	case compared && (s.Type == "array" || s.Type == "object"):
		return fmt.Errorf("the CEL rule %q compares %s, a list or object, whose equality the API server defines by its list or map type", rule, name)
	}
	return nil
}

// fieldsOf returns the fields a rule selects, and those it compares with
// == or != as they are; it refuses comparing self (or oldSelf) when the
// node is a list or object, and escaped property names.
func fieldsOf(rule string, a *cel.Ast, node *apiextensionsv1.JSONSchemaProps) (selected, compared map[string]bool, err error) {
	selected, compared = map[string]bool{}, map[string]bool{}
	var selfCompared error
	ast.PreOrderVisit(a.NativeRep().Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		switch e.Kind() {
		case ast.SelectKind:
			selected[e.AsSelect().FieldName()] = true
		case ast.CallKind:
			if f := e.AsCall().FunctionName(); f != operators.Equals && f != operators.NotEquals {
				return
			}
			for _, arg := range e.AsCall().Args() {
				switch arg.Kind() {
				case ast.SelectKind:
					compared[arg.AsSelect().FieldName()] = true
				case ast.IdentKind:
					if node.Type == "array" || node.Type == "object" {
						selfCompared = fmt.Errorf("the CEL rule %q compares %s, a list or object, whose equality the API server defines by its list or map type", rule, arg.AsIdent())
					}
				}
			}
		}
	}))
	if selfCompared != nil {
		return nil, nil, selfCompared
	}
	for name := range selected {
		if strings.Contains(name, "__") {
			return nil, nil, fmt.Errorf("the CEL rule %q selects %s, an escaped property name, which specschema does not unescape", rule, name)
		}
	}
	return selected, compared, nil
}

// collect adds the rules of s and of every schema below it, with the
// nodes they are on.
func collect(s *apiextensionsv1.JSONSchemaProps, rules map[string][]*apiextensionsv1.JSONSchemaProps) {
	if s == nil {
		return
	}
	for _, r := range s.XValidations {
		rules[r.Rule] = append(rules[r.Rule], s)
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
