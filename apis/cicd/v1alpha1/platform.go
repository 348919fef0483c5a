package v1alpha1

// Platform defaults: a platform team states its decisions once, in the data
// of Crossplane EnvironmentConfigs, and every claim the team's rules select
// gets them without repeating them. The composition function requests the
// EnvironmentConfigs itself (see fn/internal/platform and the README's "For
// platform teams").
//
// Each value is checked against the XRD's own schema of the claim field it
// defaults (the same pattern, enum and limits), so a platform value is never
// accepted where the same value in a claim would be rejected.

// Labels of the EnvironmentConfigs that carry platform defaults, and of the
// claims (XRs) that pick environment-specific ones.
const (
	// LabelPlatformDefaults marks an EnvironmentConfig as platform defaults
	// of this API; its value must be "true".
	LabelPlatformDefaults = "cicd.platform.dev/defaults"
	// LabelEnvironment on an EnvironmentConfig restricts it to the claims
	// with the same label and value; on a claim it selects those configs.
	// A config without it applies to every claim.
	LabelEnvironment = "cicd.platform.dev/environment"
)

// PlatformRequirementName keys the platform-defaults EnvironmentConfigs in
// the function's requirements and in the request Crossplane answers them
// with.
const PlatformRequirementName = "platform-defaults"

// Sources of an effective value (status.effective[].source). A platform
// value's source is SourcePlatformPrefix followed by the EnvironmentConfig's
// name.
const (
	SourceClaim          = "claim"
	SourceDefault        = "default"
	SourceObserved       = "observed"
	SourcePlatformPrefix = "platform:"
)

// PlatformConfig is the data of a platform-defaults EnvironmentConfig.
type PlatformConfig struct {
	// Defaults apply to each field the claim leaves unset.
	Defaults PlatformDefaults `json:"defaults,omitempty"`

	// Enforced names fields (by their path under the claim's spec, such as
	// deletionPolicy or tags) whose platform value a claim may not change:
	// a claim that sets another value is rejected (SpecValid=False). For
	// tags, a claim may add keys but not change the platform's.
	Enforced []string `json:"enforced,omitempty"`

	// AllowedRegions, when set, are the only regions a pipeline may be in.
	AllowedRegions []string `json:"allowedRegions,omitempty"`

	// AccountID is the AWS account (12 digits) of one provider config: the
	// platform's providerConfigName where it is set (this config's
	// defaults.providerConfigName, else an earlier config's, else the
	// built-in default). Known in advance, it lets the function derive the
	// ARNs of the pipeline's resources of the claims that use that
	// provider config instead of waiting for AWS to report them, so a
	// pipeline is composed in fewer rounds. It describes a cluster-level
	// provider config (a claim's ProviderConfig, a namespaced XR's
	// ClusterProviderConfig), never a namespace's own ProviderConfig. A
	// claim that uses another provider config gets its account from the
	// first ARN AWS reports. If
	// a resource of a claim using that provider config is observed in
	// another account, the function composes nothing and says so
	// (PlatformDefaults=False, AccountMismatch).
	AccountID string `json:"accountId,omitempty"`
}

// PlatformDefaults are the values a platform can default, under the same
// names as the claim's spec fields they default.
type PlatformDefaults struct {
	ProviderConfigName string               `json:"providerConfigName,omitempty"`
	Region             string               `json:"region,omitempty"`
	DeletionPolicy     string               `json:"deletionPolicy,omitempty"`
	ManagementPolicies []string             `json:"managementPolicies,omitempty"`
	Tags               map[string]string    `json:"tags,omitempty"`
	Build              PlatformBuild        `json:"build,omitempty"`
	Test               PlatformTest         `json:"test,omitempty"`
	Logs               PlatformLogs         `json:"logs,omitempty"`
	Notifications      PlatformNotify       `json:"notifications,omitempty"`
	Deployer           PlatformDeployer     `json:"deployer,omitempty"`
	CrossAccount       PlatformCrossAccount `json:"crossAccount,omitempty"`
}

// PlatformBuild defaults spec.build.
type PlatformBuild struct {
	Image         string `json:"image,omitempty"`
	BuildKitImage string `json:"buildkitImage,omitempty"`
}

// PlatformTest defaults spec.test.
type PlatformTest struct {
	Image string `json:"image,omitempty"`
}

// PlatformLogs defaults spec.logs.
type PlatformLogs struct {
	RetentionDays *int64 `json:"retentionDays,omitempty"`
}

// PlatformNotify defaults spec.notifications.
type PlatformNotify struct {
	Emails []string `json:"emails,omitempty"`
}

// PlatformDeployer defaults spec.deployer.
type PlatformDeployer struct {
	// Images is the published deployer image per region (region -> image
	// in that region's ECR): Lambda runs an image only from its own
	// region. A claim gets the image of its effective region.
	Images map[string]string `json:"images,omitempty"`

	// ReservedConcurrency defaults spec.deployer.reservedConcurrency.
	ReservedConcurrency *int64 `json:"reservedConcurrency,omitempty"`

	// TargetFunctionName is the function the Deploy stage updates when the
	// claim names no targets: the platform's naming convention, in which
	// {claim} is replaced by the claim's name (the XR's, without a claim)
	// and {environment} by spec.environmentSuffix, e.g.
	// "{claim}-{environment}". Without it (and without the claim's
	// targets) the platform's deployer image is not applied, since the
	// Deploy stage would have nothing to deploy.
	TargetFunctionName string `json:"targetFunctionName,omitempty"`
}

// PlatformCrossAccount defaults spec.crossAccount for claims that ask for a
// cross-account role (set spec.crossAccount.functionNames).
type PlatformCrossAccount struct {
	TrustedAccountIDs []string `json:"trustedAccountIds,omitempty"`
	OrganizationID    string   `json:"organizationId,omitempty"`
}

// EffectiveValue is one resolved value of a defaultable field and where it
// came from.
type EffectiveValue struct {
	// Field is the path under spec (tags per key: tags.<key>).
	Field string `json:"field"`
	// Value as text; lists are comma-separated.
	Value string `json:"value"`
	// Source is claim, platform:<EnvironmentConfig>, default (built in) or
	// observed (the region the pipeline's resources already are in).
	Source string `json:"source"`
}
