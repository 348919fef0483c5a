package specschema

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/containers"
	"github.com/google/cel-go/common/decls"
	"github.com/google/cel-go/common/stdlib"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
	exprpb "google.golang.org/genproto/googleapis/api/expr/v1alpha1"
	"google.golang.org/protobuf/proto"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The variables a rule may use, as the API server declares them. Their types
// are dynamic here: the API server checks a rule's types against the schema
// when it admits the CRD, and the values this package evaluates rules on are
// plain JSON (maps, lists, strings, numbers), which cel-go adapts as the API
// server's schema-typed values behave for them.
const (
	varSelf    = "self"
	varOldSelf = "oldSelf"
)

// Variables are the variables rules are compiled with.
func Variables() []*decls.VariableDecl {
	return []*decls.VariableDecl{
		decls.NewVariable(varSelf, types.DynType),
		decls.NewVariable(varOldSelf, types.DynType),
	}
}

// Functions are the functions a rule may call beyond CEL's standard ones:
// the subset of the API server's CEL libraries the project's rules use. A
// rule calling any other function does not compile (celcompile says which),
// so the function never meets a rule it cannot evaluate.
func Functions() []*decls.FunctionDecl {
	return []*decls.FunctionDecl{splitDecl}
}

// splitDecl is cel-go's ext.Strings split(string) (string_split_string), as
// the API server's environment has it (ext.Strings, any version): Go's
// strings.Split. TestSplitAsExt compares the two.
var splitDecl = must(decls.NewFunction("split",
	decls.MemberOverload("string_split_string",
		[]*types.Type{types.StringType, types.StringType}, types.NewListType(types.StringType),
		decls.BinaryBinding(func(s, sep ref.Val) ref.Val {
			str, ok1 := s.(types.String)
			by, ok2 := sep.(types.String)
			if !ok1 || !ok2 {
				return types.MaybeNoSuchOverloadErr(s)
			}
			return types.DefaultTypeAdapter.NativeToValue(strings.Split(string(str), string(by)))
		}))))

func must[T any](v T, err error) T {
	if err != nil {
		panic(err) // Only on a package-level declaration the tests exercise.
	}
	return v
}

// A CompiledRule is one x-kubernetes-validations rule, compiled ahead of
// time by celcompile: its checked expression as protobuf.
type CompiledRule struct {
	Rule        string `json:"rule"`
	Checked     []byte `json:"checked"`
	UsesOldSelf bool   `json:"usesOldSelf,omitempty"`
}

// Rules are a schema's CEL rules, planned for evaluation, by rule text.
type Rules struct {
	programs map[string]program
}

type program struct {
	eval        interpreter.Interpretable
	usesOldSelf bool
}

// LoadRules plans the programs of rules compiled by celcompile (its JSON).
// Planning a checked expression is what remains of compiling a rule once
// parsing and type-checking are done ahead of time.
func LoadRules(compiled []byte) (*Rules, error) {
	var in []CompiledRule
	if err := json.Unmarshal(compiled, &in); err != nil {
		return nil, fmt.Errorf("cannot decode the compiled CEL rules: %w", err)
	}
	disp := interpreter.NewDispatcher()
	for _, fn := range slices.Concat(stdlib.Functions(), Functions()) {
		b, err := fn.Bindings()
		if err != nil {
			return nil, fmt.Errorf("cannot bind CEL function %s: %w", fn.Name(), err)
		}
		if err := disp.Add(b...); err != nil {
			return nil, fmt.Errorf("cannot add CEL function %s: %w", fn.Name(), err)
		}
	}
	reg := types.NewEmptyRegistry()
	cont := containers.DefaultContainer
	interp := interpreter.NewInterpreter(disp, cont, reg, reg, interpreter.NewAttributeFactory(cont, reg, reg))

	r := &Rules{programs: make(map[string]program, len(in))}
	for _, c := range in {
		checked := &exprpb.CheckedExpr{}
		if err := proto.Unmarshal(c.Checked, checked); err != nil {
			return nil, fmt.Errorf("cannot decode the compiled CEL rule %q: %w", c.Rule, err)
		}
		a, err := ast.ToAST(checked)
		if err != nil {
			return nil, fmt.Errorf("cannot read the compiled CEL rule %q: %w", c.Rule, err)
		}
		// Constant patterns of matches() compiled once, as the API server's
		// programs do (cel-go's OptOptimize).
		p, err := interp.NewInterpretable(a, interpreter.CompileRegexConstants(interpreter.MatchesRegexOptimization))
		if err != nil {
			return nil, fmt.Errorf("cannot plan the CEL rule %q: %w", c.Rule, err)
		}
		r.programs[c.Rule] = program{eval: p, usesOldSelf: c.UsesOldSelf}
	}
	return r, nil
}

// Verify reports a rule of s (or of any node below it) that these Rules
// cannot evaluate as the API server would: one not compiled, or one using a
// feature this package does not implement (messageExpression, fieldPath,
// optionalOldSelf, rules under allOf).
func (r *Rules) Verify(s *structuralschema.Structural) error {
	return walkRules(s, field.NewPath(""), func(p *field.Path, rule apiextensionsv1.ValidationRule) error {
		if _, ok := r.programs[rule.Rule]; !ok {
			return fmt.Errorf("%s: the CEL rule %q is not among the compiled rules", p, rule.Rule)
		}
		return nil
	})
}

// walkRules calls fn for every rule of s and its nodes, and reports the
// features the evaluator does not implement.
func walkRules(s *structuralschema.Structural, p *field.Path, fn func(*field.Path, apiextensionsv1.ValidationRule) error) error {
	return eachNode(s, p, func(p *field.Path, s *structuralschema.Structural) error {
		for _, rule := range s.XValidations {
			switch {
			case rule.MessageExpression != "":
				return fmt.Errorf("%s: the CEL rule %q has a messageExpression, which specschema does not evaluate", p, rule.Rule)
			case rule.FieldPath != "":
				return fmt.Errorf("%s: the CEL rule %q has a fieldPath, which specschema does not apply", p, rule.Rule)
			case rule.OptionalOldSelf != nil && *rule.OptionalOldSelf:
				return fmt.Errorf("%s: the CEL rule %q has optionalOldSelf, which specschema does not evaluate", p, rule.Rule)
			}
			if err := fn(p, rule); err != nil {
				return err
			}
		}
		if s.ValueValidation != nil {
			for _, a := range s.ValueValidation.AllOf {
				if len(a.XValidations) > 0 {
					return fmt.Errorf("%s: CEL rules under allOf are not evaluated by specschema", p)
				}
			}
		}
		return nil
	})
}

// eachNode calls fn for s and then every node below it, with its path:
// properties in sorted order, then items (index 0), then map values (key
// "*"); it stops at fn's first error.
func eachNode(s *structuralschema.Structural, p *field.Path, fn func(*field.Path, *structuralschema.Structural) error) error {
	if s == nil {
		return nil
	}
	if err := fn(p, s); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(s.Properties)) {
		sub := s.Properties[k]
		if err := eachNode(&sub, p.Child(k), fn); err != nil {
			return err
		}
	}
	if err := eachNode(s.Items, p.Index(0), fn); err != nil {
		return err
	}
	if s.AdditionalProperties != nil {
		return eachNode(s.AdditionalProperties.Structural, p.Key("*"), fn)
	}
	return nil
}

// Check evaluates the rules of every node of s present in obj, as
// apiextensions-apiserver's CEL validator does on create (no old object, so
// transition rules are skipped), with one difference: it visits an object's
// fields in sorted order, where the API server's order follows Go's map
// iteration, so the same object always gives the same errors in the same
// order. Validate does not call it when the OpenAPI rules found a value of
// the wrong type, too long or with too many items (CELBlockedBy), as
// kube-apiserver does not, so the rules only see well-typed values within
// the schema's maxLength and maxItems. Those bound every rule's cost, and
// the API server checked the estimate against its limits when it admitted
// the CRD, so the API server's runtime cost limits are not applied here.
func (r *Rules) Check(s *structuralschema.Structural, obj any) field.ErrorList {
	return r.checkNode(nil, s, obj)
}

func (r *Rules) checkNode(p *field.Path, s *structuralschema.Structural, obj any) field.ErrorList {
	if s == nil || obj == nil {
		return nil
	}
	errs := r.checkRules(p, s, obj)
	switch obj := obj.(type) {
	case []any:
		if s.Items != nil {
			for i, v := range obj {
				errs = append(errs, r.checkNode(p.Index(i), s.Items, v)...)
			}
		}
	case map[string]any:
		if s.AdditionalProperties != nil && s.AdditionalProperties.Structural != nil {
			for _, k := range slices.Sorted(maps.Keys(obj)) {
				errs = append(errs, r.checkNode(p.Key(k), s.AdditionalProperties.Structural, obj[k])...)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if sub, ok := s.Properties[k]; ok {
				errs = append(errs, r.checkNode(p.Child(k), &sub, obj[k])...)
			}
		}
	}
	return errs
}

// checkRules evaluates s's own rules on obj; the messages are the API
// server's (apiextensions-apiserver's cel.Validator.validateExpressions).
func (r *Rules) checkRules(p *field.Path, s *structuralschema.Structural, obj any) field.ErrorList {
	var errs field.ErrorList
	for _, rule := range s.XValidations {
		prg, ok := r.programs[rule.Rule]
		if !ok {
			errs = append(errs, field.Invalid(p, s.Type, fmt.Sprintf("rule compile error: %q was not compiled ahead of time", rule.Rule)))
			continue
		}
		if prg.usesOldSelf {
			continue // A transition rule: there is no old object.
		}
		out, err := evaluate(prg.eval, obj)
		if err != nil {
			if strings.HasPrefix(err.Error(), "no such overload") {
				errs = append(errs, field.Invalid(p, s.Type, fmt.Sprintf("'%v': call arguments did not match a supported operator, function or macro signature for rule: %v", err, ruleErrorString(rule))))
			} else {
				errs = append(errs, field.Invalid(p, s.Type, fmt.Sprintf("%v evaluating rule: %v", err, ruleErrorString(rule))))
			}
			continue
		}
		if out == types.True {
			continue
		}
		value := obj
		if s.Type == "object" || s.Type == "array" {
			value = field.OmitValueType{}
		}
		errs = append(errs, fieldErrorForReason(p, value, ruleMessageOrDefault(rule), rule.Reason))
	}
	return errs
}

// evaluate runs a program with self bound to obj, turning an error value or
// a panic into an error as cel-go's Program.Eval does.
func evaluate(prg interpreter.Interpretable, obj any) (out ref.Val, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("internal error: %v", p)
		}
	}()
	act, err := interpreter.NewActivation(map[string]any{varSelf: obj})
	if err != nil {
		return nil, err
	}
	out = prg.Eval(act)
	if e, ok := out.(*types.Err); ok {
		return nil, e
	}
	return out, nil
}

// fieldErrorForReason, ruleMessageOrDefault and ruleErrorString are the API
// server's (apiextensions-apiserver pkg/apiserver/schema/cel/validation.go).
func fieldErrorForReason(p *field.Path, value any, detail string, reason *apiextensionsv1.FieldValueErrorReason) *field.Error {
	if reason == nil {
		return field.Invalid(p, value, detail)
	}
	switch *reason {
	case apiextensionsv1.FieldValueForbidden:
		return field.Forbidden(p, detail)
	case apiextensionsv1.FieldValueRequired:
		return field.Required(p, detail)
	case apiextensionsv1.FieldValueDuplicate:
		return field.Duplicate(p, value)
	default:
		return field.Invalid(p, value, detail)
	}
}

func ruleMessageOrDefault(rule apiextensionsv1.ValidationRule) string {
	if rule.Message == "" {
		return "failed rule: " + ruleErrorString(rule)
	}
	return strings.TrimSpace(rule.Message)
}

func ruleErrorString(rule apiextensionsv1.ValidationRule) string {
	if rule.Message != "" {
		return strings.TrimSpace(rule.Message)
	}
	return strings.TrimSpace(rule.Rule)
}
