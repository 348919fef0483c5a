// Package contract is what the composition function and the deployer Lambda
// agree on: the CodePipeline UserParameters the function writes into the
// Deploy action, the environment the function gives the Lambda, and the AWS
// API actions the deployer calls (from which the function builds the
// deployer's least-privilege IAM policy).
//
// It has no dependencies beyond the standard library so that the function can
// import it without pulling in the AWS SDK.
package contract

// Environment variables the composition function sets on the deployer Lambda.
const (
	// EnvDeploymentTable names the DynamoDB deployment-history table.
	EnvDeploymentTable = "DEPLOYMENT_TABLE"
	// EnvEnvironmentSuffix is the claim's environment suffix (dev, prod, ...).
	EnvEnvironmentSuffix = "ENVIRONMENT_SUFFIX"
	// EnvDeadlineMargin is how long before its invocation's deadline the
	// deployer hands CodePipeline a continuation token (a Go duration). The
	// function sets it from the Lambda's timeout.
	EnvDeadlineMargin = "DEPLOYER_DEADLINE_MARGIN"
	// EnvPipelineName is the name of the pipeline whose Deploy action may
	// invoke the deployer. The deployer confirms with CodePipeline that every
	// job it is given belongs to that pipeline's Deploy action before changing
	// anything.
	EnvPipelineName = "PIPELINE_NAME"
)

// DeployStageName and DeployActionName name the pipeline's stage and action
// that invoke the deployer; the deployer checks a job against them.
const (
	DeployStageName  = "Deploy"
	DeployActionName = "Deploy"
)

// The deploy targets live in one item of the deployment-history table, which
// the composition function writes (a provider-aws dynamodb TableItem) and the
// deployer reads at the start of each job. They do not fit the Deploy action's
// UserParameters: CodePipeline limits an action configuration value to 1,000
// characters ("Quotas in AWS CodePipeline"), and 20 cross-account targets
// take about 6 KB; the Lambda environment (4 KB in total) is too small as well.
// A DynamoDB item may hold 400 KB.
const (
	// TargetsItemID is the item's HashKey value. It cannot be a CodePipeline
	// job ID (a UUID) or a rollback ID ("rollback-...").
	TargetsItemID = "config#deploy-targets"
	// TargetsItemTimestamp is the item's RangeKey value.
	TargetsItemTimestamp = 0
	// TargetsAttribute is a string attribute holding the JSON of TargetsItem.
	TargetsAttribute = "targets"
)

// TargetsItem is the JSON in the targets item's TargetsAttribute.
type TargetsItem struct {
	// Targets are the Lambda functions that receive the new image.
	Targets []Target `json:"targets"`
}

// Image tags in the pipeline's ECR repository. The lifecycle policy expires
// images by these prefixes, so an image the deployer has deployed (and so
// may roll back to) outlives the build tags of images never deployed.
const (
	// BuildTagPrefix starts every tag the build project pushes.
	BuildTagPrefix = "build-"
	// DeployedTagPrefix starts the tag the deployer adds to an image it
	// deployed: DeployedTagPrefix + <environment suffix> + "-" + <unix ms>.
	DeployedTagPrefix = "deployed-"
)

// The deployer reports a rollback that could not finish (ROLLBACK_FAILED)
// as a CloudWatch metric in the embedded metric format of its log; the
// composition function's alarm on it notifies the SNS topic.
const (
	MetricNamespace = "CicdPipeline/Deployer"
	// RollbackFailedMetric counts rollbacks that ended ROLLBACK_FAILED.
	RollbackFailedMetric = "RollbackFailed"
	// MetricPipelineDimension is the metric's one dimension: the pipeline name.
	MetricPipelineDimension = "PipelineName"
)

// ImageDetailFile is the file the build project's buildspec writes into the
// Build stage's output artifact: {"ImageURI": "<repo>@sha256:<digest>"}.
const ImageDetailFile = "imageDetail.json"

// ImageDetail is the content of ImageDetailFile.
type ImageDetail struct {
	// ImageURI is the pushed image by digest:
	// <account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:<digest>.
	ImageURI string `json:"ImageURI"`
}

// UserParameters is the JSON the composition function writes into the Deploy
// action's UserParameters configuration. The deployer rejects unknown fields,
// so that a typo in the function fails the first deployment loudly.
//
// It carries only per-execution variables: the targets are in the
// TargetsItem.
type UserParameters struct {
	// PipelineExecutionID is recorded in the deployment history. The function
	// sets it to the pipeline variable "#{codepipeline.PipelineExecutionId}",
	// which CodePipeline resolves before invoking the deployer (the job event
	// itself does not carry it).
	PipelineExecutionID string `json:"pipelineExecutionId,omitempty"`
	// CommitID is recorded in the deployment history. The function sets it to
	// the source action's output variable, e.g. "#{SourceVariables.CommitId}".
	// When empty, the deployer records the input artifact's revision.
	CommitID string `json:"commitId,omitempty"`
}

// Target is one Lambda function to deploy the built image to.
type Target struct {
	// FunctionName is a Lambda function name or ARN.
	FunctionName string `json:"functionName"`
	// RoleARN, when set, is assumed before calling Lambda (cross-account).
	RoleARN string `json:"roleArn,omitempty"`
	// Alias, when set, is moved to the newly published version.
	Alias string `json:"alias,omitempty"`
	// ExternalID, when set, is passed to AssumeRole (sts:ExternalId) for
	// RoleARN, whose trust policy requires it.
	ExternalID string `json:"externalId,omitempty"`
}

// Table key attribute names and types of the deployment-history table.
const (
	// HashKey is a string: the CodePipeline job ID of a pipeline deployment,
	// or "rollback-<request ID>" of a rollback request.
	HashKey     = "deploymentId"
	HashKeyType = "S"
	// RangeKey is a number: the deployment's start time in Unix milliseconds.
	// The reservation item that makes a job ID deploy at most once has RangeKey 0.
	RangeKey     = "timestamp"
	RangeKeyType = "N"
)

// StatusIndex is the table's global secondary index that finds the latest
// SUCCEEDED deployment for a rollback request: hash key StatusAttribute (S),
// range key RangeKey (N), projection ALL. It is sparse: reservation items have no
// status.
const (
	StatusIndex     = "status-timestamp-index"
	StatusAttribute = "status"
)

// RollbackAction is the value of RollbackRequest.Action.
const RollbackAction = "rollback"

// RollbackRequest is the payload a person or tool sends when invoking the
// deployer directly (outside the pipeline) to restore the targets of the
// latest SUCCEEDED deployment, e.g.
// aws lambda invoke --function-name <deployer> --payload '{"action":"rollback"}' out.json
type RollbackRequest struct {
	// Action must be RollbackAction.
	Action string `json:"action"`
	// RequestID, when set, makes the request idempotent: a second request with
	// the same ID reports the first one's outcome instead of deploying again.
	// Defaults to the Lambda invocation's request ID.
	RequestID string `json:"requestId,omitempty"`
	// DeploymentID, when set, restores that SUCCEEDED deployment instead of
	// the latest one.
	DeploymentID string `json:"deploymentId,omitempty"`
	// Reason is recorded in the history.
	Reason string `json:"reason,omitempty"`
}

// IAM actions the deployer calls, grouped by the resource they are scoped to.
// The composition function grants exactly these; a test in fn/ checks it.
var (
	// TableActions are granted on the deployment-history table (and its indexes).
	TableActions = []string{
		"dynamodb:GetItem",
		"dynamodb:PutItem",
		"dynamodb:Query",
	}
	// IndexActions are granted on the table's indexes: a rollback queries
	// StatusIndex for the latest SUCCEEDED deployment.
	IndexActions = []string{
		"dynamodb:Query",
	}
	// TargetActions are granted on each same-account deploy target function
	// (and its versions and aliases).
	TargetActions = []string{
		"lambda:CreateAlias",
		"lambda:GetAlias",
		"lambda:GetFunction",
		"lambda:GetFunctionConfiguration",
		"lambda:PublishVersion",
		"lambda:UpdateAlias",
		"lambda:UpdateFunctionCode",
	}
	// ImagePullActions are granted on the pipeline's ECR repository to every
	// role that calls UpdateFunctionCode: Lambda requires the caller to be
	// able to read the image ("Lambda container image permissions", Lambda
	// Developer Guide). The deployer does not call them itself.
	ImagePullActions = []string{
		"ecr:BatchGetImage",
		"ecr:GetDownloadUrlForLayer",
	}
	// ImageTagActions are granted to the deployer on the pipeline's ECR
	// repository: it reads a deployed image's manifest (BatchGetImage) and
	// tags it (PutImage) so that the lifecycle policy keeps it. Both take the
	// repository ARN ("Actions, resources, and condition keys for Amazon
	// ECR"). Only the deployer tags: a cross-account role never gets them.
	ImageTagActions = []string{
		"ecr:BatchGetImage",
		"ecr:PutImage",
	}
	// PipelineActions are granted on this claim's pipeline ARN: the deployer
	// confirms with ListActionExecutions that a job belongs to the pipeline's
	// Deploy action in an execution that is in progress, reading from the
	// input artifact the job names. ListActionExecutions takes the pipeline
	// resource ("Actions, resources, and condition keys for AWS
	// CodePipeline"). GetJobDetails is not used: its API reference says
	// "Used for custom actions only", and the Deploy action is a Lambda
	// invoke action.
	PipelineActions = []string{
		"codepipeline:ListActionExecutions",
	}
	// AssumeRoleActions are granted on the cross-account target roles. The
	// deployer names the pipeline as the session's source identity, which
	// needs sts:SetSourceIdentity both here and in each target role's trust
	// policy ("Monitor and control actions taken with assumed roles", IAM
	// User Guide).
	AssumeRoleActions = []string{
		"sts:AssumeRole",
		"sts:SetSourceIdentity",
	}
	// JobResultActions do not support resource-level permissions in IAM (no
	// resource type in "Actions, resources, and condition keys for AWS
	// CodePipeline"), so they are the only actions granted on resource "*".
	JobResultActions = []string{
		"codepipeline:PutJobFailureResult",
		"codepipeline:PutJobSuccessResult",
	}
	// LogActions are granted on the deployer's own CloudWatch log group. The
	// Lambda service calls them with the function's role for its stdout. The
	// composition function composes the group (with a retention), so the
	// role cannot create one that would outlive the claim.
	LogActions = []string{
		"logs:CreateLogStream",
		"logs:PutLogEvents",
	}
)
