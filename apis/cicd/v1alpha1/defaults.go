package v1alpha1

// Built-in defaults of the fields a platform team can default (see
// PlatformConfig). The XRD declares no schema default for these fields, so
// the API server leaves them unset and the composition function can tell a
// claim's own value from an unset one; the function applies these after the
// platform's EnvironmentConfigs (claim > platform > built-in). The README's
// parameter table and the fields' descriptions name the same values.
const (
	DefaultRegion             = "us-east-1"
	DefaultProviderConfigName = "default"
	DefaultDeletionPolicy     = "Delete"
	DefaultManagementPolicy   = "*"
	DefaultLogRetentionDays   = int64(30)
	DefaultBuildImage         = "aws/codebuild/standard:7.0"
	DefaultTestImage          = "aws/codebuild/standard:7.0"
	DefaultBuildKitImage      = "public.ecr.aws/vend/moby/buildkit:buildx-stable-1"
)

// DefaultManagementPolicies is the built-in spec.managementPolicies.
func DefaultManagementPolicies() []string { return []string{DefaultManagementPolicy} }

// DefaultProviderConfigKind is the kind of provider config a namespaced
// CicdPipeline's managed resources use when it names none: provider-aws's
// own default for its namespaced managed resources.
const DefaultProviderConfigKind = "ClusterProviderConfig"
