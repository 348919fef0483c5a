// Package badclaims is the catalogue of claims the XRD must reject, shared
// by the XRD's tests (kube-apiserver's validation) and the function's
// (which checks the same rules again for render and older XRs).
//
// It is test support, not product code: nothing in the product imports it.
package badclaims

import "strings"

// HostARN is a registered GitHub Enterprise Server host, in the format
// CodeConnections gives it.
const HostARN = "arn:aws:codeconnections:us-east-1:123456789012:host/ghes-1a2b3c4d"

// Claim is a claim the XRD rejects (with Old, as an update of Old), and
// what the error must contain.
type Claim struct {
	// Spec and Old are the claim's spec, as YAML indented under "spec:".
	Spec string
	Old  string
	Want []string
	// Transition is true for a rule that only an update can break
	// (self == oldSelf): the function, which sees no old object, cannot.
	Transition bool
}

// Catalogue returns the claims the XRD rejects, by name: at least one for
// every CEL rule (the xrd package's tests check), with the rule's whole
// message.
func Catalogue() map[string]Claim {
	const ok = "  environmentSuffix: dev\n  source:\n    repository: acme/shop\n"
	// The region rules compare with spec.region only when the claim sets it
	// (the platform may default it); the function checks them on the
	// effective spec either way.
	//
	// A cross-account role that trusts one account's deployer role.
	const (
		trusted = "  crossAccount:\n    trustedAccountIds: [\"444455556666\"]\n    trustedPrincipalArns: [\"arn:aws:iam::444455556666:role/deployer\"]\n"
		repo    = "    imageRepositoryArns: [\"arn:aws:ecr:us-east-1:444455556666:repository/shop-images-dev\"]\n"
		fns     = "    functionNames: [api]\n"
	)
	return map[string]Claim{
		"MissingSuffix": {
			Spec: "  source:\n    repository: acme/shop\n",
			Want: []string{"spec.environmentSuffix: Required value"},
		},
		"MissingSource": {
			Spec: "  environmentSuffix: dev\n",
			Want: []string{"spec.source: Required value"},
		},
		"SuffixPattern": {
			Spec: "  environmentSuffix: Prod_1\n  source:\n    repository: acme/shop\n",
			Want: []string{`spec.environmentSuffix: Invalid value: "Prod_1": spec.environmentSuffix in body should match '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'`},
		},
		"SuffixTooLong": {
			Spec: "  environmentSuffix: production-eu-1\n  source:\n    repository: acme/shop\n",
			Want: []string{"spec.environmentSuffix: Too long: may not be more than 12 bytes"},
		},
		"BadProviderEnum": {
			Spec: "  environmentSuffix: dev\n  source:\n    provider: Gitea\n    repository: acme/shop\n",
			Want: []string{`spec.source.provider: Unsupported value: "Gitea": supported values: "GitHub", "GitHubEnterpriseServer", "Bitbucket", "GitLab", "CodeCommit"`},
		},
		"BadComputeType": {
			Spec: ok + "  build:\n    computeType: HUGE\n",
			Want: []string{`spec.build.computeType: Unsupported value: "HUGE"`},
		},
		"RepositoryNotOwnerName": {
			Spec: "  environmentSuffix: dev\n  source:\n    repository: shop\n",
			Want: []string{"spec: Invalid value: spec.source.repository must be owner/name (for example acme/shop) when spec.source.provider is not CodeCommit"},
		},
		"CodeCommitRepositoryNotAName": {
			Spec: "  environmentSuffix: dev\n  source:\n    provider: CodeCommit\n    repository: acme/shop\n",
			Want: []string{"spec.source.repository must be a CodeCommit repository name (letters, digits, '.', '_' and '-', at most 100) when spec.source.provider is CodeCommit"},
		},
		"CodeCommitRepositoryTooLong": {
			Spec: "  environmentSuffix: dev\n  source:\n    provider: CodeCommit\n    repository: " + strings.Repeat("r", 101) + "\n",
			Want: []string{"spec.source.repository must be a CodeCommit repository name (letters, digits, '.', '_' and '-', at most 100) when spec.source.provider is CodeCommit"},
		},
		"ConnectionWithCodeCommit": {
			Spec: "  environmentSuffix: dev\n  source:\n    provider: CodeCommit\n    repository: shop\n    connectionArn: arn:aws:codeconnections:us-east-1:123456789012:connection/abc\n",
			Want: []string{"spec.source.connectionArn must not be set when spec.source.provider is CodeCommit: CodeCommit needs no connection"},
		},
		"EnterpriseWithoutHost": {
			Spec: "  environmentSuffix: dev\n  source:\n    provider: GitHubEnterpriseServer\n    repository: acme/shop\n",
			Want: []string{"spec.source.provider GitHubEnterpriseServer needs spec.source.hostArn (the registered host) or an existing spec.source.connectionArn"},
		},
		"HostWithoutEnterprise": {
			Spec: "  environmentSuffix: dev\n  source:\n    provider: GitHub\n    repository: acme/shop\n    hostArn: " + HostARN + "\n",
			Want: []string{"spec.source.hostArn is only valid when spec.source.provider is GitHubEnterpriseServer"},
		},
		"TestCommandsAndBuildspec": {
			Spec: ok + "  test:\n    commands: [make test]\n    buildspec: buildspec.yml\n",
			Want: []string{"spec.test.commands and spec.test.buildspec are mutually exclusive"},
		},
		"DeployerImageNotECR": {
			Spec: ok + "  deployer:\n    image: docker.io/library/deployer:latest\n",
			Want: []string{"spec.deployer.image: Invalid value: \"docker.io/library/deployer:latest\""},
		},
		"DeployerImageWithoutTargets": {
			Spec: ok + "  deployer:\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/deployer:v1\n",
			Want: []string{"spec.deployer.targets must name at least one function when spec.deployer.image is set"},
		},
		"BadAccountID": {
			Spec: ok + "  crossAccount:\n    trustedAccountIds: [\"1234\"]\n",
			Want: []string{`spec.crossAccount.trustedAccountIds[0]: Invalid value: "1234"`},
		},
		"BadEmail": {
			Spec: ok + "  notifications:\n    emails: [oncall]\n",
			Want: []string{`spec.notifications.emails[0]: Invalid value: "oncall"`},
		},
		"RetentionOutOfRange": {
			Spec: ok + "  artifacts:\n    retentionDays: 0\n",
			Want: []string{"spec.artifacts.retentionDays: Invalid value: 0: spec.artifacts.retentionDays in body should be greater than or equal to 1"},
		},
		"ReservedTag": {
			Spec: ok + "  tags:\n    aws:owner: me\n",
			Want: []string{"spec.tags keys must be at most 128 characters and must not start with 'aws:'"},
		},
		"TagKeyTooLong": {
			Spec: ok + "  tags:\n    " + strings.Repeat("k", 129) + ": v\n",
			Want: []string{"spec.tags keys must be at most 128 characters and must not start with 'aws:'"},
		},
		"TagValueTooLong": {
			Spec: ok + "  tags:\n    team: " + strings.Repeat("v", 257) + "\n",
			Want: []string{"spec.tags values must be at most 256 characters"},
		},
		"DeletionPolicyEnum": {
			Spec: ok + "  deletionPolicy: Keep\n",
			Want: []string{`spec.deletionPolicy: Unsupported value: "Keep": supported values: "Delete", "Orphan"`},
		},
		"UnknownField": {
			Spec: ok + "  enviromentSuffix: prod\n",
			Want: []string{"spec.enviromentSuffix: Invalid value: \"\": field not declared in schema"},
		},
		"ChangedSuffix": {
			Spec:       "  environmentSuffix: prod\n  source:\n    repository: acme/shop\n",
			Old:        ok,
			Transition: true,
			Want:       []string{"spec.environmentSuffix is immutable: create a new claim for a new environment"},
		},
		"ChangedRegion": {
			Spec: ok + "  region: eu-west-1\n",
			// Without spec.region there is no schema default to compare
			// with: the function refuses a region other than the one its
			// resources are in (fn TestPlatformRegionPinned).
			Old:        ok + "  region: us-east-1\n",
			Transition: true,
			Want:       []string{"spec.region is immutable: create a new claim for another region"},
		},
		"BuildKitImplicitDockerHub": {
			Spec: ok + "  build:\n    buildkitImage: moby/buildkit:buildx-stable-1\n",
			Want: []string{`spec.build.buildkitImage: Invalid value: "moby/buildkit:buildx-stable-1"`},
		},
		"CrossAccountPrincipalOutsideAccounts": {
			Spec: ok + "  crossAccount:\n    trustedAccountIds: [\"444455556666\"]\n    trustedPrincipalArns: [\"arn:aws:iam::555566667777:role/deployer\"]\n",
			Want: []string{"spec.crossAccount.trustedPrincipalArns must be in spec.crossAccount.trustedAccountIds"},
		},
		"CrossAccountUnscoped": {
			Spec: ok + "  crossAccount:\n    trustedAccountIds: [\"444455556666\"]\n",
			Want: []string{"spec.crossAccount needs trustedPrincipalArns or organizationId to scope who may assume the role"},
		},
		"DeployerImageInOtherRegion": {
			Spec: ok + "  region: us-east-1\n" + "  deployer:\n    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/deployer:v1\n    targets:\n      - functionName: api\n",
			Want: []string{"spec.deployer.image must be in an ECR repository in spec.region: Lambda runs an image only from its own region"},
		},
		"TargetExternalIDWithoutRole": {
			Spec: ok + "  deployer:\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/deployer:v1\n    targets:\n      - functionName: api\n        externalId: deploy-2026\n",
			Want: []string{"spec.deployer.targets[*].externalId is only valid with roleArn"},
		},
		"TargetAliasOfDigits": {
			Spec: ok + "  deployer:\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/deployer:v1\n    targets:\n      - functionName: api\n        alias: \"2026\"\n",
			Want: []string{"spec.deployer.targets[*].alias must not be digits only: Lambda reads that as a version number"},
		},
		"TargetInOtherRegion": {
			Spec: ok + "  region: us-east-1\n" + "  deployer:\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/deployer:v1\n    targets:\n      - functionName: arn:aws:lambda:eu-west-1:444455556666:function:api\n        roleArn: arn:aws:iam::444455556666:role/deploy\n",
			Want: []string{"spec.deployer.targets must be functions in spec.region: Lambda runs an image only from an ECR repository in its own region"},
		},
		"TargetRoleInOtherAccount": {
			Spec: ok + "  deployer:\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/deployer:v1\n    targets:\n      - functionName: arn:aws:lambda:us-east-1:444455556666:function:api\n        roleArn: arn:aws:iam::555566667777:role/deploy\n",
			Want: []string{"spec.deployer.targets[*].roleArn must be a role in the function's account, and the function must be named by ARN"},
		},
		"TargetRoleWithPlainName": {
			Spec: ok + "  deployer:\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/deployer:v1\n    targets:\n      - functionName: api\n        roleArn: arn:aws:iam::555566667777:role/deploy\n",
			Want: []string{"spec.deployer.targets[*].roleArn must be a role in the function's account, and the function must be named by ARN"},
		},
		"CrossAccountWithoutRepositories": {
			Spec: ok + trusted + fns,
			Want: []string{"spec.crossAccount.trustedAccountIds needs imageRepositoryArns (the callers' ECR repositories) and functionNames (the functions here they deploy)"},
		},
		"CrossAccountWithoutFunctions": {
			Spec: ok + trusted + repo,
			Want: []string{"spec.crossAccount.trustedAccountIds needs imageRepositoryArns (the callers' ECR repositories) and functionNames (the functions here they deploy)"},
		},
		"CrossAccountRepositoryOutsideTrustedAccounts": {
			Spec: ok + trusted + fns + "    imageRepositoryArns: [\"arn:aws:ecr:us-east-1:555566667777:repository/shop-images-dev\"]\n",
			Want: []string{"spec.crossAccount.imageRepositoryArns must be in spec.crossAccount.trustedAccountIds"},
		},
		"CrossAccountRepositoryInOtherRegion": {
			Spec: ok + "  region: us-east-1\n" + trusted + fns + "    imageRepositoryArns: [\"arn:aws:ecr:eu-west-1:444455556666:repository/shop-images-dev\"]\n",
			Want: []string{"spec.crossAccount.imageRepositoryArns must be in spec.region: Lambda runs an image only from an ECR repository in its own region"},
		},
		"CrossAccountRepositoryNotAnARN": {
			Spec: ok + trusted + fns + "    imageRepositoryArns: [\"444455556666.dkr.ecr.us-east-1.amazonaws.com/shop\"]\n",
			Want: []string{`spec.crossAccount.imageRepositoryArns[0]: Invalid value: "444455556666.dkr.ecr.us-east-1.amazonaws.com/shop"`},
		},
		"CrossAccountFunctionInOtherRegion": {
			Spec: ok + "  region: us-east-1\n" + trusted + repo + "    functionNames: [\"arn:aws:lambda:eu-west-1:123456789012:function:api\"]\n",
			Want: []string{"spec.crossAccount.functionNames must be functions in spec.region"},
		},
		"TopicKeyByAlias": {
			Spec: ok + "  notifications:\n    kmsKeyArn: arn:aws:kms:us-east-1:123456789012:alias/cicd\n",
			Want: []string{`spec.notifications.kmsKeyArn: Invalid value: "arn:aws:kms:us-east-1:123456789012:alias/cicd"`},
		},
		"TopicKeyAWSManaged": {
			Spec: ok + "  notifications:\n    kmsKeyArn: arn:aws:kms:us-east-1:123456789012:alias/aws/sns\n",
			Want: []string{`spec.notifications.kmsKeyArn: Invalid value: "arn:aws:kms:us-east-1:123456789012:alias/aws/sns"`},
		},
	}
}
