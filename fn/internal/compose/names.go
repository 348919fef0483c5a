package compose

import "github.com/crossplane/function-sdk-go/resource"

// Names of the composed resources (resource.Name, not AWS names). Each is
// also the value of the resource's LabelComponent label, which selectors
// match.
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
	EmailSubscriptionPrefix = "email-subscription-"

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
