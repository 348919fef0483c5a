package specschema_test

import (
	"testing"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/crdschema"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/specschema"
)

// BenchmarkNew is what the function's start-up pays for its validator:
// the schema decoded, the compiled rules planned, the validator built.
// BenchmarkNewAPIServer is the same with the API server's libraries
// (which compile the CEL rules).
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		s, err := xrd.Schema()
		if err != nil {
			b.Fatal(err)
		}
		r, err := specschema.LoadRules(xrd.RulesJSON)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := specschema.New(s, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewAPIServer(b *testing.B) {
	for b.Loop() {
		s, err := xrd.Schema()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := crdschema.New(s); err != nil {
			b.Fatal(err)
		}
	}
}
