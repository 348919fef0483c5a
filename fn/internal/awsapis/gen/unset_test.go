package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// upjetKind is a kind's types as upjet writes them, cut down.
const upjetKind = `package v1beta1

type FilterInitParameters struct {
	Name *string ` + "`json:\"name,omitempty\"`" + `
}

type FilterObservation struct {
	Name *string ` + "`json:\"name,omitempty\"`" + `
}

type FilterParameters struct {
	Name *string ` + "`json:\"name,omitempty\"`" + `
}

// RepositoryInitParameters are the values taken at creation.
type RepositoryInitParameters struct {
	Filter []FilterInitParameters ` + "`json:\"filter,omitempty\"`" + `
}

type RepositoryObservation struct {
	Arn    *string             ` + "`json:\"arn,omitempty\"`" + `
	Filter []FilterObservation ` + "`json:\"filter,omitempty\"`" + `
}

type RepositoryParameters struct {
	Filter []FilterParameters ` + "`json:\"filter,omitempty\"`" + `
}

// RepositorySpec defines the desired state of Repository
type RepositorySpec struct {
	ForProvider RepositoryParameters ` + "`json:\"forProvider\"`" + `
	// InitProvider holds the same fields as ForProvider.
	// +kubebuilder:validation:Optional
	InitProvider RepositoryInitParameters ` + "`json:\"initProvider,omitempty\"`" + `
}

// RepositoryStatus defines the observed state of Repository.
type RepositoryStatus struct {
	Ready      bool                  ` + "`json:\"ready\"`" + `
	AtProvider RepositoryObservation ` + "`json:\"atProvider,omitempty\"`" + `
}
`

// TestWithoutUnset: the init and observation types go, and the fields
// holding them; the fields are reported by type; a kept type still using
// one is refused.
func TestWithoutUnset(t *testing.T) {
	want := `package v1beta1

type FilterParameters struct {
	Name *string ` + "`json:\"name,omitempty\"`" + `
}

type RepositoryParameters struct {
	Filter []FilterParameters ` + "`json:\"filter,omitempty\"`" + `
}

// RepositorySpec defines the desired state of Repository
type RepositorySpec struct {
	ForProvider RepositoryParameters ` + "`json:\"forProvider\"`" + `
}

// RepositoryStatus defines the observed state of Repository.
type RepositoryStatus struct {
	Ready bool ` + "`json:\"ready\"`" + `
}
`
	got, fields, err := withoutUnset([]byte(upjetKind))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("-want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]string{"RepositorySpec": {"InitProvider"}, "RepositoryStatus": {"AtProvider"}}, fields); diff != "" {
		t.Errorf("fields left out: -want, +got:\n%s", diff)
	}

	for name, src := range map[string]string{
		"a kept type's field holds an unset type through a function": upjetKind + "\ntype Other struct {\n\tF func() FilterObservation\n}\n",
		"an unset type used outside a field":                         upjetKind + "\nvar _ = RepositoryObservation{}\n",
		"an embedded unset type":                                     upjetKind + "\ntype Other struct {\n\tFilterObservation\n}\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := withoutUnset([]byte(src)); err == nil {
				t.Error("rewritten, want an error")
			}
		})
	}
}

// TestUnsetStatements: a deep copy leaves out exactly the statements that
// copy a left-out field.
func TestUnsetStatements(t *testing.T) {
	src := `package v1beta1

func (in *RepositoryStatus) DeepCopyInto(out *RepositoryStatus) {
	*out = *in
	in.ResourceStatus.DeepCopyInto(&out.ResourceStatus)
	in.AtProvider.DeepCopyInto(&out.AtProvider)
	if in.Arn != nil {
		out.AtProviderArn = in.Arn
	}
}
`
	f, err := parser.ParseFile(token.NewFileSet(), "", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd := f.Decls[0].(*ast.FuncDecl)
	got := unsetStatements(fd, []string{"AtProvider"})
	if len(got) != 1 || got[0] != fd.Body.List[2] {
		t.Errorf("unsetStatements: %d statements, want the third only", len(got))
	}
	if got := unsetStatements(fd, nil); len(got) != 0 {
		t.Errorf("unsetStatements without fields: %d statements, want none", len(got))
	}
	cut := string(withCuts([]byte(src), []cut{{strings.Index(src, "in.AtProvider"), strings.Index(src, "\n\tif in.Arn")}}))
	if strings.Contains(cut, "AtProvider.DeepCopyInto") || !strings.Contains(cut, "out.AtProviderArn") || !strings.Contains(cut, "in.ResourceStatus") {
		t.Errorf("withCuts left:\n%s", cut)
	}
}
