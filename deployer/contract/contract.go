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
type UserParameters struct {
	// Targets are the Lambda functions that receive the new image.
	Targets []Target `json:"targets"`
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
}

// Table key attribute names and types of the deployment-history table.
const (
	// HashKey is a string: the CodePipeline job ID of a pipeline deployment,
	// or "rollback-<request ID>" of a rollback request.
	HashKey     = "deploymentId"
	HashKeyType = "S"
	// RangeKey is a number: the deployment's start time in Unix milliseconds.
	// The claim item that makes a job ID deploy at most once has RangeKey 0.
	RangeKey     = "timestamp"
	RangeKeyType = "N"
)

// StatusIndex is the table's global secondary index that finds the latest
// SUCCEEDED deployment for a rollback request: hash key StatusAttribute (S),
// range key RangeKey (N), projection ALL. It is sparse: claim items have no
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
	// ImageActions are granted on the pipeline's ECR repository: Lambda
	// requires the caller of UpdateFunctionCode to be able to read the image.
	// The deployer does not call them itself.
	ImageActions = []string{
		"ecr:BatchGetImage",
		"ecr:GetDownloadUrlForLayer",
	}
	// AssumeRoleActions are granted on the cross-account target roles.
	AssumeRoleActions = []string{
		"sts:AssumeRole",
	}
	// JobResultActions do not support resource-level permissions in IAM, so
	// they are the only actions granted on resource "*".
	JobResultActions = []string{
		"codepipeline:PutJobFailureResult",
		"codepipeline:PutJobSuccessResult",
	}
	// LogActions are granted on the deployer's own CloudWatch log group. The
	// Lambda service calls them with the function's role for its stdout.
	LogActions = []string{
		"logs:CreateLogGroup",
		"logs:CreateLogStream",
		"logs:PutLogEvents",
	}
)
