package compose

import (
	"fmt"
	"slices"
	"strings"

	"github.com/crossplane/function-sdk-go/errors"
	"github.com/crossplane/function-sdk-go/resource"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	iam "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/iam/v1beta1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/iampolicy"
)

// role is one of the pipeline's IAM roles: who may assume it, and the
// customer-managed policy attached to it.
type role struct {
	name    resource.Name
	awsName string
	purpose string
	trust   iampolicy.Document
	// permissions returns the role's policy, or what it still waits for.
	permissions func() (doc iampolicy.Document, waiting string)
}

// pipelineRoles are the roles this claim needs.
func (c *composer) pipelineRoles() []role {
	n := c.in.Names
	roles := []role{
		{name: CodeBuildRole, awsName: n[CodeBuildRole], purpose: "CodeBuild build project", trust: iampolicy.TrustServices("codebuild.amazonaws.com"), permissions: c.codeBuildPermissions},
		{name: CodePipelineRole, awsName: n[CodePipelineRole], purpose: "CodePipeline", trust: iampolicy.TrustServices("codepipeline.amazonaws.com"), permissions: c.codePipelinePermissions},
	}
	if c.testEnabled() {
		// The test project runs the repository's test code and its
		// third-party dependencies: it gets its own role, which can neither
		// push images nor write the artifacts Deploy ships.
		roles = append(roles, role{name: CodeBuildTestRole, awsName: n[CodeBuildTestRole], purpose: "CodeBuild test project", trust: iampolicy.TrustServices("codebuild.amazonaws.com"), permissions: c.testPermissions})
	}
	if c.in.Spec.ComposesDeployer() {
		roles = append(roles, role{name: DeployerRole, awsName: n[DeployerRole], purpose: "deployer Lambda", trust: iampolicy.TrustServices("lambda.amazonaws.com"), permissions: c.deployerPermissions})
	}
	if c.in.Spec.Source.Provider == v1alpha1.SourceCodeCommit {
		roles = append(roles, role{name: EventsRole, awsName: n[EventsRole], purpose: "EventBridge source trigger", trust: iampolicy.TrustServices("events.amazonaws.com"), permissions: c.eventsPermissions})
	}
	if len(c.in.Spec.CrossAccount.TrustedAccountIDs) > 0 {
		roles = append(roles, role{name: CrossAccountRole, awsName: n[CrossAccountRole], purpose: "cross-account deployment", trust: c.crossAccountTrust(), permissions: c.crossAccountPermissions})
	}
	return roles
}

// roles composes the IAM roles. Their policies come later, once the ARNs
// they are scoped to are known (derive.go).
func (c *composer) roles() error {
	for _, r := range c.pipelineRoles() {
		trust, err := r.trust.JSON()
		if err != nil {
			return errors.Wrapf(err, "cannot compose %s", r.name)
		}
		role := &iam.Role{Spec: iam.RoleSpec{
			ResourceSpec: c.resourceSpec(),
			ForProvider: iam.RoleParameters{
				AssumeRolePolicy: new(trust),
				Description:      new(fmt.Sprintf("%s of CI/CD pipeline %s", r.purpose, c.in.Names[Pipeline])),
				Tags:             c.tags(),
			},
		}}
		if err := c.add(r.name, r.awsName, role); err != nil {
			return err
		}
	}
	return nil
}

// policies composes each role's customer-managed policy, scoped to this
// pipeline's own resources, and its attachment. No role has inline policies.
func (c *composer) policies() error {
	for _, r := range c.pipelineRoles() {
		doc, waiting := r.permissions()
		if waiting != "" {
			c.wait(PolicyOf(r.name), waiting)
			c.wait(AttachmentOf(r.name), string(PolicyOf(r.name)))
			continue
		}
		body, err := doc.JSON()
		if err != nil {
			return errors.Wrapf(err, "cannot compose %s", PolicyOf(r.name))
		}
		policy := &iam.Policy{Spec: iam.PolicySpec{
			ResourceSpec: c.resourceSpec(),
			ForProvider: iam.PolicyParameters{
				Policy:      new(body),
				Description: new(fmt.Sprintf("Least privilege for the %s of CI/CD pipeline %s", r.purpose, c.in.Names[Pipeline])),
				Tags:        c.tags(),
			},
		}}
		if err := c.add(PolicyOf(r.name), r.awsName, policy); err != nil {
			return err
		}
		attachment := &iam.RolePolicyAttachment{Spec: iam.RolePolicyAttachmentSpec{
			ResourceSpec: c.resourceSpec(),
			ForProvider: iam.RolePolicyAttachmentParameters{
				RoleSelector:      selector(r.name),
				PolicyArnSelector: selector(PolicyOf(r.name)),
			},
		}}
		if err := c.add(AttachmentOf(r.name), "", attachment); err != nil {
			return err
		}
	}
	return nil
}

// arn builds an ARN in the claim's partition and region.
func (c *composer) arn(service, account, res string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", c.partition(), service, c.in.Spec.Region, account, res)
}

// logStreams is the ARN of every log stream of a log group: CreateLogStream
// and PutLogEvents act on log streams ("Actions, resources, and condition
// keys for Amazon CloudWatch Logs",
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html).
// It records in a when the group's ARN is not known yet.
func logStreams(a *arns, group resource.Name) string {
	return a.of(group, "the "+string(group)+"'s ARN") + ":*"
}

// streamActions are what a service needs to write to a log group the
// function composes: no logs:CreateLogGroup, so nothing creates a group
// that would outlive the claim.
var streamActions = []string{"logs:CreateLogStream", "logs:PutLogEvents"}

// topicKeyActions are what a publisher to a topic encrypted with a
// customer-managed key needs on the key ("Allow a user to send messages to
// a topic with SSE", SNS Developer Guide,
// https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
var topicKeyActions = []string{"kms:Decrypt", "kms:GenerateDataKey"}

func (c *composer) testEnabled() bool { return enabled(c.in.Spec.Test.Enabled) }

func (c *composer) codeBuildPermissions() (iampolicy.Document, string) {
	a := &arns{c: c}
	logs := logStreams(a, BuildLogGroup)
	repo := a.of(ECRRepository, "the ECR repository's ARN")
	artifacts := a.of(ArtifactBucket, "the artifact bucket's ARN")
	cache := a.of(CacheBucket, "the cache bucket's ARN")
	if w := a.waiting(); w != "" {
		return iampolicy.Document{}, w
	}
	statements := []iampolicy.Statement{
		iampolicy.Allow("Logs", streamActions, logs),
		iampolicy.Allow("ArtifactBucket", []string{"s3:GetBucketAcl", "s3:GetBucketLocation"}, artifacts),
		iampolicy.Allow("Artifacts", []string{"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"}, artifacts+"/*"),
		// Without s3:ListBucket, S3 answers a missing cache object with 403
		// instead of 404 (GetObject, "Permissions").
		iampolicy.Allow("CacheBucket", []string{"s3:GetBucketAcl", "s3:GetBucketLocation", "s3:ListBucket"}, cache),
		iampolicy.Allow("Cache", []string{"s3:GetObject", "s3:PutObject"}, cache+"/*"),
		iampolicy.Allow("PushImages", []string{
			"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
			"ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
		}, repo),
		// GetAuthorizationToken has no resource-level permissions.
		iampolicy.Allow("RegistryLogin", []string{"ecr:GetAuthorizationToken"}, "*"),
	}
	if c.buildKitFromECRPublic() {
		statements = append(statements, iampolicy.Allow("ECRPublicLogin", ecrPublicLoginActions, "*"))
	}
	return iampolicy.New(statements...), ""
}

// testPermissions are the test project's: its logs, reading the source
// artifact and its report groups; no image push and no artifact write, so
// test code cannot change what Deploy ships.
func (c *composer) testPermissions() (iampolicy.Document, string) {
	a := &arns{c: c}
	account := a.account()
	logs := logStreams(a, TestLogGroup)
	artifacts := a.of(ArtifactBucket, "the artifact bucket's ARN")
	if w := a.waiting(); w != "" {
		return iampolicy.Document{}, w
	}
	return iampolicy.New(
		iampolicy.Allow("Logs", streamActions, logs),
		iampolicy.Allow("ArtifactBucket", []string{"s3:GetBucketAcl", "s3:GetBucketLocation"}, artifacts),
		iampolicy.Allow("ReadSource", []string{"s3:GetObject", "s3:GetObjectVersion"}, artifacts+"/*"),
		// CodeBuild names a buildspec's report group <project>-<name>.
		iampolicy.Allow("TestReports", []string{
			"codebuild:BatchPutCodeCoverages", "codebuild:BatchPutTestCases", "codebuild:CreateReport",
			"codebuild:CreateReportGroup", "codebuild:UpdateReport",
		}, c.arn("codebuild", account, "report-group/"+c.in.Names[TestProject]+"-*")),
	), ""
}

func (c *composer) codePipelinePermissions() (iampolicy.Document, string) {
	a := &arns{c: c}
	artifacts := a.of(ArtifactBucket, "the artifact bucket's ARN")
	projects := []string{a.of(BuildProject, "the build project's ARN")}
	if c.testEnabled() {
		projects = append(projects, a.of(TestProject, "the test project's ARN"))
	}
	var source iampolicy.Statement
	if c.in.Spec.Source.Provider == v1alpha1.SourceCodeCommit {
		source = iampolicy.Allow("Source", []string{
			"codecommit:CancelUploadArchive", "codecommit:GetBranch", "codecommit:GetCommit",
			"codecommit:GetRepository", "codecommit:GetUploadArchiveStatus", "codecommit:UploadArchive",
		}, c.arn("codecommit", a.account(), c.in.Spec.Source.Repository))
	} else {
		source = iampolicy.Allow("Source", []string{"codestar-connections:UseConnection", "codeconnections:UseConnection"}, c.connectionARN(a))
	}
	var invoke, approval string
	if c.in.Spec.ComposesDeployer() {
		invoke = a.of(DeployerFunction, "the deployer Lambda's ARN")
	}
	if c.approvalEnabled() {
		approval = a.of(NotificationTopic, "the notification topic's ARN")
	}
	if w := a.waiting(); w != "" {
		return iampolicy.Document{}, w
	}
	statements := []iampolicy.Statement{
		// The minimum of "Manage the CodePipeline service role"
		// (https://docs.aws.amazon.com/codepipeline/latest/userguide/how-to-custom-role.html),
		// s3:GetBucketAcl and s3:PutObjectAcl included: connection sources
		// fail to upload their artifact without them.
		iampolicy.Allow("ArtifactBucket", []string{"s3:GetBucketAcl", "s3:GetBucketLocation", "s3:GetBucketVersioning"}, artifacts),
		iampolicy.Allow("Artifacts", []string{"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:PutObjectAcl"}, artifacts+"/*"),
		iampolicy.Allow("Builds", []string{"codebuild:BatchGetBuilds", "codebuild:StartBuild"}, projects...),
		source,
	}
	if invoke != "" {
		statements = append(statements, iampolicy.Allow("Deploy", []string{"lambda:InvokeFunction"}, invoke))
	}
	if approval != "" {
		statements = append(statements, iampolicy.Allow("ApprovalNotifications", []string{"sns:Publish"}, approval))
		// The Approval action publishes with this role, and a publisher to
		// an encrypted topic needs these on its key ("Key management", SNS
		// Developer Guide,
		// https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
		if key := c.in.Spec.Notifications.KMSKeyARN; key != "" {
			statements = append(statements, iampolicy.Allow("ApprovalNotificationsKey", topicKeyActions, key))
		}
	}
	return iampolicy.New(statements...), ""
}

func (c *composer) deployerPermissions() (iampolicy.Document, string) {
	a := &arns{c: c}
	account := a.account()
	table := a.of(DeploymentTable, "the deployment table's ARN")
	repo := a.of(ECRRepository, "the ECR repository's ARN")
	pipeline := a.of(Pipeline, "the pipeline's ARN")
	logs := logStreams(a, DeployerLogGroup)
	if w := a.waiting(); w != "" {
		return iampolicy.Document{}, w
	}
	statements := []iampolicy.Statement{
		iampolicy.Allow("History", contract.TableActions, table),
		iampolicy.Allow("HistoryIndexes", contract.IndexActions, table+"/index/*"),
		// One statement: the deployer's policy is close to IAM's 6,144
		// character limit with the maximal claim (fn/limits_test.go).
		iampolicy.Allow("Images", union(contract.ImagePullActions, contract.ImageTagActions), repo),
		// PutJob*Result have no resource-level permissions.
		iampolicy.Allow("JobResults", contract.JobResultActions, "*"),
		iampolicy.Allow("Pipeline", contract.PipelineActions, pipeline),
		iampolicy.Allow("Logs", contract.LogActions, logs),
	}
	if fns := c.sameAccountTargets(account); len(fns) > 0 {
		statements = append(statements, iampolicy.Allow("DeployTargets", contract.TargetActions, fns...))
	}
	var roles []string
	for _, t := range c.in.Spec.Deployer.Targets {
		if t.RoleARN != "" {
			roles = append(roles, t.RoleARN)
		}
	}
	if len(roles) > 0 {
		statements = append(statements, iampolicy.Allow("AssumeTargetRoles", contract.AssumeRoleActions, roles...))
	}
	return iampolicy.New(statements...), ""
}

// sameAccountTargets are the ARNs (and version/alias ARNs) of the deploy
// targets the deployer updates with its own role, rather than by assuming a
// target role.
func (c *composer) sameAccountTargets(account string) []string {
	var out []string
	for _, t := range c.in.Spec.Deployer.Targets {
		if t.RoleARN != "" {
			continue
		}
		fn := c.functionARN(account, t.FunctionName)
		out = append(out, fn, fn+":*")
	}
	return out
}

func (c *composer) eventsPermissions() (iampolicy.Document, string) {
	a := &arns{c: c}
	pipeline := a.of(Pipeline, "the pipeline's ARN")
	if w := a.waiting(); w != "" {
		return iampolicy.Document{}, w
	}
	return iampolicy.New(iampolicy.Allow("StartPipeline", []string{"codepipeline:StartPipelineExecution"}, pipeline)), ""
}

// crossAccountTrust lets the named principals (or, with only an
// organization, the trusted accounts' principals in it) assume the
// cross-account role, with the external ID when one is set.
func (c *composer) crossAccountTrust() iampolicy.Document {
	x := c.in.Spec.CrossAccount
	principals := x.TrustedPrincipalARNs
	if len(principals) == 0 {
		for _, id := range x.TrustedAccountIDs {
			principals = append(principals, fmt.Sprintf("arn:%s:iam::%s:root", c.partition(), id))
		}
	}
	equals := map[string][]string{}
	if x.OrganizationID != "" {
		equals["aws:PrincipalOrgID"] = []string{x.OrganizationID}
	}
	if x.ExternalID != "" {
		equals["sts:ExternalId"] = []string{x.ExternalID}
	}
	var cond iampolicy.Condition
	if len(equals) > 0 {
		cond = iampolicy.Condition{"StringEquals": equals}
	}
	// The deployers that assume this role set a source identity, which the
	// role's trust policy must allow ("Monitor and control actions taken
	// with assumed roles", IAM User Guide).
	return iampolicy.TrustPrincipals(principals, contract.AssumeRoleActions, cond)
}

// crossAccountPermissions let the callers' deployers update the named
// functions of this account to images of the callers' own repositories:
// Lambda requires the caller of UpdateFunctionCode to have
// ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on the image's
// repository ("Lambda does not have permission to access the ECR image",
// https://repost.aws/knowledge-center/lambda-ecr-image). The role never
// pulls or logs in to ECR itself, and never reads this claim's repository:
// the images it deploys are the callers'.
func (c *composer) crossAccountPermissions() (iampolicy.Document, string) {
	a := &arns{c: c}
	account := a.account()
	if w := a.waiting(); w != "" {
		return iampolicy.Document{}, w
	}
	x := c.in.Spec.CrossAccount
	fns := make([]string, 0, 2*len(x.FunctionNames))
	for _, f := range x.FunctionNames {
		fn := c.functionARN(account, f)
		fns = append(fns, fn, fn+":*")
	}
	return iampolicy.New(
		iampolicy.Allow("ReadCallerImages", contract.ImagePullActions, x.ImageRepositoryARNs...),
		iampolicy.Allow("DeployFunctions", contract.TargetActions, fns...),
	), ""
}

// functionARN is the ARN of a function named by name (in this account and
// region) or by ARN.
func (c *composer) functionARN(account, nameOrARN string) string {
	if strings.HasPrefix(nameOrARN, "arn:") {
		return nameOrARN
	}
	return c.arn("lambda", account, "function:"+nameOrARN)
}

// union returns the actions of both lists, sorted, each once.
func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
