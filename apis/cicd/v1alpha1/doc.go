// Package v1alpha1 is the XCicdPipeline platform API: the composite resource
// (XR) and, through the generated XRD, its namespaced claim CicdPipeline.
//
// These Go types are the single source of the API. `go generate` turns their
// kubebuilder markers into the XRD's OpenAPI schema (package/definition.yaml),
// and the composition function decodes the XR into them.
//
// +kubebuilder:object:generate=true
// +groupName=cicd.platform.dev
// +versionName=v1alpha1
package v1alpha1

// Group, version and kinds of the API.
const (
	Group           = "cicd.platform.dev"
	Version         = "v1alpha1"
	CompositeKind   = "XCicdPipeline"
	ClaimKind       = "CicdPipeline"
	CompositePlural = "xcicdpipelines"
	ClaimPlural     = "cicdpipelines"
)
