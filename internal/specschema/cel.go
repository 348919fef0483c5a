package specschema

import (
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Rules are the CEL rules of a schema, compiled ahead of time.
// (Placeholder: replaced by the CEL evaluator.)
type Rules struct{}

// check evaluates the rules of every node of s against obj, as
// apiextensions-apiserver's CEL validator does on create (no old object).
func (r *Rules) check(s *structuralschema.Structural, obj any) field.ErrorList {
	return nil
}
