package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// XCicdPipeline is a complete AWS CI/CD pipeline for one application and one
// environment: Source -> Build -> Test -> Approval -> Deploy, with its
// registry, buckets, build projects, deployer Lambda, deployment history,
// alarms, notifications and least-privilege IAM.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:subresource:status
type XCicdPipeline struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   XCicdPipelineSpec   `json:"spec"`
	Status XCicdPipelineStatus `json:"status,omitempty"`
}

// XCicdPipelineSpec is what an application team asks for through a claim
// (or a legacy XR): the pipeline's parameters and the cluster-scoped managed
// resources' provider config and deletion policy.
type XCicdPipelineSpec struct {
	PipelineParameters `json:",inline"`

	// ProviderConfigName is the provider-aws ProviderConfig every managed
	// resource uses. Default: the platform's, else default.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ProviderConfigName string `json:"providerConfigName,omitempty"`

	// DeletionPolicy of every managed resource: Delete removes the AWS
	// resources with the claim (non-empty buckets and repositories too);
	// Orphan keeps them. Default: the platform's, else Delete.
	// +kubebuilder:validation:Enum=Delete;Orphan
	// +optional
	DeletionPolicy string `json:"deletionPolicy,omitempty"`
}

// PipelineParameters are the parameters of a pipeline that mean the same in
// both APIs: the claim (and its cluster-scoped XR) and the namespaced
// CicdPipeline of apis/namespaced/cicd/v1alpha1 embed them, so fields,
// defaults, CEL rules and docs have one source.
//
// +kubebuilder:validation:XValidation:rule="!has(self.source.connectionArn) || self.source.provider != 'CodeCommit'",message="spec.source.connectionArn must not be set when spec.source.provider is CodeCommit: CodeCommit needs no connection"
// +kubebuilder:validation:XValidation:rule="!has(self.source.hostArn) || self.source.provider == 'GitHubEnterpriseServer'",message="spec.source.hostArn is only valid when spec.source.provider is GitHubEnterpriseServer"
// +kubebuilder:validation:XValidation:rule="self.source.provider != 'GitHubEnterpriseServer' || has(self.source.connectionArn) || has(self.source.hostArn)",message="spec.source.provider GitHubEnterpriseServer needs spec.source.hostArn (the registered host) or an existing spec.source.connectionArn"
// +kubebuilder:validation:XValidation:rule="self.source.provider == 'CodeCommit' || self.source.repository.matches('^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$')",message="spec.source.repository must be owner/name (for example acme/shop) when spec.source.provider is not CodeCommit"
// +kubebuilder:validation:XValidation:rule="!has(self.deployer.targets) || !has(self.region) || self.deployer.targets.all(t, !t.functionName.startsWith('arn:') || t.functionName.split(':')[3] == self.region)",message="spec.deployer.targets must be functions in spec.region: Lambda runs an image only from an ECR repository in its own region"
// +kubebuilder:validation:XValidation:rule="!has(self.deployer) || !has(self.deployer.image) || !has(self.region) || self.deployer.image.split('.')[3] == self.region",message="spec.deployer.image must be in an ECR repository in spec.region: Lambda runs an image only from its own region"
// +kubebuilder:validation:XValidation:rule="!has(self.crossAccount) || !has(self.crossAccount.imageRepositoryArns) || !has(self.region) || self.crossAccount.imageRepositoryArns.all(r, r.split(':')[3] == self.region)",message="spec.crossAccount.imageRepositoryArns must be in spec.region: Lambda runs an image only from an ECR repository in its own region"
// +kubebuilder:validation:XValidation:rule="!has(self.crossAccount) || !has(self.crossAccount.functionNames) || !has(self.region) || self.crossAccount.functionNames.all(f, !f.startsWith('arn:') || f.split(':')[3] == self.region)",message="spec.crossAccount.functionNames must be functions in spec.region"
// +kubebuilder:validation:XValidation:rule="self.source.provider != 'CodeCommit' || self.source.repository.matches('^[A-Za-z0-9_.-]{1,100}$')",message="spec.source.repository must be a CodeCommit repository name (letters, digits, '.', '_' and '-', at most 100) when spec.source.provider is CodeCommit"
type PipelineParameters struct {
	// EnvironmentSuffix names the environment (dev, staging, prod, pr-42...):
	// a lower-case DNS label of at most 12 characters. It ends every AWS
	// resource name and cannot be changed afterwards: changing it would
	// mean replacing every resource.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=12
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.environmentSuffix is immutable: create a new claim for a new environment"
	EnvironmentSuffix string `json:"environmentSuffix"`

	// Region is the AWS region every resource is created in. Default:
	// the platform's (an EnvironmentConfig), else us-east-1. Once the
	// pipeline's resources exist it stays in their region even if the
	// platform's default changes.
	// +kubebuilder:validation:Pattern=`^[a-z]{2}(-[a-z]+)+-[0-9]$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.region is immutable: create a new claim for another region"
	// +optional
	Region string `json:"region,omitempty"`

	// Source is the repository the pipeline builds.
	Source Source `json:"source"`

	// Build configures the CodeBuild project that builds and pushes the
	// container image.
	// +kubebuilder:default={}
	// +optional
	Build Build `json:"build,omitempty"`

	// Test configures the CodeBuild project of the Test stage.
	// +kubebuilder:default={}
	// +optional
	Test Test `json:"test,omitempty"`

	// Approval configures the manual approval before Deploy.
	// +kubebuilder:default={}
	// +optional
	Approval Approval `json:"approval,omitempty"`

	// Deployer configures the deployer Lambda that the Deploy stage invokes.
	// Without an image the Lambda and the Deploy stage are left out.
	// +kubebuilder:default={}
	// +optional
	Deployer Deployer `json:"deployer,omitempty"`

	// Registry configures the ECR repository the build pushes to.
	// +kubebuilder:default={}
	// +optional
	Registry Registry `json:"registry,omitempty"`

	// Artifacts configures the pipeline's artifact and build-cache buckets.
	// +kubebuilder:default={}
	// +optional
	Artifacts Artifacts `json:"artifacts,omitempty"`

	// Logs configures the log groups of the build and test projects and the
	// deployer Lambda.
	// +kubebuilder:default={}
	// +optional
	Logs Logs `json:"logs,omitempty"`

	// Notifications configures who hears about failures.
	// +kubebuilder:default={}
	// +optional
	Notifications Notifications `json:"notifications,omitempty"`

	// Alarms configures the CloudWatch alarms.
	// +kubebuilder:default={}
	// +optional
	Alarms Alarms `json:"alarms,omitempty"`

	// CrossAccount configures the cross-account deployment role.
	// +optional
	CrossAccount CrossAccount `json:"crossAccount,omitempty"`

	// Tags are added to every AWS resource, beside the fixed tags that name
	// the claim and the environment, and the platform's tags (a claim's tag
	// wins on the same key unless the platform enforces it). Keys must not
	// start with aws:. Default: merged with the platform's.
	// +kubebuilder:validation:MaxProperties=40
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.size() <= 128 && !k.startsWith('aws:'))",message="spec.tags keys must be at most 128 characters and must not start with 'aws:'"
	// +kubebuilder:validation:XValidation:rule="self.all(k, self[k].size() <= 256)",message="spec.tags values must be at most 256 characters"
	// +optional
	Tags map[string]string `json:"tags,omitempty"`

	// ManagementPolicies of every managed resource; ["*"] lets Crossplane
	// create, update and delete them, ["Observe"] only observes. Default:
	// the platform's, else ["*"].
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:items:Enum="*";Create;Observe;Update;Delete;LateInitialize
	// +listType=set
	// +optional
	ManagementPolicies []string `json:"managementPolicies,omitempty"`
}

// SourceProvider is where the source code lives.
// +kubebuilder:validation:Enum=GitHub;GitHubEnterpriseServer;Bitbucket;GitLab;CodeCommit
type SourceProvider string

// Source providers.
const (
	SourceGitHub                 SourceProvider = "GitHub"
	SourceGitHubEnterpriseServer SourceProvider = "GitHubEnterpriseServer"
	SourceBitbucket              SourceProvider = "Bitbucket"
	SourceGitLab                 SourceProvider = "GitLab"
	SourceCodeCommit             SourceProvider = "CodeCommit"
)

// Source is the repository the pipeline builds.
type Source struct {
	// Provider hosts the repository. Every provider but CodeCommit is reached
	// through a CodeStar connection.
	// +kubebuilder:default="GitHub"
	// +optional
	Provider SourceProvider `json:"provider,omitempty"`

	// Repository is owner/name (GitHub, Bitbucket, GitLab) or the CodeCommit
	// repository name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	Repository string `json:"repository"`

	// Branch that triggers the pipeline.
	// +kubebuilder:default="main"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[^\s~^:?*\[\\]+$`
	// +optional
	Branch string `json:"branch,omitempty"`

	// ConnectionARN is an existing, available CodeStar connection to use
	// instead of composing a new one (not for CodeCommit).
	// +kubebuilder:validation:Pattern=`^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:connection/[A-Za-z0-9-]+$`
	// +optional
	ConnectionARN string `json:"connectionArn,omitempty"`

	// HostARN is the registered host of a GitHub Enterprise Server, for the
	// composed connection.
	// +kubebuilder:validation:Pattern=`^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:host/[A-Za-z0-9/-]+$`
	// +optional
	HostARN string `json:"hostArn,omitempty"`
}

// ComputeType of a CodeBuild project.
// +kubebuilder:validation:Enum=BUILD_GENERAL1_SMALL;BUILD_GENERAL1_MEDIUM;BUILD_GENERAL1_LARGE;BUILD_GENERAL1_XLARGE;BUILD_GENERAL1_2XLARGE
type ComputeType string

// Build configures the image build.
type Build struct {
	// ComputeType of the build project.
	// +kubebuilder:default="BUILD_GENERAL1_MEDIUM"
	// +optional
	ComputeType ComputeType `json:"computeType,omitempty"`

	// Image is the CodeBuild build environment image. Default: the
	// platform's, else aws/codebuild/standard:7.0.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Image string `json:"image,omitempty"`

	// Buildspec replaces the default buildspec (docker build with the S3
	// layer cache, push to ECR, write imageDetail.json): inline YAML, or the
	// path of a buildspec file in the repository. A replacement must still
	// write imageDetail.json for the Deploy stage.
	// +kubebuilder:validation:MaxLength=25000
	// +optional
	Buildspec string `json:"buildspec,omitempty"`

	// DockerfilePath is the Dockerfile the default buildspec builds,
	// relative to the repository root.
	// +kubebuilder:default="Dockerfile"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[^\s'"$;&|]+$`
	// +optional
	DockerfilePath string `json:"dockerfilePath,omitempty"`

	// BuildKitImage is the BuildKit image the default buildspec runs buildx
	// with (privileged, beside the build's ECR push credentials). The
	// default is a third-party mirror of moby/buildkit on ECR Public under
	// a floating tag, pulled after logging in to ECR Public; pin it by
	// digest, or point it at a copy you control. It must name its
	// registry: nothing is pulled from Docker Hub implicitly. Default: the
	// platform's, else public.ecr.aws/vend/moby/buildkit:buildx-stable-1.
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[a-z0-9][a-z0-9.-]*\.[a-z0-9.-]+(:[0-9]+)?/[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$`
	// +optional
	BuildKitImage string `json:"buildkitImage,omitempty"`

	// TimeoutMinutes of one build.
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=5
	// +kubebuilder:validation:Maximum=480
	// +optional
	TimeoutMinutes int64 `json:"timeoutMinutes,omitempty"`
}

// Test configures the Test stage.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.commands) && size(self.commands) > 0 && has(self.buildspec))",message="spec.test.commands and spec.test.buildspec are mutually exclusive"
type Test struct {
	// Enabled adds the Test stage and its project, with a role of its own:
	// it can read the source and write its logs and reports, not push
	// images or write artifacts.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// ComputeType of the test project.
	// +kubebuilder:default="BUILD_GENERAL1_SMALL"
	// +optional
	ComputeType ComputeType `json:"computeType,omitempty"`

	// Image is the CodeBuild test environment image. Default: the
	// platform's, else aws/codebuild/standard:7.0.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Image string `json:"image,omitempty"`

	// Commands the test stage runs. Without commands or buildspec the test
	// project runs buildspec-test.yml from the repository.
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=1000
	// +listType=atomic
	// +optional
	Commands []string `json:"commands,omitempty"`

	// Buildspec of the test project: inline YAML, or a path in the repository.
	// +kubebuilder:validation:MaxLength=25000
	// +optional
	Buildspec string `json:"buildspec,omitempty"`

	// TimeoutMinutes of one test run.
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=5
	// +kubebuilder:validation:Maximum=480
	// +optional
	TimeoutMinutes int64 `json:"timeoutMinutes,omitempty"`
}

// Approval configures the manual approval stage.
type Approval struct {
	// Enabled adds the manual approval stage before Deploy, when there is
	// a Deploy stage (without one it would gate nothing). Approvers are
	// notified on the notification topic.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// Message shown to the approver.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Message string `json:"message,omitempty"`

	// URL the approver reviews (a staging environment, a change ticket),
	// https only. CodePipeline limits an action configuration value to
	// 1,000 characters.
	// +kubebuilder:validation:MaxLength=1000
	// +kubebuilder:validation:Pattern=`^https://\S+$`
	// +optional
	URL string `json:"url,omitempty"`
}

// Deployer configures the deployer Lambda and what it deploys.
//
// +kubebuilder:validation:XValidation:rule="!has(self.image) || (has(self.targets) && size(self.targets) > 0)",message="spec.deployer.targets must name at least one function when spec.deployer.image is set"
type Deployer struct {
	// Image is the deployer's container image in ECR (built from deployer/,
	// published once per account by the platform team), by tag or digest.
	// Without it the Lambda and the Deploy stage are left out. Default:
	// the platform's image for spec.region, when the claim or the
	// platform names targets.
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$`
	// +optional
	Image string `json:"image,omitempty"`

	// MemoryMB of the deployer Lambda.
	// +kubebuilder:default=1024
	// +kubebuilder:validation:Minimum=128
	// +kubebuilder:validation:Maximum=10240
	// +optional
	MemoryMB int64 `json:"memoryMB,omitempty"`

	// TimeoutSeconds of one deployer invocation. Longer deployments continue
	// in a further invocation (CodePipeline continuation tokens).
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=10
	// +kubebuilder:validation:Maximum=900
	// +optional
	TimeoutSeconds int64 `json:"timeoutSeconds,omitempty"`

	// ReservedConcurrency of the deployer Lambda. Unset (the default), the
	// deployer reserves nothing: each reservation takes from the account's
	// concurrency, of which Lambda keeps 100 unreserved, so a reservation
	// per claim would cap the number of claims per account. Default: the
	// platform's, else none.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	ReservedConcurrency *int64 `json:"reservedConcurrency,omitempty"`

	// Targets are the Lambda functions the Deploy stage updates to the new
	// image; required when image is set.
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	// +optional
	Targets []DeployTarget `json:"targets,omitempty"`
}

// DeployTarget is a Lambda function the Deploy stage updates.
//
// +kubebuilder:validation:XValidation:rule="!has(self.roleArn) || (self.functionName.startsWith('arn:') && self.roleArn.split(':')[4] == self.functionName.split(':')[4])",message="spec.deployer.targets[*].roleArn must be a role in the function's account, and the function must be named by ARN"
// +kubebuilder:validation:XValidation:rule="!has(self.externalId) || has(self.roleArn)",message="spec.deployer.targets[*].externalId is only valid with roleArn"
type DeployTarget struct {
	// FunctionName is the function's name (in this pipeline's account and
	// region) or its ARN (in spec.region; in another account, set roleArn
	// to a role in that account too).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=140
	// +kubebuilder:validation:Pattern=`^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:)?[A-Za-z0-9_-]{1,64}$`
	FunctionName string `json:"functionName"`

	// RoleARN, in the function's account, is assumed to deploy into
	// another account, and required for a function there. Its trust policy
	// must allow sts:AssumeRole and sts:SetSourceIdentity for the
	// deployer's role, and its permissions must allow the deploy actions on
	// the function and ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on
	// this pipeline's repository. That account may then pull the
	// pipeline's images. At most 128 characters, so that 20 of them fit the
	// deployer's IAM policy (6,144 characters).
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$`
	// +optional
	RoleARN string `json:"roleArn,omitempty"`

	// Alias is moved to the newly published version (for example live):
	// letters, digits, - and _, at most 128 characters, and not digits
	// only, which would name a version (Lambda's rules for an alias name,
	// https://docs.aws.amazon.com/lambda/latest/api/API_GetAlias.html).
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_-]+$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[0-9]+$')",message="spec.deployer.targets[*].alias must not be digits only: Lambda reads that as a version number"
	// +optional
	Alias string `json:"alias,omitempty"`
	// ExternalID is passed when assuming roleArn, for a role whose trust
	// policy requires it (sts:ExternalId), such as a cross-account role
	// composed with spec.crossAccount.externalId. STS allows 2-1,224
	// characters; 256 match spec.crossAccount.externalId.
	// +kubebuilder:validation:MinLength=2
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9+=,.@:/_-]+$`
	// +optional
	ExternalID string `json:"externalId,omitempty"`
}

// Registry configures the ECR repository.
type Registry struct {
	// ImagesToKeep is how many builds that were never deployed, and how many
	// deployed images, the lifecycle policy keeps; untagged images expire
	// after a day. ECR counts by push time, not deploy time (lifecycle
	// policy properties,
	// https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html):
	// what is kept are the N most recently pushed of the deployed images, so
	// the image running now and the rollback image are kept as long as no
	// more than N newer images have been deployed since. A custom
	// build.buildspec must push tags starting with build- (the default
	// does): the build rule expires only those, so other tags never expire.
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	ImagesToKeep int64 `json:"imagesToKeep,omitempty"`

	// ScanOnPush scans every pushed image for vulnerabilities.
	// +kubebuilder:default=true
	// +optional
	ScanOnPush *bool `json:"scanOnPush,omitempty"`

	// TagMutability of the repository: IMMUTABLE by default, since every
	// build tag is unique and a deployed tag is never reused.
	// +kubebuilder:default="IMMUTABLE"
	// +kubebuilder:validation:Enum=MUTABLE;IMMUTABLE
	// +optional
	TagMutability string `json:"tagMutability,omitempty"`
}

// Artifacts configures the artifact and build-cache buckets.
type Artifacts struct {
	// RetentionDays after which pipeline artifacts (and old versions) expire.
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3650
	// +optional
	RetentionDays int64 `json:"retentionDays,omitempty"`

	// CacheRetentionDays after which Docker layer cache objects expire.
	// +kubebuilder:default=7
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=365
	// +optional
	CacheRetentionDays int64 `json:"cacheRetentionDays,omitempty"`
}

// Logs configures the composed CloudWatch log groups.
type Logs struct {
	// RetentionDays after which log events expire: one of the values
	// CloudWatch Logs accepts (PutRetentionPolicy). Default: the
	// platform's, else 30.
	// +kubebuilder:validation:Enum=1;3;5;7;14;30;60;90;120;150;180;365;400;545;731;1096;1827;2192;2557;2922;3288;3653
	// +optional
	RetentionDays int64 `json:"retentionDays,omitempty"`
}

// Notifications configures failure notifications.
type Notifications struct {
	// Emails subscribed to the notification topic. Each address receives a
	// confirmation e-mail from AWS first. Default: the platform's.
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=254
	// +kubebuilder:validation:items:Pattern=`^[^@\s]+@[^@\s]+\.[^@\s]+$`
	// +listType=set
	// +optional
	Emails []string `json:"emails,omitempty"`

	// KMSKeyARN, when set, encrypts the topic with this customer-managed
	// KMS key, named by its key ARN: an alias ARN in an IAM policy's
	// Resource applies to the alias, not to the key ("Use aliases to
	// control access to KMS keys", KMS Developer Guide), so the
	// CodePipeline role's grant on it would not authorise the key's use.
	// Not an AWS managed key (alias/aws/sns): its key policy cannot be
	// edited, so alarms and EventBridge could never publish ("Key
	// management", SNS Developer Guide,
	// https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
	// Its key policy must let cloudwatch.amazonaws.com and
	// events.amazonaws.com use it (kms:Decrypt, kms:GenerateDataKey*) and
	// allow the account's IAM policies (the default key policy does), so
	// that the CodePipeline role can publish approvals.
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$`
	// +optional
	KMSKeyARN string `json:"kmsKeyArn,omitempty"`
}

// Alarms configures the CloudWatch alarms.
type Alarms struct {
	// LambdaErrors alarms when the deployer Lambda errs.
	// +kubebuilder:default={}
	// +optional
	LambdaErrors LambdaErrorsAlarm `json:"lambdaErrors,omitempty"`
}

// LambdaErrorsAlarm alarms when the deployer Lambda's errors exceed a threshold.
type LambdaErrorsAlarm struct {
	// Threshold: the alarm fires when errors exceed it within the period.
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	// +optional
	Threshold int64 `json:"threshold,omitempty"`

	// PeriodSeconds over which errors are summed.
	// +kubebuilder:default=300
	// +kubebuilder:validation:Enum=60;300;900;3600
	// +optional
	PeriodSeconds int64 `json:"periodSeconds,omitempty"`

	// EvaluationPeriods that must breach before the alarm fires.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=24
	// +optional
	EvaluationPeriods int64 `json:"evaluationPeriods,omitempty"`
}

// CrossAccount configures the cross-account deployment role: a role in
// this account that another account's pipeline deployer assumes (as its
// deploy target's roleArn) to update functionNames in this account to
// images of that pipeline's own repository (one of imageRepositoryArns).
// Lambda requires the caller of UpdateFunctionCode to be able to read the
// image ("Lambda does not have permission to access the ECR image",
// https://repost.aws/knowledge-center/lambda-ecr-image), so the role may
// read imageRepositoryArns and update functionNames, nothing else.
//
// +kubebuilder:validation:XValidation:rule="!has(self.trustedAccountIds) || size(self.trustedAccountIds) == 0 || (has(self.imageRepositoryArns) && size(self.imageRepositoryArns) > 0 && has(self.functionNames) && size(self.functionNames) > 0)",message="spec.crossAccount.trustedAccountIds needs imageRepositoryArns (the callers' ECR repositories) and functionNames (the functions here they deploy)"
// +kubebuilder:validation:XValidation:rule="!has(self.imageRepositoryArns) || self.imageRepositoryArns.all(r, has(self.trustedAccountIds) && r.split(':')[4] in self.trustedAccountIds)",message="spec.crossAccount.imageRepositoryArns must be in spec.crossAccount.trustedAccountIds"
// +kubebuilder:validation:XValidation:rule="!has(self.trustedAccountIds) || size(self.trustedAccountIds) == 0 || (has(self.trustedPrincipalArns) && size(self.trustedPrincipalArns) > 0) || has(self.organizationId)",message="spec.crossAccount needs trustedPrincipalArns or organizationId to scope who may assume the role"
// +kubebuilder:validation:XValidation:rule="!has(self.trustedPrincipalArns) || self.trustedPrincipalArns.all(p, has(self.trustedAccountIds) && p.split(':')[4] in self.trustedAccountIds)",message="spec.crossAccount.trustedPrincipalArns must be in spec.crossAccount.trustedAccountIds"
type CrossAccount struct {
	// TrustedAccountIDs may assume the deployment role to deploy this
	// pipeline's images into this account's target functions. Without them
	// no cross-account role is created. Default (with functionNames): the
	// platform's, as for organizationId.
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:Pattern=`^[0-9]{12}$`
	// +listType=set
	// +optional
	TrustedAccountIDs []string `json:"trustedAccountIds,omitempty"`

	// TrustedPrincipalARNs are the roles (or users) in the trusted accounts
	// that may assume the role, typically the other pipelines' deployer
	// roles. Without them, any principal of the trusted accounts in
	// organizationId may. At most 10 of at most 128 characters, so that the
	// role's trust policy fits IAM's 2,048 characters.
	// +kubebuilder:validation:MaxItems=10
	// +kubebuilder:validation:items:MaxLength=128
	// +kubebuilder:validation:items:Pattern=`^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$`
	// +listType=set
	// +optional
	TrustedPrincipalARNs []string `json:"trustedPrincipalArns,omitempty"`

	// OrganizationID, when set, requires the caller to be in this AWS
	// Organizations organization (aws:PrincipalOrgID). Default (with
	// functionNames): the platform's.
	// +kubebuilder:validation:Pattern=`^o-[a-z0-9]{10,32}$`
	// +optional
	OrganizationID string `json:"organizationId,omitempty"`

	// ExternalID, when set, must be passed by the caller of AssumeRole
	// (sts:ExternalId). STS allows 1,224 characters; 256 keep the trust
	// policy within IAM's 2,048.
	// +kubebuilder:validation:MinLength=2
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9+=,.@:/_-]+$`
	// +optional
	ExternalID string `json:"externalId,omitempty"`

	// ImageRepositoryARNs are the ECR repositories, in the trusted accounts
	// and spec.region, whose images the callers deploy here: their
	// pipelines' own repositories (status.ecrRepositoryUri of their
	// claims). Required with trustedAccountIds: Lambda requires the caller
	// of UpdateFunctionCode to be able to read the image, so the role may
	// read these. At most 10 of at most 128 characters, so that the role's
	// policy fits IAM's 6,144 characters.
	// +kubebuilder:validation:MaxItems=10
	// +kubebuilder:validation:items:MaxLength=128
	// +kubebuilder:validation:items:Pattern=`^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/[a-z0-9][a-z0-9._/-]*$`
	// +listType=set
	// +optional
	ImageRepositoryARNs []string `json:"imageRepositoryArns,omitempty"`

	// FunctionNames are the functions in this account and spec.region that
	// the callers may update (and whose versions and aliases they may
	// manage): names, or ARNs. Required with trustedAccountIds.
	// +kubebuilder:validation:MaxItems=10
	// +kubebuilder:validation:items:MaxLength=140
	// +kubebuilder:validation:items:Pattern=`^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:)?[A-Za-z0-9_-]{1,64}$`
	// +listType=set
	// +optional
	FunctionNames []string `json:"functionNames,omitempty"`
}

// XCicdPipelineStatus is what the pipeline reports back. Every output comes
// from the observed state of a composed resource, never from a guess;
// effective says which values the pipeline was composed with.
type XCicdPipelineStatus struct {
	// PipelineName is the CodePipeline's name.
	// +optional
	PipelineName string `json:"pipelineName,omitempty"`
	// PipelineARN is the CodePipeline's ARN.
	// +optional
	PipelineARN string `json:"pipelineArn,omitempty"`
	// PipelineURL is the CodePipeline's console URL.
	// +optional
	PipelineURL string `json:"pipelineUrl,omitempty"`
	// ECRRepositoryURI is where the build pushes images.
	// +optional
	ECRRepositoryURI string `json:"ecrRepositoryUri,omitempty"`
	// LambdaFunctionARN is the deployer Lambda's ARN.
	// +optional
	LambdaFunctionARN string `json:"lambdaFunctionArn,omitempty"`
	// DeploymentTableName is the DynamoDB deployment-history table.
	// +optional
	DeploymentTableName string `json:"deploymentTableName,omitempty"`
	// ArtifactBucketName is the pipeline's artifact bucket.
	// +optional
	ArtifactBucketName string `json:"artifactBucketName,omitempty"`
	// NotificationTopicARN is the SNS topic failures are sent to.
	// +optional
	NotificationTopicARN string `json:"notificationTopicArn,omitempty"`
	// ConnectionARN is the CodeStar connection the Source stage uses.
	// +optional
	ConnectionARN string `json:"connectionArn,omitempty"`
	// ConnectionStatus is PENDING until someone completes the connection's
	// handshake in the AWS console, then AVAILABLE.
	// +optional
	ConnectionStatus string `json:"connectionStatus,omitempty"`
	// CrossAccountRoleARN is the cross-account deployment role.
	// +optional
	CrossAccountRoleARN string `json:"crossAccountRoleArn,omitempty"`
	// Effective are the resolved values of the fields a platform can
	// default, each with its source: the claim, a platform
	// EnvironmentConfig, the built-in default, or (for the region) the
	// region the pipeline's resources are in.
	// +listType=map
	// +listMapKey=field
	// +optional
	Effective []EffectiveValue `json:"effective,omitempty"`
}
