package specschema

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Summary renders a list of violations as one line per violation, in the
// order given, for error messages and test output.
func Summary(errs field.ErrorList) string {
	lines := make([]string, 0, len(errs))
	for _, e := range errs {
		lines = append(lines, e.Error())
	}
	return strings.Join(lines, "; ")
}
