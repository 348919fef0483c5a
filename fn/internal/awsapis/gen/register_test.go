package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestCopiesRunNoCodeAtStart: the function's binary has no init function
// of any copied package (the linker leaves out the empty ones the compiler
// emits), so starting the function runs none of their code (register.go).
func TestCopiesRunNoCodeAtStart(t *testing.T) {
	ctx := context.Background()
	bin := filepath.Join(t.TempDir(), "function")
	build := exec.CommandContext(ctx, "go", "build", "-ldflags=-w", "-o", bin, "github.com/cicd-platform/crossplane-cicd-pipeline/fn")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	syms, err := exec.CommandContext(ctx, "go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	copied := regexp.MustCompile(`^` + regexp.QuoteMeta(importPath) + `/[a-z]+/[a-z0-9]+/v1beta1\.`)
	n := 0
	for sym := range strings.Lines(string(syms)) {
		f := strings.Fields(sym)
		if len(f) != 3 || !copied.MatchString(f[2]) {
			continue
		}
		n++
		if _, name, _ := strings.Cut(f[2][len(importPath):], "v1beta1."); f[1] == "T" && strings.HasPrefix(name, "init") {
			t.Errorf("the function runs %s when it starts", f[2])
		}
	}
	if n == 0 {
		t.Fatal("the function's binary has no symbol of a copied package")
	}
}

// upjetTypes is the end of a kind's types file as upjet writes it,
// including the comment upjet writes for every kind.
const upjetTypes = `package v1beta1

import "k8s.io/apimachinery/pkg/runtime/schema"

type Rule struct{}

type RuleList struct{}

// Repository type metadata.
var (
	Rule_Kind             = "Rule"
	Rule_GroupKind        = schema.GroupKind{Group: CRDGroup, Kind: Rule_Kind}.String()
	Rule_KindAPIVersion   = Rule_Kind + "." + CRDGroupVersion.String()
	Rule_GroupVersionKind = CRDGroupVersion.WithKind(Rule_Kind)
)

func init() {
	SchemeBuilder.Register(&Rule{}, &RuleList{})
}
`

// TestWithoutInit: a kind's registration goes and its type metadata
// become the literals the provider's expressions compute; any other shape
// of either is refused rather than copied half-rewritten.
func TestWithoutInit(t *testing.T) {
	gv := schema.GroupVersion{Group: "cloudwatchevents.aws.upbound.io", Version: "v1beta1"}
	want := `package v1beta1

import "k8s.io/apimachinery/pkg/runtime/schema"

type Rule struct{}

type RuleList struct{}

// Repository type metadata.
var (
	Rule_Kind             = "Rule"
	Rule_GroupKind        = "Rule.cloudwatchevents.aws.upbound.io"
	Rule_KindAPIVersion   = "Rule.cloudwatchevents.aws.upbound.io/v1beta1"
	Rule_GroupVersionKind = schema.GroupVersionKind{Group: CRDGroup, Version: CRDVersion, Kind: "Rule"}
)
`
	got, err := withoutInit([]byte(upjetTypes), "Rule", gv)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("-want, +got:\n%s", diff)
	}

	refused := map[string]string{
		"another kind registered": strings.Replace(upjetTypes, "Register(&Rule{}, &RuleList{})", "Register(&Target{}, &TargetList{})", 1),
		"no list registered":      strings.Replace(upjetTypes, ", &RuleList{})", ")", 1),
		"a second init":           upjetTypes + "\nfunc init() {}\n",
		"no registration":         upjetTypes[:strings.Index(upjetTypes, "\nfunc init()")+1],
		"metadata computed otherwise": strings.Replace(upjetTypes, "CRDGroupVersion.WithKind(Rule_Kind)",
			`schema.GroupVersionKind{Group: CRDGroup, Version: "v1", Kind: Rule_Kind}`, 1),
		"SchemeBuilder used elsewhere": upjetTypes + "\nvar _ = SchemeBuilder\n",
	}
	for name, src := range refused {
		t.Run(name, func(t *testing.T) {
			if _, err := withoutInit([]byte(src), "Rule", gv); err == nil {
				t.Error("rewritten, want an error")
			}
		})
	}
}

// upjetGroupVersion is a zz_groupversion_info.go as upjet writes it.
const upjetGroupVersion = `package v1beta1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

// Package type metadata.
const (
	CRDGroup   = "ecr.aws.m.upbound.io"
	CRDVersion = "v1beta1"
)

var (
	// CRDGroupVersion is the API Group Version used to register the objects
	CRDGroupVersion = schema.GroupVersion{Group: CRDGroup, Version: CRDVersion}

	// SchemeBuilder is used to add go types to the GroupVersionKind scheme
	SchemeBuilder = &scheme.Builder{GroupVersion: CRDGroupVersion}

	// AddToScheme adds the types in this group-version to the given scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
`

// TestWithoutBuilder: the group's scheme.Builder and AddToScheme go, the
// group and version stay; another shape is refused.
func TestWithoutBuilder(t *testing.T) {
	gv, err := groupVersion([]byte(upjetGroupVersion))
	if err != nil {
		t.Fatal(err)
	}
	if want := (schema.GroupVersion{Group: "ecr.aws.m.upbound.io", Version: "v1beta1"}); gv != want {
		t.Errorf("groupVersion: %s, want %s", gv, want)
	}
	got, err := withoutBuilder([]byte(upjetGroupVersion))
	if err != nil {
		t.Fatal(err)
	}
	want := `package v1beta1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Package type metadata.
const (
	CRDGroup   = "ecr.aws.m.upbound.io"
	CRDVersion = "v1beta1"
)

var (
	// CRDGroupVersion is the API Group Version used to register the objects
	CRDGroupVersion = schema.GroupVersion{Group: CRDGroup, Version: CRDVersion}
)
`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("-want, +got:\n%s", diff)
	}
	for name, src := range map[string]string{
		"no builder":          strings.Replace(upjetGroupVersion, "SchemeBuilder = &scheme.Builder", "Builder = &scheme.Builder", 1),
		"builder used":        upjetGroupVersion + "\nvar _ = SchemeBuilder.GroupVersion\n",
		"scheme package used": upjetGroupVersion + "\nvar _ scheme.Builder\n",
		"a second import":     strings.Replace(upjetGroupVersion, builderImport, builderImport+builderImport, 1),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := withoutBuilder([]byte(src)); err == nil {
				t.Error("rewritten, want an error")
			}
		})
	}
	noVersion := bytes.Replace([]byte(upjetGroupVersion), []byte("\tCRDVersion = \"v1beta1\"\n"), nil, 1)
	if _, err := groupVersion(noVersion); err == nil {
		t.Error("groupVersion without CRDVersion: no error")
	}
}
