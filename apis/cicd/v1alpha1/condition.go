package v1alpha1

import xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"

// Condition types the composition function sets on an XCicdPipeline and its
// claim, beside Crossplane's own Ready and Synced.
const (
	// TypeSpecValid is False when the spec breaks a rule (or its names do not
	// fit AWS's limits). The fatal result alone would reach only the XR's
	// Synced condition; this one also reaches the claim.
	TypeSpecValid xpv1.ConditionType = "SpecValid"
	// TypeResourcesSynced is False while a composed resource's Synced
	// condition is False; the message names it and the provider's error.
	TypeResourcesSynced xpv1.ConditionType = "ResourcesSynced"
	// TypeResourcesComposed is False while resources wait for values only
	// the provider can tell (ARNs of other resources).
	TypeResourcesComposed xpv1.ConditionType = "ResourcesComposed"
	// TypeSourceConnected is False until the Source stage can reach the
	// repository: a composed CodeStar connection is PENDING until someone
	// completes its handshake.
	TypeSourceConnected xpv1.ConditionType = "SourceConnected"
	// TypeDeployStage says whether the Deploy stage is composed, and why not.
	TypeDeployStage xpv1.ConditionType = "DeployStage"
	// TypePlatformDefaults names the platform-defaults EnvironmentConfigs
	// the pipeline was composed with, in the order they were merged; False
	// when none applies or one is malformed.
	TypePlatformDefaults xpv1.ConditionType = "PlatformDefaults"
)

// Reasons of TypeSpecValid.
const (
	ReasonValidSpec   xpv1.ConditionReason = "Valid"
	ReasonInvalidSpec xpv1.ConditionReason = "InvalidSpec"
)

// Reasons of TypeResourcesSynced, and of the Warning event naming each
// resource that is not synced.
const (
	ReasonResourcesSynced           xpv1.ConditionReason = "Synced"
	ReasonComposedResourceNotSynced xpv1.ConditionReason = "ComposedResourceNotSynced"
)

// Reasons of TypeResourcesComposed.
const (
	ReasonAllComposed              xpv1.ConditionReason = "AllComposed"
	ReasonWaitingForObservedValues xpv1.ConditionReason = "WaitingForObservedValues"
)

// Reasons of TypeSourceConnected, and of the Warning events of a connection
// that needs someone's action. A CodeStar connection is PENDING, AVAILABLE
// or ERROR ("ConnectionStatus" in
// https://docs.aws.amazon.com/codestar-connections/latest/APIReference/API_Connection.html).
const (
	ReasonCodeCommit          xpv1.ConditionReason = "CodeCommit"
	ReasonExistingConnection  xpv1.ConditionReason = "ExistingConnection"
	ReasonConnectionCreating  xpv1.ConditionReason = "Creating"
	ReasonConnectionPending   xpv1.ConditionReason = "ConnectionPending"
	ReasonConnectionAvailable xpv1.ConditionReason = "Available"
	// ReasonConnectionError: ERROR, or a status AWS may add later; the
	// message carries the status.
	ReasonConnectionError xpv1.ConditionReason = "ConnectionError"
)

// Reasons of TypeDeployStage.
const (
	ReasonDeployStageComposed xpv1.ConditionReason = "Composed"
	ReasonDeployerImageNotSet xpv1.ConditionReason = "DeployerImageNotSet"
)

// Reasons of TypePlatformDefaults.
const (
	ReasonPlatformDefaultsApplied  xpv1.ConditionReason = "Applied"
	ReasonNoEnvironmentConfig      xpv1.ConditionReason = "NoEnvironmentConfig"
	ReasonInvalidEnvironmentConfig xpv1.ConditionReason = "InvalidEnvironmentConfig"
	// ReasonAccountMismatch: a composed resource is in another account
	// than the platform's accountId.
	ReasonAccountMismatch xpv1.ConditionReason = "AccountMismatch"
)
