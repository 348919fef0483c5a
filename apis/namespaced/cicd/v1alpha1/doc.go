// Package v1alpha1 is the namespaced CicdPipeline API (Crossplane v2): a
// composite resource an application team applies in its own namespace,
// composing provider-aws's namespaced managed resources (*.aws.m.upbound.io)
// in that namespace. It shares its parameters and status with the claim API
// (apis/cicd/v1alpha1) by embedding them; only what differs between the
// scopes is declared here.
//
// +kubebuilder:object:generate=false
// +groupName=cicd.m.platform.dev
// +versionName=v1alpha1
package v1alpha1

// Group, version and kind of the API. The group says "namespaced" the way
// provider-aws's does (*.aws.m.upbound.io).
const (
	Group      = "cicd.m.platform.dev"
	Version    = "v1alpha1"
	APIVersion = Group + "/" + Version
	Kind       = "CicdPipeline"
	Plural     = "cicdpipelines"
)
