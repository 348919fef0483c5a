// Package naming derives the AWS names of a pipeline's resources and checks
// them against AWS's limits.
//
// Every name is {prefix}-{purpose}-{environmentSuffix}. The prefix is the
// XR's name: for a claim, Crossplane names the XR after the claim plus a
// random five-character suffix (claim "shop" -> XR "shop-x7k2p"), so two
// claims of the same name in different namespaces never collide, and S3
// bucket names are unlikely to collide with anyone else's. Dots, valid in
// Kubernetes names but not in Lambda or EventBridge names, become dashes.
package naming

import (
	"fmt"
	"regexp"
	"strings"
)

// Names of every AWS resource a pipeline may compose.
type Names struct {
	Repository      string
	ArtifactBucket  string
	CacheBucket     string
	BuildProject    string
	TestProject     string
	Pipeline        string
	Connection      string
	DeployerLambda  string
	DeploymentTable string
	Topic           string
	ErrorsAlarm     string
	FailedRule      string
	SourcePushRule  string

	CodeBuildRole    string
	CodePipelineRole string
	DeployerRole     string
	EventsRole       string
	CrossAccountRole string
}

// limit is AWS's constraint on one kind of name.
type limit struct {
	kind string
	max  int
	// pattern the name must match, beside the length.
	pattern *regexp.Regexp
}

var (
	lowerDNS   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*[a-z0-9]$`)
	identifier = regexp.MustCompile(`^[A-Za-z0-9_.+=,@-]+$`)

	s3Bucket    = limit{kind: "S3 bucket", max: 63, pattern: lowerDNS}
	ecrRepo     = limit{kind: "ECR repository", max: 256, pattern: lowerDNS}
	codebuild   = limit{kind: "CodeBuild project", max: 150, pattern: identifier}
	pipeline    = limit{kind: "CodePipeline", max: 100, pattern: identifier}
	connection  = limit{kind: "CodeStar connection", max: 32, pattern: identifier}
	lambdaFn    = limit{kind: "Lambda function", max: 64, pattern: identifier}
	dynamoTable = limit{kind: "DynamoDB table", max: 255, pattern: identifier}
	snsTopic    = limit{kind: "SNS topic", max: 256, pattern: identifier}
	alarm       = limit{kind: "CloudWatch alarm", max: 255, pattern: identifier}
	eventRule   = limit{kind: "EventBridge rule", max: 64, pattern: identifier}
	iamRole     = limit{kind: "IAM role", max: 64, pattern: identifier}
)

// A LengthError says which name does not fit and by how much.
type LengthError struct {
	Kind  string
	Name  string
	Max   int
	Over  int
	Field string
}

func (e *LengthError) Error() string {
	return fmt.Sprintf("%s: the %s name %q would be %d characters, %d over AWS's limit of %d; shorten the claim's name (metadata.name) or spec.environmentSuffix by at least %d characters",
		e.Field, e.Kind, e.Name, len(e.Name), e.Over, e.Max, e.Over)
}

// Prefix returns the name prefix for an XR name.
func Prefix(xrName string) string {
	return strings.ReplaceAll(strings.ToLower(xrName), ".", "-")
}

// For returns the names of a pipeline's resources, or an error naming the
// first that breaks an AWS limit. Policies share their role's name; IAM
// allows 128 characters for those, so roles are the binding limit.
func For(xrName, suffix string) (*Names, error) {
	p := Prefix(xrName)
	if p == "" {
		return nil, fmt.Errorf("metadata.name: the composite resource has no name")
	}
	n := func(purpose string) string { return p + "-" + purpose + "-" + suffix }
	names := &Names{
		Repository:      n("images"),
		ArtifactBucket:  n("artifacts"),
		CacheBucket:     n("build-cache"),
		BuildProject:    n("build"),
		TestProject:     n("test"),
		Pipeline:        n("pipeline"),
		Connection:      n("src"),
		DeployerLambda:  n("deployer"),
		DeploymentTable: n("deployments"),
		Topic:           n("notifications"),
		ErrorsAlarm:     n("deployer-errors"),
		FailedRule:      n("pipeline-failed"),
		SourcePushRule:  n("source-push"),

		CodeBuildRole:    n("codebuild"),
		CodePipelineRole: n("codepipeline"),
		DeployerRole:     n("deployer"),
		EventsRole:       n("events"),
		CrossAccountRole: n("cross-account"),
	}
	checks := []struct {
		name string
		l    limit
	}{
		{names.Repository, ecrRepo},
		{names.ArtifactBucket, s3Bucket},
		{names.CacheBucket, s3Bucket},
		{names.BuildProject, codebuild},
		{names.TestProject, codebuild},
		{names.Pipeline, pipeline},
		{names.Connection, connection},
		{names.DeployerLambda, lambdaFn},
		{names.DeploymentTable, dynamoTable},
		{names.Topic, snsTopic},
		{names.ErrorsAlarm, alarm},
		{names.FailedRule, eventRule},
		{names.SourcePushRule, eventRule},
		{names.CodeBuildRole, iamRole},
		{names.CodePipelineRole, iamRole},
		{names.DeployerRole, iamRole},
		{names.EventsRole, iamRole},
		{names.CrossAccountRole, iamRole},
	}
	for _, c := range checks {
		if err := c.l.check(c.name); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// check returns an error naming the limit name breaks, or nil.
func (l limit) check(name string) error {
	if over := len(name) - l.max; over > 0 {
		return &LengthError{Kind: l.kind, Name: name, Max: l.max, Over: over, Field: "metadata.name"}
	}
	if !l.pattern.MatchString(name) {
		return fmt.Errorf("metadata.name: the %s name %q has characters AWS does not allow (%s)", l.kind, name, l.pattern)
	}
	return nil
}
