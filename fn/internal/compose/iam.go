package compose

import (
	"fmt"
	"strings"

	"github.com/crossplane/function-sdk-go/resource"
	iam "github.com/upbound/provider-aws/v2/apis/cluster/iam/v1beta1"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
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
		{name: CodeBuildRole, awsName: n.CodeBuildRole, purpose: "CodeBuild projects", trust: iampolicy.TrustServices("codebuild.amazonaws.com"), permissions: c.codeBuildPermissions},
		{name: CodePipelineRole, awsName: n.CodePipelineRole, purpose: "CodePipeline", trust: iampolicy.TrustServices("codepipeline.amazonaws.com"), permissions: c.codePipelinePermissions},
	}
	if c.in.Spec.Deployer.Image != "" {
		roles = append(roles, role{name: DeployerRole, awsName: n.DeployerRole, purpose: "deployer Lambda", trust: iampolicy.TrustServices("lambda.amazonaws.com"), permissions: c.deployerPermissions})
	}
	if c.in.Spec.Source.Provider == v1alpha1.SourceCodeCommit {
		roles = append(roles, role{name: EventsRole, awsName: n.EventsRole, purpose: "EventBridge source trigger", trust: iampolicy.TrustServices("events.amazonaws.com"), permissions: c.eventsPermissions})
	}
	if ids := c.in.Spec.CrossAccount.TrustedAccountIDs; len(ids) > 0 {
		roles = append(roles, role{name: CrossAccountRole, awsName: n.CrossAccountRole, purpose: "cross-account deployment", trust: iampolicy.TrustAccounts(c.partition(), ids...), permissions: c.crossAccountPermissions})
	}
	return roles
}

// roles composes the IAM roles. Their policies come later, once the ARNs
// they are scoped to have been observed.
func (c *composer) roles() error {
	for _, r := range c.pipelineRoles() {
		trust, err := r.trust.JSON()
		if err != nil {
			return fmt.Errorf("cannot compose %s: %w", r.name, err)
		}
		role := &iam.Role{Spec: iam.RoleSpec{
			ResourceSpec: c.resourceSpec(),
			ForProvider: iam.RoleParameters{
				AssumeRolePolicy: new(trust),
				Description:      new(fmt.Sprintf("%s of CI/CD pipeline %s", r.purpose, c.in.Names.Pipeline)),
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
			return fmt.Errorf("cannot compose %s: %w", PolicyOf(r.name), err)
		}
		policy := &iam.Policy{Spec: iam.PolicySpec{
			ResourceSpec: c.resourceSpec(),
			ForProvider: iam.PolicyParameters{
				Policy:      new(body),
				Description: new(fmt.Sprintf("Least privilege for the %s of CI/CD pipeline %s", r.purpose, c.in.Names.Pipeline)),
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

// arns collects the observed ARNs a policy needs, and what is still missing.
type arns struct {
	c       *composer
	missing []string
}

func (a *arns) of(name resource.Name, what string) string {
	v := a.c.in.Observed.ARN(name)
	if v == "" {
		a.missing = append(a.missing, what)
	}
	return v
}

func (a *arns) account() string {
	v := a.c.in.Observed.AccountID()
	if v == "" {
		a.missing = append(a.missing, "the AWS account ID (from any observed ARN)")
	}
	return v
}

func (a *arns) waiting() string { return strings.Join(a.missing, ", ") }

// arn builds an ARN in the claim's partition and region.
func (c *composer) arn(service, account, res string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", c.partition(), service, c.in.Spec.Region, account, res)
}

func (c *composer) logGroupARNs(account, group string) []string {
	g := c.arn("logs", account, "log-group:"+group)
	return []string{g, g + ":*"}
}

func (c *composer) testEnabled() bool { return enabled(c.in.Spec.Test.Enabled) }

func (c *composer) codeBuildPermissions() (iampolicy.Document, string) {
	a := &arns{c: c}
	account := a.account()
	repo := a.of(ECRRepository, "the ECR repository's ARN")
	artifacts := a.of(ArtifactBucket, "the artifact bucket's ARN")
	cache := a.of(CacheBucket, "the cache bucket's ARN")
	if w := a.waiting(); w != "" {
		return iampolicy.Document{}, w
	}
	n := c.in.Names
	logs := c.logGroupARNs(account, "/aws/codebuild/"+n.BuildProject)
	if c.testEnabled() {
		logs = append(logs, c.logGroupARNs(account, "/aws/codebuild/"+n.TestProject)...)
	}
	statements := []iampolicy.Statement{
		iampolicy.Allow("Logs", []string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}, logs...),
		iampolicy.Allow("ArtifactBucket", []string{"s3:GetBucketAcl", "s3:GetBucketLocation"}, artifacts),
		iampolicy.Allow("Artifacts", []string{"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"}, artifacts+"/*"),
		iampolicy.Allow("CacheBucket", []string{"s3:GetBucketAcl", "s3:GetBucketLocation", "s3:ListBucket"}, cache),
		iampolicy.Allow("Cache", []string{"s3:GetObject", "s3:PutObject"}, cache+"/*"),
		iampolicy.Allow("PushImages", []string{
			"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
			"ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
		}, repo),
		// GetAuthorizationToken has no resource-level permissions.
		iampolicy.Allow("RegistryLogin", []string{"ecr:GetAuthorizationToken"}, "*"),
	}
	if c.testEnabled() {
		statements = append(statements, iampolicy.Allow("TestReports", []string{
			"codebuild:BatchPutCodeCoverages", "codebuild:BatchPutTestCases", "codebuild:CreateReport",
			"codebuild:CreateReportGroup", "codebuild:UpdateReport",
		}, c.arn("codebuild", account, "report-group/"+n.TestProject+"-*")))
	}
	return iampolicy.New(statements...), ""
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
	if c.in.Spec.Deployer.Image != "" {
		invoke = a.of(DeployerFunction, "the deployer Lambda's ARN")
	}
	if enabled(c.in.Spec.Approval.Enabled) {
		approval = a.of(NotificationTopic, "the notification topic's ARN")
	}
	if w := a.waiting(); w != "" {
		return iampolicy.Document{}, w
	}
	statements := []iampolicy.Statement{
		iampolicy.Allow("ArtifactBucket", []string{"s3:GetBucketLocation", "s3:GetBucketVersioning"}, artifacts),
		iampolicy.Allow("Artifacts", []string{"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"}, artifacts+"/*"),
		iampolicy.Allow("Builds", []string{"codebuild:BatchGetBuilds", "codebuild:StartBuild"}, projects...),
		source,
	}
	if invoke != "" {
		statements = append(statements, iampolicy.Allow("Deploy", []string{"lambda:InvokeFunction"}, invoke))
	}
	if approval != "" {
		statements = append(statements, iampolicy.Allow("ApprovalNotifications", []string{"sns:Publish"}, approval))
	}
	return iampolicy.New(statements...), ""
}

func (c *composer) deployerPermissions() (iampolicy.Document, string) {
	a := &arns{c: c}
	account := a.account()
	table := a.of(DeploymentTable, "the deployment table's ARN")
	repo := a.of(ECRRepository, "the ECR repository's ARN")
	if w := a.waiting(); w != "" {
		return iampolicy.Document{}, w
	}
	statements := []iampolicy.Statement{
		iampolicy.Allow("History", contract.TableActions, table, table+"/index/*"),
		iampolicy.Allow("ReadImages", contract.ImageActions, repo),
		// PutJob*Result have no resource-level permissions.
		iampolicy.Allow("JobResults", contract.JobResultActions, "*"),
		iampolicy.Allow("Logs", contract.LogActions, c.logGroupARNs(account, "/aws/lambda/"+c.in.Names.DeployerLambda)...),
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
		fn := t.FunctionName
		if !strings.HasPrefix(fn, "arn:") {
			fn = c.arn("lambda", account, "function:"+fn)
		}
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

func (c *composer) crossAccountPermissions() (iampolicy.Document, string) {
	a := &arns{c: c}
	account := a.account()
	repo := a.of(ECRRepository, "the ECR repository's ARN")
	if w := a.waiting(); w != "" {
		return iampolicy.Document{}, w
	}
	statements := []iampolicy.Statement{
		iampolicy.Allow("PullImages", []string{"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}, repo),
		// GetAuthorizationToken has no resource-level permissions.
		iampolicy.Allow("RegistryLogin", []string{"ecr:GetAuthorizationToken"}, "*"),
	}
	if fns := c.sameAccountTargets(account); len(fns) > 0 {
		statements = append(statements, iampolicy.Allow("DeployTargets", contract.TargetActions, fns...))
	}
	return iampolicy.New(statements...), ""
}
