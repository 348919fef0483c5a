package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providercrds"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/testhelp"
)

// TestGeneratedFresh regenerates the copies from the provider module at the
// version go.mod requires and compares them, file by file, with the ones
// in fn/internal/awsapis: a provider upgrade, a new kind or an edited copy
// fails here until `go generate ./fn/internal/awsapis` is run.
func TestGeneratedFresh(t *testing.T) {
	mod, err := providercrds.Locate()
	if err != nil {
		t.Fatal(err)
	}
	fresh := t.TempDir()
	if err := generate(mod, fresh); err != nil {
		t.Fatal(err)
	}
	want, err := tree(fresh)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tree("..")
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("the generator wrote nothing")
	}
	for name, content := range want {
		if got[name] != content {
			t.Errorf("fn/internal/awsapis/%s is not what the generator writes from %s@%s: run go generate ./fn/internal/awsapis", name, "provider-aws", mod.Version)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("fn/internal/awsapis/%s is not generated (a kind no longer in awsapis.Kinds?): run go generate ./fn/internal/awsapis", name)
		}
	}
}

// tree reads the generated files under root (the scopes' directories),
// by path relative to root.
func tree(root string) (map[string]string, error) {
	out := map[string]string{}
	for _, scope := range []string{"cluster", "namespaced"} {
		err := filepath.WalkDir(filepath.Join(root, scope), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, path)
			out[filepath.ToSlash(rel)] = string(b)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// TestFunctionLinksNoProviderPackages: the function's build imports none of
// the provider's packages, and so nothing of upjet or Terraform, which only
// the provider's non-type files need.
func TestFunctionLinksNoProviderPackages(t *testing.T) {
	deps := testhelp.Deps(t, "github.com/cicd-platform/crossplane-cicd-pipeline/fn", "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/ecr/v1beta1")
	for _, d := range deps {
		for _, banned := range []string{providercrds.Module + "/", "github.com/crossplane/upjet", "github.com/hashicorp/terraform", "github.com/zclconf/go-cty"} {
			if strings.HasPrefix(d, banned) {
				t.Errorf("the function imports %s", d)
			}
		}
	}
}
