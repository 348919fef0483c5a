// Package awsapi names every AWS API operation the deployer calls, as small
// interfaces over the SDK clients, and builds those clients. Keeping the
// operations in one place lets a test compare them with the IAM actions the
// composition function grants (deployer/contract).
package awsapi

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Lambda is what the deployer calls on a deploy target, with its own role or
// a cross-account role.
type Lambda interface {
	GetFunction(ctx context.Context, in *lambda.GetFunctionInput, opts ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
	GetFunctionConfiguration(ctx context.Context, in *lambda.GetFunctionConfigurationInput, opts ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error)
	UpdateFunctionCode(ctx context.Context, in *lambda.UpdateFunctionCodeInput, opts ...func(*lambda.Options)) (*lambda.UpdateFunctionCodeOutput, error)
	PublishVersion(ctx context.Context, in *lambda.PublishVersionInput, opts ...func(*lambda.Options)) (*lambda.PublishVersionOutput, error)
	GetAlias(ctx context.Context, in *lambda.GetAliasInput, opts ...func(*lambda.Options)) (*lambda.GetAliasOutput, error)
	CreateAlias(ctx context.Context, in *lambda.CreateAliasInput, opts ...func(*lambda.Options)) (*lambda.CreateAliasOutput, error)
	UpdateAlias(ctx context.Context, in *lambda.UpdateAliasInput, opts ...func(*lambda.Options)) (*lambda.UpdateAliasOutput, error)
}

// Table is what the deployer calls on its deployment-history table.
type Table interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// JobResults reports the outcome of a CodePipeline job.
type JobResults interface {
	PutJobSuccessResult(ctx context.Context, in *codepipeline.PutJobSuccessResultInput, opts ...func(*codepipeline.Options)) (*codepipeline.PutJobSuccessResultOutput, error)
	PutJobFailureResult(ctx context.Context, in *codepipeline.PutJobFailureResultInput, opts ...func(*codepipeline.Options)) (*codepipeline.PutJobFailureResultOutput, error)
}

// Pipeline confirms that a job belongs to the pipeline's Deploy action.
type Pipeline interface {
	ListActionExecutions(ctx context.Context, in *codepipeline.ListActionExecutionsInput, opts ...func(*codepipeline.Options)) (*codepipeline.ListActionExecutionsOutput, error)
}

// Images tags an image the deployer deployed in the pipeline's ECR
// repository.
type Images interface {
	BatchGetImage(ctx context.Context, in *ecr.BatchGetImageInput, opts ...func(*ecr.Options)) (*ecr.BatchGetImageOutput, error)
	PutImage(ctx context.Context, in *ecr.PutImageInput, opts ...func(*ecr.Options)) (*ecr.PutImageOutput, error)
}

// RoleAssumer gets credentials for a cross-account target role.
type RoleAssumer interface {
	AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, opts ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}

// Artifacts reads the pipeline's input artifact. It is called with the job's
// artifact credentials, never the deployer's role, so it is not part of the
// deployer's IAM policy.
type Artifacts interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// RoleAPIs lists, per IAM service prefix, the interfaces of the operations
// the deployer calls with its own role. An operation's IAM action is
// "<prefix>:<method name>".
var RoleAPIs = map[string][]any{
	"lambda":       {(*Lambda)(nil)},
	"dynamodb":     {(*Table)(nil)},
	"codepipeline": {(*JobResults)(nil), (*Pipeline)(nil)},
	"ecr":          {(*Images)(nil)},
	"sts":          {(*RoleAssumer)(nil)},
}

// Clients are the SDK clients of one invocation environment.
type Clients struct {
	cfg         aws.Config
	table       *dynamodb.Client
	jobResults  *codepipeline.Client
	roleAssumer *sts.Client
	images      *ecr.Client

	mu           sync.Mutex
	lambdaByRole map[string]Lambda
}

// NewClients loads the SDK configuration from the environment (region,
// credentials, and AWS_ENDPOINT_URL_<SERVICE> overrides) and builds the
// clients.
func NewClients(ctx context.Context) (*Clients, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS SDK configuration: %w", err)
	}
	return &Clients{
		cfg:          cfg,
		table:        dynamodb.NewFromConfig(cfg),
		jobResults:   codepipeline.NewFromConfig(cfg),
		roleAssumer:  sts.NewFromConfig(cfg),
		images:       ecr.NewFromConfig(cfg),
		lambdaByRole: map[string]Lambda{},
	}, nil
}

// Table is the deployment-history table's client.
func (c *Clients) Table() Table { return c.table }

// JobResults is the CodePipeline client.
func (c *Clients) JobResults() JobResults { return c.jobResults }

// Pipeline is the CodePipeline client.
func (c *Clients) Pipeline() Pipeline { return c.jobResults }

// Images is the ECR client.
func (c *Clients) Images() Images { return c.images }

// Session names an assumed-role session in the target account's CloudTrail.
type Session struct {
	// Name is the role session name: the pipeline and the deployment.
	Name string
	// SourceIdentity stays with the session through role chaining
	// (sts:SetSourceIdentity must be allowed to the caller and in the
	// role's trust policy: "Monitor and control actions taken with assumed
	// roles", IAM User Guide).
	SourceIdentity string
}

// Role is the role a target is deployed with: the deployer's own role when
// ARN is empty, else a cross-account role assumed with ExternalID (when set)
// as AssumeRole's ExternalId, which the role's trust policy may require
// (condition key sts:ExternalId).
type Role struct {
	ARN        string
	ExternalID string
}

// maxCachedLambdaClients bounds the client cache of a warm Lambda
// environment: the session name is per deployment, so the keys never repeat
// across deployments.
const maxCachedLambdaClients = 32

// LambdaFor returns a Lambda client that acts as role in session. Clients are
// cached per role (with its external ID) and session so that assumed-role
// credentials are reused until they expire; the cache is emptied when it is
// full.
func (c *Clients) LambdaFor(role Role, session Session) Lambda {
	c.mu.Lock()
	defer c.mu.Unlock()
	// "|" is in none of the parts' character sets (AssumeRole API reference),
	// so different parts never make the same key.
	key := role.ARN + "|" + role.ExternalID + "|" + session.Name + "|" + session.SourceIdentity
	if client, ok := c.lambdaByRole[key]; ok {
		return client
	}
	if len(c.lambdaByRole) >= maxCachedLambdaClients {
		clear(c.lambdaByRole)
	}
	cfg := c.cfg.Copy()
	if role.ARN != "" {
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(c.roleAssumer, role.ARN,
			func(o *stscreds.AssumeRoleOptions) {
				o.RoleSessionName = session.Name
				if role.ExternalID != "" {
					o.ExternalID = aws.String(role.ExternalID)
				}
				if session.SourceIdentity != "" {
					o.SourceIdentity = aws.String(session.SourceIdentity)
				}
			}))
	}
	client := lambda.NewFromConfig(cfg)
	c.lambdaByRole[key] = client
	return client
}

// ArtifactsWith returns an S3 client that uses the CodePipeline job's
// temporary artifact credentials.
func (c *Clients) ArtifactsWith(accessKeyID, secretAccessKey, sessionToken string) Artifacts {
	cfg := c.cfg.Copy()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, sessionToken)
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		// Artifacts are uploaded by CodePipeline without a checksum the SDK
		// can validate; saying so on every read is noise.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
}
