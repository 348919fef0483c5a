package compose

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/crossplane/function-sdk-go/errors"
	"github.com/crossplane/function-sdk-go/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	clusterapis "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster"
	cloudwatch "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/cloudwatch/v1beta1"
	cloudwatchevents "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/cloudwatchevents/v1beta1"
	cloudwatchlogs "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/cloudwatchlogs/v1beta1"
	codebuild "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/codebuild/v1beta1"
	codepipeline "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/codepipeline/v1beta1"
	codestarconnections "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/codestarconnections/v1beta1"
	dynamodb "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/dynamodb/v1beta1"
	ecr "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/ecr/v1beta1"
	iam "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/iam/v1beta1"
	lambda "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/lambda/v1beta1"
	s3 "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/s3/v1beta1"
	sns "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/sns/v1beta1"
	namespacedapis "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/namespaced"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/naming"
)

// Names of the composed resources (resource.Name, not AWS names). Each is
// also the value of the resource's LabelComponent label, which selectors
// match. Each has one row in Components.
const (
	ECRRepository       resource.Name = "ecr-repository"
	ECRLifecyclePolicy  resource.Name = "ecr-lifecycle-policy"
	ECRRepositoryPolicy resource.Name = "ecr-repository-policy"

	ArtifactBucket                  resource.Name = "artifact-bucket"
	ArtifactBucketVersioning        resource.Name = "artifact-bucket-versioning"
	ArtifactBucketEncryption        resource.Name = "artifact-bucket-encryption"
	ArtifactBucketLifecycle         resource.Name = "artifact-bucket-lifecycle"
	ArtifactBucketPublicAccessBlock resource.Name = "artifact-bucket-public-access-block"
	ArtifactBucketPolicy            resource.Name = "artifact-bucket-policy"
	CacheBucket                     resource.Name = "cache-bucket"
	CacheBucketEncryption           resource.Name = "cache-bucket-encryption"
	CacheBucketLifecycle            resource.Name = "cache-bucket-lifecycle"
	CacheBucketPublicAccessBlock    resource.Name = "cache-bucket-public-access-block"
	CacheBucketPolicy               resource.Name = "cache-bucket-policy"

	BuildLogGroup    resource.Name = "build-log-group"
	TestLogGroup     resource.Name = "test-log-group"
	DeployerLogGroup resource.Name = "deployer-log-group"

	BuildProject resource.Name = "build-project"
	TestProject  resource.Name = "test-project"
	Connection   resource.Name = "codestar-connection"
	Pipeline     resource.Name = "pipeline"

	DeployerFunction resource.Name = "deployer-function"
	DeploymentTable  resource.Name = "deployment-table"
	// DeployTargetsItem is the deployment table's item naming the targets.
	DeployTargetsItem resource.Name = "deploy-targets-item"
	ErrorsAlarm       resource.Name = "deployer-errors-alarm"
	// RollbackFailedAlarm fires on contract.RollbackFailedMetric.
	RollbackFailedAlarm resource.Name = "deployer-rollback-failed-alarm"

	NotificationTopic       resource.Name = "notification-topic"
	NotificationTopicPolicy resource.Name = "notification-topic-policy"
	// EmailSubscriptionPrefix is followed by a hash of the address, so that
	// removing one address leaves the others' subscriptions alone.
	EmailSubscriptionPrefix resource.Name = "email-subscription-"

	FailedRule   resource.Name = "pipeline-failed-rule"
	FailedTarget resource.Name = "pipeline-failed-target"
	PushRule     resource.Name = "source-push-rule"
	PushTarget   resource.Name = "source-push-target"

	CodeBuildRole     resource.Name = "codebuild-role"
	CodeBuildTestRole resource.Name = "codebuild-test-role"
	CodePipelineRole  resource.Name = "codepipeline-role"
	DeployerRole      resource.Name = "deployer-role"
	EventsRole        resource.Name = "events-role"
	CrossAccountRole  resource.Name = "cross-account-role"
)

// PolicyOf is the name of a role's customer-managed policy.
func PolicyOf(role resource.Name) resource.Name { return role + "-policy" }

// AttachmentOf is the name of the attachment of a role's policy.
func AttachmentOf(role resource.Name) resource.Name { return role + "-policy-attachment" }

// A Component is one managed resource the function may compose.
type Component struct {
	// Name is the composed resource name, or for Many a prefix of it.
	Name resource.Name
	// Many: one resource per item of a list in the spec (an e-mail
	// address), each named Name followed by a hash of the item.
	Many bool
	// Group is the provider-aws API group and version of the kind, at its
	// storage version; the Go type of Object is the kind.
	Group schema.GroupVersion
	// Object is an empty typed struct of the kind the builder composes.
	Object runtime.Object
	// AWSName says how the resource is named in AWS.
	AWSName naming.Rule
}

// Kind is the component's group, version and kind. Every provider-aws Go
// type is named after its kind.
func (c Component) Kind() schema.GroupVersionKind {
	return c.Group.WithKind(reflect.TypeOf(c.Object).Elem().Name())
}

// ProviderGroup is the provider-aws family member that serves the kind:
// group ecr.aws.upbound.io is provider-aws-ecr.
func (c Component) ProviderGroup() string {
	return strings.TrimSuffix(c.Group.Group, ".aws.upbound.io")
}

// withPolicy is a role's row followed by those of its customer-managed
// policy, named as the role (IAM allows policy names of 128 characters, so
// the role's 64 bind), and the policy's attachment.
func withPolicy(role resource.Name, purpose string) []Component {
	return []Component{
		{Name: role, Group: iam.CRDGroupVersion, Object: &iam.Role{}, AWSName: naming.Rule{Purpose: purpose, Limit: naming.IAMRole}},
		{Name: PolicyOf(role), Group: iam.CRDGroupVersion, Object: &iam.Policy{}, AWSName: naming.Rule{Of: role}},
		{Name: AttachmentOf(role), Group: iam.CRDGroupVersion, Object: &iam.RolePolicyAttachment{}},
	}
}

// Components are every managed resource the function may compose, one row
// each: the AWS names (AWSNames), the kinds registered for fromTyped and
// the package's provider dependencies (package/crossplane.yaml, checked by
// TestProviderDependencies) all come from here.
var Components = concat(
	[]Component{
		{Name: ECRRepository, Group: ecr.CRDGroupVersion, Object: &ecr.Repository{}, AWSName: naming.Rule{Purpose: "images", Limit: naming.ECRRepository}},
		{Name: ECRLifecyclePolicy, Group: ecr.CRDGroupVersion, Object: &ecr.LifecyclePolicy{}},
		{Name: ECRRepositoryPolicy, Group: ecr.CRDGroupVersion, Object: &ecr.RepositoryPolicy{}},

		{Name: ArtifactBucket, Group: s3.CRDGroupVersion, Object: &s3.Bucket{}, AWSName: naming.Rule{Purpose: "artifacts", Limit: naming.S3Bucket}},
		{Name: ArtifactBucketVersioning, Group: s3.CRDGroupVersion, Object: &s3.BucketVersioning{}},
		{Name: ArtifactBucketEncryption, Group: s3.CRDGroupVersion, Object: &s3.BucketServerSideEncryptionConfiguration{}},
		{Name: ArtifactBucketLifecycle, Group: s3.CRDGroupVersion, Object: &s3.BucketLifecycleConfiguration{}},
		{Name: ArtifactBucketPublicAccessBlock, Group: s3.CRDGroupVersion, Object: &s3.BucketPublicAccessBlock{}},
		{Name: ArtifactBucketPolicy, Group: s3.CRDGroupVersion, Object: &s3.BucketPolicy{}},
		{Name: CacheBucket, Group: s3.CRDGroupVersion, Object: &s3.Bucket{}, AWSName: naming.Rule{Purpose: "build-cache", Limit: naming.S3Bucket}},
		{Name: CacheBucketEncryption, Group: s3.CRDGroupVersion, Object: &s3.BucketServerSideEncryptionConfiguration{}},
		{Name: CacheBucketLifecycle, Group: s3.CRDGroupVersion, Object: &s3.BucketLifecycleConfiguration{}},
		{Name: CacheBucketPublicAccessBlock, Group: s3.CRDGroupVersion, Object: &s3.BucketPublicAccessBlock{}},
		{Name: CacheBucketPolicy, Group: s3.CRDGroupVersion, Object: &s3.BucketPolicy{}},

		// CodeBuild and Lambda log to these groups by default; the function
		// composes them under the same names.
		{Name: BuildLogGroup, Group: cloudwatchlogs.CRDGroupVersion, Object: &cloudwatchlogs.Group{}, AWSName: naming.Rule{Of: BuildProject, Path: "/aws/codebuild/"}},
		{Name: TestLogGroup, Group: cloudwatchlogs.CRDGroupVersion, Object: &cloudwatchlogs.Group{}, AWSName: naming.Rule{Of: TestProject, Path: "/aws/codebuild/"}},
		{Name: DeployerLogGroup, Group: cloudwatchlogs.CRDGroupVersion, Object: &cloudwatchlogs.Group{}, AWSName: naming.Rule{Of: DeployerFunction, Path: "/aws/lambda/"}},

		{Name: BuildProject, Group: codebuild.CRDGroupVersion, Object: &codebuild.Project{}, AWSName: naming.Rule{Purpose: "build", Limit: naming.CodeBuildProject}},
		{Name: TestProject, Group: codebuild.CRDGroupVersion, Object: &codebuild.Project{}, AWSName: naming.Rule{Purpose: "test", Limit: naming.CodeBuildProject}},
		{Name: Pipeline, Group: codepipeline.CRDGroupVersion, Object: &codepipeline.Codepipeline{}, AWSName: naming.Rule{Purpose: "pipeline", Limit: naming.CodePipeline}},
		{Name: Connection, Group: codestarconnections.CRDGroupVersion, Object: &codestarconnections.Connection{}, AWSName: naming.Rule{Purpose: "src", Limit: naming.CodeStarConnection}},

		{Name: DeployerFunction, Group: lambda.CRDGroupVersion, Object: &lambda.Function{}, AWSName: naming.Rule{Purpose: "deployer", Limit: naming.LambdaFunction}},
		{Name: DeploymentTable, Group: dynamodb.CRDGroupVersion, Object: &dynamodb.Table{}, AWSName: naming.Rule{Purpose: "deployments", Limit: naming.DynamoDBTable}},
		{Name: DeployTargetsItem, Group: dynamodb.CRDGroupVersion, Object: &dynamodb.TableItem{}},
		{Name: ErrorsAlarm, Group: cloudwatch.CRDGroupVersion, Object: &cloudwatch.MetricAlarm{}, AWSName: naming.Rule{Purpose: "deployer-errors", Limit: naming.CloudWatchAlarm}},
		{Name: RollbackFailedAlarm, Group: cloudwatch.CRDGroupVersion, Object: &cloudwatch.MetricAlarm{}, AWSName: naming.Rule{Purpose: "rollback-failed", Limit: naming.CloudWatchAlarm}},

		{Name: NotificationTopic, Group: sns.CRDGroupVersion, Object: &sns.Topic{}, AWSName: naming.Rule{Purpose: "notifications", Limit: naming.SNSTopic}},
		{Name: NotificationTopicPolicy, Group: sns.CRDGroupVersion, Object: &sns.TopicPolicy{}},
		{Name: EmailSubscriptionPrefix, Many: true, Group: sns.CRDGroupVersion, Object: &sns.TopicSubscription{}},

		{Name: FailedRule, Group: cloudwatchevents.CRDGroupVersion, Object: &cloudwatchevents.Rule{}, AWSName: naming.Rule{Purpose: "pipeline-failed", Limit: naming.EventBridgeRule}},
		{Name: FailedTarget, Group: cloudwatchevents.CRDGroupVersion, Object: &cloudwatchevents.Target{}},
		{Name: PushRule, Group: cloudwatchevents.CRDGroupVersion, Object: &cloudwatchevents.Rule{}, AWSName: naming.Rule{Purpose: "source-push", Limit: naming.EventBridgeRule}},
		{Name: PushTarget, Group: cloudwatchevents.CRDGroupVersion, Object: &cloudwatchevents.Target{}},
	},
	withPolicy(CodeBuildRole, "codebuild"),
	withPolicy(CodeBuildTestRole, "codebuild-test"),
	withPolicy(CodePipelineRole, "codepipeline"),
	withPolicy(DeployerRole, "deployer"),
	withPolicy(EventsRole, "events"),
	withPolicy(CrossAccountRole, "cross-account"),
)

func concat(parts ...[]Component) []Component {
	var out []Component
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// component returns the row of a composed resource name.
func component(name resource.Name) (Component, bool) {
	for _, c := range Components {
		if c.Name == name || (c.Many && strings.HasPrefix(string(name), string(c.Name))) {
			return c, true
		}
	}
	return Component{}, false
}

// AWSNames are the AWS names of a pipeline's resources, by the rules in
// Components; an error names the first row, in order, whose name cannot
// fit.
func AWSNames(xrName, suffix string) (naming.Names, error) {
	return naming.For(xrName, suffix, awsNameRules())
}

// awsNameRules are the components' naming rules, listed once: they are
// the same for every request.
var awsNameRules = sync.OnceValue(func() []naming.Named {
	var rules []naming.Named
	for _, c := range Components {
		if c.AWSName.Named() {
			rules = append(rules, naming.Named{Name: c.Name, Rule: c.AWSName})
		}
	}
	return rules
})

// ProviderGroups are the provider-aws family members the components need,
// sorted.
func ProviderGroups() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range Components {
		if g := c.ProviderGroup(); !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	sort.Strings(out)
	return out
}

// kindIndex finds a composed kind's group, version and kind by its Go type,
// and a namespaced kind's Go type by its group, version and kind: every kind
// of both scopes generated into fn/internal/awsapis (awsapis.Kinds,
// TestKindsAreComponents). It is read from the generated lists rather than
// from a runtime.Scheme: registering the 50 kinds in composed.Scheme
// allocated 0.3 MB (with each group's meta types) at start-up, and the
// function needs only these two lookups (TestKindsAsScheme).
type kindIndex struct {
	byType map[reflect.Type]typeKind
	byGVK  map[schema.GroupVersionKind]reflect.Type
}

// typeKind is a Go type's kind, and its apiVersion as composed resources
// spell it, built once rather than for every composed resource.
type typeKind struct {
	gvk        schema.GroupVersionKind
	apiVersion string
	// meta is the index of the struct's ObjectMeta, inlined as metadata;
	// nil if it has none.
	meta []int
}

var kinds = sync.OnceValue(func() kindIndex {
	all := slices.Concat(clusterapis.Kinds, namespacedapis.Kinds)
	k := kindIndex{
		byType: make(map[reflect.Type]typeKind, len(all)),
		byGVK:  make(map[schema.GroupVersionKind]reflect.Type, len(all)),
	}
	for _, c := range all {
		t := reflect.TypeOf(c.Object)
		k.byType[t], k.byGVK[c.GVK] = typeKind{gvk: c.GVK, apiVersion: c.GVK.GroupVersion().String(), meta: metaIndex(t)}, t
	}
	return k
})

// metaIndex is the index of ptr's struct's metav1.ObjectMeta field, the
// object's metadata.
func metaIndex(ptr reflect.Type) []int {
	if ptr.Kind() != reflect.Pointer || ptr.Elem().Kind() != reflect.Struct {
		return nil
	}
	f, ok := ptr.Elem().FieldByName("ObjectMeta")
	if !ok || f.Type != reflect.TypeFor[metav1.ObjectMeta]() || f.Tag.Get("json") != "metadata,omitempty" {
		return nil
	}
	return f.Index
}

// typedMetaEmpty reports that obj, of kind k, has an empty ObjectMeta:
// the builders never set it (names are external-name annotations).
func typedMetaEmpty(obj runtime.Object, k typeKind) bool {
	v := reflect.ValueOf(obj)
	if k.meta == nil || v.Kind() != reflect.Pointer || v.IsNil() {
		return false
	}
	return v.Elem().FieldByIndex(k.meta).IsZero()
}

// kindOf is the kind of obj's Go type.
func kindOf(obj runtime.Object) (typeKind, bool) {
	k, ok := kinds().byType[reflect.TypeOf(obj)]
	return k, ok
}

// newKind returns a new typed struct of the kind gvk.
func newKind(gvk schema.GroupVersionKind) (runtime.Object, bool) {
	t, ok := kinds().byGVK[gvk]
	if !ok {
		return nil, false
	}
	return reflect.TypeAssert[runtime.Object](reflect.New(t.Elem()))
}

// checkKind returns an error unless obj is of name's registered kind.
func checkKind(name resource.Name, obj runtime.Object) error {
	c, ok := component(name)
	if !ok {
		return errors.Errorf("%s is not in the component registry (Components)", name)
	}
	if got, want := reflect.TypeOf(obj), reflect.TypeOf(c.Object); got != want {
		return errors.Errorf("%s is registered as %s, not %s", name, want, got)
	}
	return nil
}
