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
)

// ImageDetailFile is the file the build project's buildspec writes into the
// Build stage's output artifact: {"ImageURI": "<repo>@sha256:<digest>"}.
const ImageDetailFile = "imageDetail.json"

// UserParameters is the JSON the composition function writes into the Deploy
// action's UserParameters configuration.
type UserParameters struct {
	// Targets are the Lambda functions that receive the new image.
	Targets []Target `json:"targets"`
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

// Table key attribute names of the deployment-history table.
const (
	HashKey  = "deploymentId"
	RangeKey = "timestamp"
)

// IAM actions the deployer calls, grouped by the resource they are scoped to.
// The composition function grants exactly these; a test in fn/ checks it.
var (
	// TableActions are granted on the deployment-history table (and its indexes).
	TableActions = []string{
		"dynamodb:GetItem",
		"dynamodb:PutItem",
		"dynamodb:Query",
		"dynamodb:UpdateItem",
	}
	// TargetActions are granted on each same-account deploy target function
	// (and its versions and aliases).
	TargetActions = []string{
		"lambda:GetAlias",
		"lambda:GetFunction",
		"lambda:GetFunctionConfiguration",
		"lambda:PublishVersion",
		"lambda:UpdateAlias",
		"lambda:UpdateFunctionCode",
	}
	// ImageActions are granted on the pipeline's ECR repository: Lambda
	// requires the caller of UpdateFunctionCode to be able to read the image.
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
	// LogActions are granted on the deployer's own CloudWatch log group.
	LogActions = []string{
		"logs:CreateLogGroup",
		"logs:CreateLogStream",
		"logs:PutLogEvents",
	}
)
