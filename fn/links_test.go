package main

import (
	"strings"
	"testing"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/testhelp"
)

// TestFunctionLinksNoAPIServerValidation: the function validates specs with
// internal/specschema (CEL rules compiled by go generate, evaluated by
// cel-go's interpreter), not with the API server's validator, whose
// packages compile every rule at start-up and were most of the function's
// cold start and of its binary beyond function-sdk-go
// (docs/performance.md). The parser and checker are the compiler's.
func TestFunctionLinksNoAPIServerValidation(t *testing.T) {
	deps := testhelp.Deps(t, ".", "github.com/cicd-platform/crossplane-cicd-pipeline/internal/specschema")
	// A package, or with a trailing slash every package below a path.
	banned := []string{
		"github.com/cicd-platform/crossplane-cicd-pipeline/internal/crdschema",
		"k8s.io/apiserver/",
		"k8s.io/apiextensions-apiserver/pkg/apiserver/validation",
		"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel",
		"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/",
		"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting",
		"github.com/google/cel-go/cel",
		"github.com/google/cel-go/ext",
		"github.com/google/cel-go/checker",
		"github.com/google/cel-go/parser",
		"github.com/google/cel-go/parser/",
		"github.com/antlr4-go/",
	}
	for _, d := range deps {
		for _, b := range banned {
			if d == b || (strings.HasSuffix(b, "/") && strings.HasPrefix(d, b)) {
				t.Errorf("the function imports %s", d)
			}
		}
	}
}
