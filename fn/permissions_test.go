package main

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/iampolicy"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providerfake"
)

// Pages where AWS documents the calls each service makes with its role.
const (
	docCodePipelineRole = "https://docs.aws.amazon.com/codepipeline/latest/userguide/how-to-custom-role.html"
	docConnectionSource = "https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodestarConnectionSource.html"
	docCodeCommitSource = "https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeCommit.html"
	docLambdaInvoke     = "https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-Lambda.html"
	docManualApproval   = "https://docs.aws.amazon.com/codepipeline/latest/userguide/approvals-service-role-permissions.html"
	docSNSKeyPublisher  = "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html" // a publisher to an encrypted topic needs kms:GenerateDataKey and kms:Decrypt on its key
	docCodeBuildRole    = "https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up-service-role.html"
	docECRPush          = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html"
	docECRPublicLogin   = "https://docs.aws.amazon.com/cli/latest/reference/ecr-public/get-login-password.html" // requires ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken
	docECRPull          = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-pull-iam.html"
	docS3ListForMissing = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html" // without s3:ListBucket a missing key is 403, not 404
	docReportGroups     = "https://docs.aws.amazon.com/codebuild/latest/userguide/test-permissions.html"
	docLambdaLogs       = "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html"
	docEventsTarget     = "https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-trigger-source-repo-changes-console.html"
	docDeployerContract = "deployer/contract: the calls the deployer makes"
	docLambdaImageXAcct = "https://docs.aws.amazon.com/lambda/latest/dg/images-create.html" // the caller of UpdateFunctionCode must be able to read the image
	docLambdaECRXAcct   = "https://repost.aws/knowledge-center/lambda-ecr-image"            // "The user or role that created or updated the Lambda function must have ecr:BatchGetImage and ecr:GetDownloadUrlForLayer permissions on the ECR repository"
)

// call is one API call a service makes with its role, on a concrete
// resource ("*" for an action without resource-level permissions).
type call struct {
	action, resource, doc string
}

func calls(doc, resource string, actions ...string) []call {
	out := make([]call, 0, len(actions))
	for _, a := range actions {
		out = append(out, call{action: a, resource: resource, doc: doc})
	}
	return out
}

// expectedCalls lists, for each role of the full example (xr-full.yaml:
// GitLab connection, Test, Approval and Deploy stages, a same-account and a
// cross-account target, a cross-account role), every call AWS documents
// the service making for this pipeline. It is the explicit expectation of
// each role's policy, written out rather than read from a golden file.
func expectedCalls(connectionARN string) map[string][]call {
	const (
		region  = "eu-west-1"
		account = providerfake.Account
		p       = "payments-9fz4d-"
		s       = "-prod"
	)
	arn := func(service, res string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, region, account, res)
	}
	artifacts := "arn:aws:s3:::" + p + "artifacts" + s
	cache := "arn:aws:s3:::" + p + "build-cache" + s
	repo := arn("ecr", "repository/"+p+"images"+s)
	logStream := func(group string) string { return arn("logs", "log-group:"+group+":log-stream:2026/01/01/abc") }
	buildProject := arn("codebuild", "project/"+p+"build"+s)
	testProject := arn("codebuild", "project/"+p+"test"+s)
	deployer := arn("lambda", "function:"+p+"deployer"+s)
	topic := arn("sns", p+"notifications"+s)
	pipeline := arn("codepipeline", p+"pipeline"+s)
	table := arn("dynamodb", "table/"+p+"deployments"+s)
	target := arn("lambda", "function:payments-api-prod")
	object := "/" + p + "pipeline/source/abc.zip"

	join := func(lists ...[]call) []call {
		var out []call
		for _, l := range lists {
			out = append(out, l...)
		}
		return out
	}
	without := func(list []string, drop string) []string {
		out := make([]string, 0, len(list))
		for _, a := range list {
			if a != drop {
				out = append(out, a)
			}
		}
		return out
	}
	logActions := without(contract.LogActions, "logs:CreateLogGroup")
	return map[string][]call{
		"codepipeline-role-policy": join(
			calls(docCodePipelineRole, artifacts+object, "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:PutObjectAcl"),
			calls(docCodePipelineRole, artifacts, "s3:GetBucketAcl", "s3:GetBucketLocation", "s3:GetBucketVersioning"),
			calls(docCodePipelineRole, buildProject, "codebuild:BatchGetBuilds", "codebuild:StartBuild"),
			calls(docCodePipelineRole, testProject, "codebuild:BatchGetBuilds", "codebuild:StartBuild"),
			calls(docConnectionSource, connectionARN, "codestar-connections:UseConnection", "codeconnections:UseConnection"),
			calls(docLambdaInvoke, deployer, "lambda:InvokeFunction"),
			calls(docManualApproval, topic, "sns:Publish"),
			calls(docSNSKeyPublisher, "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "kms:Decrypt", "kms:GenerateDataKey"),
		),
		"codebuild-role-policy": join(
			calls(docCodeBuildRole, logStream("/aws/codebuild/"+p+"build"+s), "logs:CreateLogStream", "logs:PutLogEvents"),
			calls(docCodeBuildRole, artifacts+object, "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"),
			calls(docCodeBuildRole, artifacts, "s3:GetBucketAcl", "s3:GetBucketLocation"),
			calls(docCodeBuildRole, cache+"/cache.zip", "s3:GetObject", "s3:PutObject"),
			calls(docCodeBuildRole, cache, "s3:GetBucketAcl", "s3:GetBucketLocation"),
			calls(docS3ListForMissing, cache, "s3:ListBucket"),
			calls(docECRPush, repo, "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
				"ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"),
			calls(docECRPush, "*", "ecr:GetAuthorizationToken"),
			// The BuildKit image is on ECR Public, which the build logs in to.
			calls(docECRPublicLogin, "*", "ecr-public:GetAuthorizationToken", "sts:GetServiceBearerToken"),
		),
		"codebuild-test-role-policy": join(
			calls(docCodeBuildRole, logStream("/aws/codebuild/"+p+"test"+s), "logs:CreateLogStream", "logs:PutLogEvents"),
			calls(docCodeBuildRole, artifacts+object, "s3:GetObject", "s3:GetObjectVersion"),
			calls(docCodeBuildRole, artifacts, "s3:GetBucketAcl", "s3:GetBucketLocation"),
			calls(docReportGroups, arn("codebuild", "report-group/"+p+"test"+s+"-reports"), "codebuild:BatchPutCodeCoverages",
				"codebuild:BatchPutTestCases", "codebuild:CreateReport", "codebuild:CreateReportGroup", "codebuild:UpdateReport"),
		),
		"deployer-role-policy": join(
			calls(docDeployerContract, table, contract.TableActions...),
			calls(docDeployerContract, table+"/index/"+contract.StatusIndex, contract.IndexActions...),
			calls(docLambdaImageXAcct, repo, contract.ImagePullActions...),
			calls(docDeployerContract, repo, contract.ImageTagActions...),
			calls(docDeployerContract, "*", contract.JobResultActions...),
			calls(docDeployerContract, pipeline, contract.PipelineActions...),
			calls(docLambdaLogs, logStream("/aws/lambda/"+p+"deployer"+s), logActions...),
			calls(docDeployerContract, target, contract.TargetActions...),
			calls(docDeployerContract, target+":live", contract.TargetActions...),
			calls(docDeployerContract, "arn:aws:iam::444455556666:role/payments-deploy", contract.AssumeRoleActions...),
		),
		// The callers' deployers update crossAccount.functionNames to images
		// of their own repositories (crossAccount.imageRepositoryArns), never
		// this claim's.
		"cross-account-role-policy": join(
			calls(docLambdaECRXAcct, "arn:aws:ecr:eu-west-1:444455556666:repository/payments-eu-k3m8q-images-prod", contract.ImagePullActions...),
			calls(docDeployerContract, target, contract.TargetActions...),
			calls(docDeployerContract, target+":live", contract.TargetActions...),
		),
	}
}

// TestRolePermissions evaluates each composed role policy with a small IAM
// evaluator: every call AWS documents the service making is allowed, and
// the policy grants nothing those calls do not need (each granted action
// and resource pattern is used by a listed call; "*" only where the listed
// call is on "*").
func TestRolePermissions(t *testing.T) {
	observed, rsp := converge(t, xrFile(t, "xr-full.yaml"), nil)
	connectionARN := observed["codestar-connection"].Object["status"].(map[string]any)["atProvider"].(map[string]any)["arn"].(string)
	d := desired(rsp)
	want := expectedCalls(connectionARN)
	var policies []string
	for name, u := range d {
		if u.GetKind() == "Policy" {
			policies = append(policies, name)
		}
	}
	sort.Strings(policies)
	var wantPolicies []string
	for name := range want {
		wantPolicies = append(wantPolicies, name)
	}
	sort.Strings(wantPolicies)
	if strings.Join(policies, ",") != strings.Join(wantPolicies, ",") {
		t.Errorf("composed policies: want %v, got %v", wantPolicies, policies)
	}
	for _, name := range wantPolicies {
		u, ok := d[name]
		if !ok {
			continue
		}
		checkPolicy(t, name, policyOf(t, u), want[name])
	}
}

func checkPolicy(t *testing.T, name string, doc iampolicy.Document, want []call) {
	t.Helper()
	for _, c := range want {
		if !doc.Allows(c.action, c.resource) {
			t.Errorf("%s: %s on %s is not allowed; AWS documents it (%s)", name, c.action, c.resource, c.doc)
		}
	}
	for _, g := range doc.Grants() {
		used := false
		for _, c := range want {
			if !strings.EqualFold(c.action, g.Action) {
				continue
			}
			if g.Resource == "*" && c.resource != "*" {
				continue
			}
			if iampolicy.Match(g.Resource, c.resource, false) {
				used = true
				break
			}
		}
		if !used {
			t.Errorf("%s: grants %s on %s, which no documented call needs", name, g.Action, g.Resource)
		}
	}
}

// TestEventsRolePermissions: the CodeCommit trigger's role may start this
// pipeline and nothing else.
func TestEventsRolePermissions(t *testing.T) {
	_, rsp := converge(t, xrFromYAML(t, minimalXR("\n  environmentSuffix: dev\n  source:\n    provider: CodeCommit\n    repository: shop\n")), nil)
	d := desired(rsp)
	checkPolicy(t, "events-role-policy", policyOf(t, d["events-role-policy"]),
		calls(docEventsTarget, "arn:aws:codepipeline:us-east-1:123456789012:shop-x7k2p-pipeline-dev", "codepipeline:StartPipelineExecution"))
	checkPolicy(t, "codepipeline-role-policy", policyOf(t, d["codepipeline-role-policy"]), func() []call {
		const artifacts = "arn:aws:s3:::shop-x7k2p-artifacts-dev"
		var out []call
		out = append(out, calls(docCodePipelineRole, artifacts+"/shop-x7k2p-pipeline/source/abc.zip", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:PutObjectAcl")...)
		out = append(out, calls(docCodePipelineRole, artifacts, "s3:GetBucketAcl", "s3:GetBucketLocation", "s3:GetBucketVersioning")...)
		for _, p := range []string{"build", "test"} {
			out = append(out, calls(docCodePipelineRole, "arn:aws:codebuild:us-east-1:123456789012:project/shop-x7k2p-"+p+"-dev", "codebuild:BatchGetBuilds", "codebuild:StartBuild")...)
		}
		out = append(out, calls(docCodeCommitSource, "arn:aws:codecommit:us-east-1:123456789012:shop", "codecommit:CancelUploadArchive",
			"codecommit:GetBranch", "codecommit:GetCommit", "codecommit:GetRepository", "codecommit:GetUploadArchiveStatus", "codecommit:UploadArchive")...)
		return out
	}())
}
