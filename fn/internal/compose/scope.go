package compose

import (
	"github.com/crossplane/function-sdk-go/resource/composed"
)

// A Scope adapts a managed resource, built from provider-aws's cluster-scoped
// typed structs, to the API it is composed as. The builders are the same for
// every scope: provider-aws generates the cluster (*.aws.upbound.io) and
// namespaced (*.aws.m.upbound.io) variants of a kind from one Terraform
// schema, so their forProvider fields are the same parameters. What differs
// is the scope's business: the API group, the resource-level fields
// (provider config reference, deletion policy) and, at v1beta1, the shape
// of Terraform's single-item blocks (a list of one in the cluster kinds, an
// object in the namespaced ones); see NamespacedScope.
type Scope interface {
	// Finalize adapts a composed resource to the scope.
	Finalize(u *composed.Unstructured) error
	// AsBuilt reports that Finalize leaves every resource as built, so a
	// resource may go from its typed struct to the response in one walk,
	// without the map Finalize works on (composer.add).
	AsBuilt() bool
}

// ClusterScope composes cluster-scoped managed resources (*.aws.upbound.io),
// the only kind a legacy (apiextensions.crossplane.io/v1) XR can own. The
// typed structs are already of this scope.
type ClusterScope struct{}

// Finalize leaves cluster-scoped resources as they are.
func (ClusterScope) Finalize(*composed.Unstructured) error { return nil }

// AsBuilt is true: Finalize changes nothing.
func (ClusterScope) AsBuilt() bool { return true }
