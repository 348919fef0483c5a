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

type Repository struct {
	Spec   RepositorySpec   ` + "`json:\"spec\"`" + `
	Status RepositoryStatus ` + "`json:\"status,omitempty\"`" + `
}
`

// TestWithoutUnset: the Spec's InitProvider and the Status's AtProvider
// go, with the types only they lead to; the fields are reported by type; a
// type the kept fields still reach stays, whatever its name; a dropped type
// used elsewhere, a kind without either field or a grouped declaration is
// refused.
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

type Repository struct {
	Spec   RepositorySpec   ` + "`json:\"spec\"`" + `
	Status RepositoryStatus ` + "`json:\"status,omitempty\"`" + `
}
`
	got, fields, err := withoutUnset([]byte(upjetKind), "Repository")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("-want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]string{"RepositorySpec": {"InitProvider"}, "RepositoryStatus": {"AtProvider"}}, fields); diff != "" {
		t.Errorf("fields left out: -want, +got:\n%s", diff)
	}

	// A Terraform block named foo_init is a forProvider type named
	// FooInitParameters: reached from forProvider, it stays.
	kept := strings.Replace(upjetKind, "type RepositoryParameters struct {\n", "type RepositoryParameters struct {\n\tFooInit *FooInitParameters `json:\"fooInit,omitempty\"`\n", 1) +
		"\ntype FooInitParameters struct {\n\tObs *FilterObservation `json:\"obs,omitempty\"`\n}\n"
	got, _, err = withoutUnset([]byte(kept), "Repository")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"type FooInitParameters", "type FilterObservation", "FooInit *FooInitParameters"} {
		if !strings.Contains(string(got), name) {
			t.Errorf("%q left out, though forProvider reaches it:\n%s", name, got)
		}
	}
	if strings.Contains(string(got), "RepositoryObservation") || strings.Contains(string(got), "FilterInitParameters") {
		t.Errorf("a type only the unset fields reach stayed:\n%s", got)
	}

	for name, src := range map[string]string{
		"a dropped type used outside a field": upjetKind + "\nvar _ = RepositoryObservation{}\n",
		"no InitProvider":                     strings.Replace(upjetKind, "\tInitProvider RepositoryInitParameters", "\tInit RepositoryInitParameters", 1),
		"no AtProvider":                       strings.Replace(upjetKind, "\tAtProvider RepositoryObservation", "\tAt RepositoryObservation", 1),
		"a grouped type declaration":          upjetKind + "\ntype (\n\tA int\n\tB int\n)\n",
		"a field sharing its line":            strings.Replace(upjetKind, "\tReady      bool                  `json:\"ready\"`\n\tAtProvider", "\tReady bool; AtProvider", 1),
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := withoutUnset([]byte(src), "Repository"); err == nil {
				t.Error("rewritten, want an error")
			}
		})
	}
}

// TestWithCuts: cuts take whole lines, a cut within another is already
// made, and a cut of part of a line is refused.
func TestWithCuts(t *testing.T) {
	src := "a\nbbbb\ncc\ndd\nee // note\n"
	at := func(s string) int { return strings.Index(src, s) }
	got, err := withCuts([]byte(src), []cut{{at("ee"), at("ee") + 2}, {at("bbbb"), at("dd") + 2}, {at("cc"), at("cc") + 2}})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "a\n" {
		t.Errorf("withCuts: %q, want %q", got, "a\n")
	}
	for name, c := range map[string]cut{
		"text before on its line": {at("bb") + 2, at("cc")},
		"text after on its line":  {at("bbbb"), at("bbbb") + 2},
	} {
		if _, err := withCuts([]byte(src), []cut{c}); err == nil {
			t.Errorf("%s: cut, want an error", name)
		}
	}
}

// TestUnsetStatements: a deep copy leaves out exactly the statements that
// copy a left-out field of in or out.
func TestUnsetStatements(t *testing.T) {
	src := `package v1beta1

func (in *RepositoryStatus) DeepCopyInto(out *RepositoryStatus) {
	*out = *in
	in.ResourceStatus.DeepCopyInto(&out.ResourceStatus)
	in.AtProvider.DeepCopyInto(&out.AtProvider)
	if in.Arn != nil {
		out.AtProviderArn = in.Arn
	}
	other.AtProvider = nil
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
}
