package compose

import (
	"fmt"
	"slices"
	"strings"

	"github.com/crossplane/function-sdk-go/resource"
)

// Deriving what AWS documents as a fixed format. Each round of progressive
// creation waits for resources to be created and observed (seconds to
// minutes on AWS), so a value AWS forms from the partition, region, account
// and the resource's name is derived rather than waited for: once the
// account is known (the platform's accountId, else the first observed ARN;
// S3 bucket ARNs need none). Only values AWS generates, such as a composed
// CodeStar connection's ARN, wait for observation. An observed value always
// wins over a derived one, so what has been created is described exactly
// as AWS reports it.

// Where derived values go, and why composing them before the resource they
// name exists is safe:
//   - Never as a principal. AWS refuses a resource-based or trust policy
//     that names a principal that does not exist ("Invalid principal in
//     policy": "AWS JSON policy elements: Principal", IAM User Guide,
//     https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html,
//     https://repost.aws/knowledge-center/iam-trust-policy-error; S3,
//     https://repost.aws/knowledge-center/s3-invalid-principal-in-policy-error;
//     KMS CreateKey: "The principals in the key policy must exist"). The
//     function's policies name as principals only service principals, "*"
//     and account roots or ARNs the claim gives; the roles it composes
//     reach other resources through selectors, which the provider resolves
//     only once the role exists. The tests hold every round to this
//     (providerfake.UnknownPrincipals, fn's requireExistingPrincipals).
//   - As Resource or aws:SourceArn in policies: AWS checks a policy's
//     grammar and that its ARNs are well formed, not that they exist
//     ("Validation scope", "IAM policy validation",
//     https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_policy-validator.html).
//   - As a reference AWS stores for later: an alarm's action (the topic,
//     PutMetricAlarm AlarmActions), an EventBridge target's Arn (the topic,
//     the pipeline; PutTargets), the approval action's NotificationArn, the
//     build project's image URI variable. AWS documents these as ARNs (or
//     a URI) of a given form and documents no check that they exist when
//     they are set; they are used when the alarm fires, the rule matches or
//     the build runs, by which time everything is created. Had AWS such a
//     check, nothing documents its error as transient: the value would
//     have to wait like a principal, not rely on the provider's retry.
//   - Roles a resource runs as (CodeBuild's serviceRole, CodePipeline's
//     roleArn, the Lambda's role, a target's roleArn) are selectors, as
//     before: the provider resolves them once the role exists. A role just
//     created may not be visible everywhere yet: IAM documents this as
//     eventual consistency to retry ("Changes that I make are not always
//     immediately visible",
//     https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency),
//     which the provider's next reconcile does.

// arnFormat is how AWS forms the ARNs of one kind:
// arn:<partition>:<service>:<region>:<account>:<resource><name>, where name
// is the resource's external name (the AWS name the function gives it).
type arnFormat struct {
	service string
	// global: the ARN has no region (IAM, S3).
	global bool
	// accountless: the ARN has no account ID (S3 buckets).
	accountless bool
	// resource precedes the name.
	resource string
	// doc is AWS's page that documents the format.
	doc string
}

// The service authorization reference's "Resource types defined by ..."
// section of each service lists its ARN formats; the general format is in
// "Amazon Resource Names (ARNs)"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).
const serviceAuthorization = "https://docs.aws.amazon.com/service-authorization/latest/reference/"

// arnFormats are the formats of the kinds the function composes with a name
// of its own, by provider-aws group/Kind (cluster-scoped; a namespaced kind
// has its twin's ARN). Its IAM ARNs have no path: the builders set none.
var arnFormats = map[string]arnFormat{
	// arn:${Partition}:ecr:${Region}:${Account}:repository/${RepositoryName}
	"ecr.aws.upbound.io/Repository": {service: "ecr", resource: "repository/", doc: serviceAuthorization + "list_amazonelasticcontainerregistry.html"},
	// arn:${Partition}:s3:::${BucketName}
	"s3.aws.upbound.io/Bucket": {service: "s3", global: true, accountless: true, doc: serviceAuthorization + "list_amazons3.html"},
	// arn:${Partition}:codebuild:${Region}:${Account}:project/${ProjectName}
	"codebuild.aws.upbound.io/Project": {service: "codebuild", resource: "project/", doc: serviceAuthorization + "list_awscodebuild.html"},
	// arn:${Partition}:codepipeline:${Region}:${Account}:${PipelineName}
	"codepipeline.aws.upbound.io/Codepipeline": {service: "codepipeline", doc: serviceAuthorization + "list_awscodepipeline.html"},
	// arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}
	"lambda.aws.upbound.io/Function": {service: "lambda", resource: "function:", doc: serviceAuthorization + "list_awslambda.html"},
	// arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}
	"dynamodb.aws.upbound.io/Table": {service: "dynamodb", resource: "table/", doc: serviceAuthorization + "list_amazondynamodb.html"},
	// arn:${Partition}:sns:${Region}:${Account}:${TopicName}
	"sns.aws.upbound.io/Topic": {service: "sns", doc: serviceAuthorization + "list_amazonsns.html"},
	// arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}
	"cloudwatchlogs.aws.upbound.io/Group": {service: "logs", resource: "log-group:", doc: serviceAuthorization + "list_amazoncloudwatchlogs.html"},
	// arn:${Partition}:cloudwatch:${Region}:${Account}:alarm:${AlarmName}
	"cloudwatch.aws.upbound.io/MetricAlarm": {service: "cloudwatch", resource: "alarm:", doc: serviceAuthorization + "list_amazoncloudwatch.html"},
	// arn:${Partition}:events:${Region}:${Account}:rule/${RuleName} (on the
	// default event bus, where the function composes its rules)
	"cloudwatchevents.aws.upbound.io/Rule": {service: "events", resource: "rule/", doc: serviceAuthorization + "list_amazoneventbridge.html"},
	// arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}
	"iam.aws.upbound.io/Role": {service: "iam", global: true, resource: "role/", doc: serviceAuthorization + "list_awsidentityandaccessmanagementiam.html"},
	// arn:${Partition}:iam::${Account}:policy/${PolicyNameWithPath}
	"iam.aws.upbound.io/Policy": {service: "iam", global: true, resource: "policy/", doc: serviceAuthorization + "list_awsidentityandaccessmanagementiam.html"},
}

// awaitingAccount is what a derived value waits for before the account is
// known.
const awaitingAccount = "the AWS account ID (the platform's accountId, or any observed ARN)"

// formatOf returns the ARN format of the resource composed as name.
func formatOf(name resource.Name) (arnFormat, bool) {
	c, ok := component(name)
	if !ok {
		return arnFormat{}, false
	}
	k := c.Kind()
	f, ok := arnFormats[k.Group+"/"+k.Kind]
	return f, ok
}

// arnOf returns the ARN of the resource composed as name: the observed one,
// else the one AWS's format gives it, else "" (the format needs the account
// and it is not known yet, or AWS generates the ARN).
func (c *composer) arnOf(name resource.Name) string {
	if v := c.in.Observed.ARN(name); v != "" {
		return v
	}
	return c.derivedARN(name)
}

// derivedARN is the ARN AWS gives the resource composed as name, from its
// documented format and the external name the builder gives it
// (c.in.Names), or "" when it cannot be derived (yet).
func (c *composer) derivedARN(name resource.Name) string {
	f, ok := formatOf(name)
	awsName := c.in.Names[name]
	partition, known := partitionOf(c.in.Spec.Region)
	if !ok || awsName == "" || !known {
		return ""
	}
	region, account := c.in.Spec.Region, c.in.AccountID
	if f.global {
		region = ""
	}
	if f.accountless {
		account = ""
	} else if account == "" {
		return ""
	}
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s%s", partition, f.service, region, account, f.resource, awsName)
}

// repositoryURI is the ECR repository's URI: the observed one, else
// <account>.dkr.ecr.<region>.<DNS suffix>/<name>, the private registry's
// host ("Private registry concepts",
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/Registries.html)
// followed by the repository's name; "" before the account is known.
func (c *composer) repositoryURI() string {
	if v := c.in.Observed.String(ECRRepository, "status.atProvider.repositoryUrl"); v != "" {
		return v
	}
	partition, known := partitionOf(c.in.Spec.Region)
	if c.in.AccountID == "" || !known {
		return ""
	}
	return fmt.Sprintf("%s.dkr.ecr.%s.%s/%s", c.in.AccountID, c.in.Spec.Region, dnsSuffix(partition), c.in.Names[ECRRepository])
}

// dnsSuffix is the DNS suffix of a partition's service endpoints: the China
// Regions' registries are <account>.dkr.ecr.<region>.amazonaws.com.cn
// (https://docs.amazonaws.cn/en_us/AmazonECR/latest/userguide/Registries.html);
// AWS GovCloud (US) uses amazonaws.com ("Amazon ECR endpoints and quotas",
// https://docs.aws.amazon.com/general/latest/gr/ecr.html).
func dnsSuffix(partition string) string {
	if partition == "aws-cn" {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}

// arns collects the ARNs a resource needs (observed or derived), and what
// is still missing.
type arns struct {
	c       *composer
	missing []string
}

// of returns the ARN of the resource composed as name, or records what it
// waits for: the account, for a derivable ARN before the account is
// known, else what (the ARN itself: AWS generates it, or the region's
// partition is not one the function derives in).
func (a *arns) of(name resource.Name, what string) string {
	v := a.c.arnOf(name)
	if v == "" {
		_, derivable := formatOf(name)
		if _, known := partitionOf(a.c.in.Spec.Region); derivable && known && a.c.in.AccountID == "" {
			what = awaitingAccount
		}
		a.need(what)
	}
	return v
}

// account returns the pipeline's account ID, or records that it is missing.
func (a *arns) account() string {
	if a.c.in.AccountID == "" {
		a.need(awaitingAccount)
	}
	return a.c.in.AccountID
}

func (a *arns) need(what string) {
	if !slices.Contains(a.missing, what) {
		a.missing = append(a.missing, what)
	}
}

func (a *arns) waiting() string { return strings.Join(a.missing, ", ") }
