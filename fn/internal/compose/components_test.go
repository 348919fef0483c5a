package compose

import (
	"slices"
	"strings"
	"testing"

	"github.com/crossplane/function-sdk-go/resource"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis"
	ecr "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/ecr/v1beta1"
	sns "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/sns/v1beta1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providercrds"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/testhelp"
)

// TestLongNamesFit: claim names far beyond the old 18-character limit
// give names within every limit, stable and distinct per XR.
func TestLongNamesFit(t *testing.T) {
	xr := "payments-service-api-" + strings.Repeat("x", 40)
	a, err := AWSNames(xr+"-x7k2p", "production12")
	if err != nil {
		t.Fatalf("a long claim name must fit: %v", err)
	}
	again, _ := AWSNames(xr+"-x7k2p", "production12")
	if diff := cmp.Diff(a, again); diff != "" {
		t.Errorf("names must be stable: %s", diff)
	}
	other, _ := AWSNames(xr+"-q8r3m", "production12")
	for _, c := range Components {
		if !c.AWSName.Named() {
			continue
		}
		name := a[c.Name]
		if name == "" {
			t.Errorf("%s has no AWS name", c.Name)
			continue
		}
		if name == other[c.Name] {
			t.Errorf("%s: two XRs share the shortened name %s", c.Name, name)
		}
		if c.AWSName.Purpose != "" && len(name) > c.AWSName.Limit.Max {
			t.Errorf("%s is %d characters, over %d", name, len(name), c.AWSName.Limit.Max)
		}
		if !strings.HasSuffix(name, "-production12") {
			t.Errorf("%s lost its environment suffix", name)
		}
	}
}

// TestComponentsAreUnique: a name has one row, and no two named rows share
// an AWS purpose (their AWS names would collide).
func TestComponentsAreUnique(t *testing.T) {
	names := map[string]bool{}
	purposes := map[string]bool{}
	for _, c := range Components {
		if names[string(c.Name)] {
			t.Errorf("%s has two rows", c.Name)
		}
		names[string(c.Name)] = true
		if p := c.AWSName.Purpose; p != "" {
			key := c.Kind().Kind + "/" + p
			if purposes[key] {
				t.Errorf("two %s rows have the purpose %q", c.Kind().Kind, p)
			}
			purposes[key] = true
		}
	}
}

// TestComponentKindsExist: every row's kind is served by provider-aws
// v2.5.0's CRDs at the row's version, so the registry and the provider
// agree on group, version and kind.
func TestComponentKindsExist(t *testing.T) {
	for _, c := range Components {
		if _, err := providercrds.Schema(c.Kind()); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
}

// TestProviderDependencies: the Configuration package depends on exactly
// the provider-aws family members the components need (the e2e control
// plane installs the CRDs of the same list). A package missing one would
// install without that provider and its resources would never be created.
func TestProviderDependencies(t *testing.T) {
	got, err := testhelp.PackageProviderGroups(testhelp.RepoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ProviderGroups(), got); diff != "" {
		t.Errorf("package/crossplane.yaml spec.dependsOn must list %s<group> for each provider group of Components, sorted (-registry, +package):\n%s", testhelp.ProviderPrefix, diff)
	}
}

// TestAddRefusesUnregistered: a builder cannot compose a resource without a
// row, or a struct of another kind than its row's.
func TestAddRefusesUnregistered(t *testing.T) {
	cases := map[string]struct {
		name    resource.Name
		obj     runtime.Object
		wantErr string
	}{
		"NoRow": {
			name: "unregistered", obj: &ecr.Repository{},
			wantErr: "cannot compose unregistered: unregistered is not in the component registry (Components)",
		},
		"OtherKind": {
			name: ECRRepository, obj: &ecr.LifecyclePolicy{},
			wantErr: "cannot compose ecr-repository: ecr-repository is registered as *v1beta1.Repository, not *v1beta1.LifecyclePolicy",
		},
		"Registered": {name: ECRRepository, obj: &ecr.Repository{}},
		"Many":       {name: EmailSubscription("a@example.com"), obj: &sns.TopicSubscription{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := &composer{in: Input{Scope: ClusterScope{}}, res: &Result{Desired: map[resource.Name][]byte{}}}
			err := c.add(tc.name, "", tc.obj)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.wantErr {
				t.Errorf("add(%s): got error %q, want %q", tc.name, got, tc.wantErr)
			}
		})
	}
}

// TestKindsAreComponents: the provider kinds copied into awsapis (the
// generator's list) are exactly the kinds of the registry's rows, so no
// row's kind is missing from the copies and nothing is copied for nothing.
func TestKindsAreComponents(t *testing.T) {
	registry := map[string][]string{}
	for _, c := range Components {
		gvk := c.Kind()
		if gvk.Version != awsapis.Version {
			t.Errorf("%s is at %s; awsapis copies %s", c.Name, gvk.Version, awsapis.Version)
		}
		group := strings.TrimSuffix(gvk.Group, ClusterGroupSuffix)
		if !slices.Contains(registry[group], gvk.Kind) {
			registry[group] = append(registry[group], gvk.Kind)
		}
	}
	sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })
	if diff := cmp.Diff(awsapis.Kinds, registry, sorted); diff != "" {
		t.Errorf("awsapis.Kinds must list the kinds of Components, by group (-awsapis.Kinds, +registry):\n%s", diff)
	}
}
