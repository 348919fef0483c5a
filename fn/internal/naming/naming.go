// Package naming derives the AWS names of a pipeline's resources within
// AWS's limits.
//
// Every name is {prefix}-{purpose}-{environmentSuffix}; one that would
// exceed its limit gets a shortened prefix followed by a hash of the full
// name (see fit). The prefix is the
// XR's name: for a claim, Crossplane names the XR after the claim plus a
// random five-character suffix (claim "shop" -> XR "shop-x7k2p"), so two
// claims of the same name in different namespaces never collide, and S3
// bucket names are unlikely to collide with anyone else's. Dots, valid in
// Kubernetes names but not in Lambda or EventBridge names, become dashes.
package naming

import (
	"crypto/sha256"
	"encoding/hex"
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
	RollbackAlarm   string
	FailedRule      string
	SourcePushRule  string

	// Log groups: where CodeBuild and Lambda would log by default.
	BuildLogGroup    string
	TestLogGroup     string
	DeployerLogGroup string

	CodeBuildRole     string
	CodeBuildTestRole string
	CodePipelineRole  string
	DeployerRole      string
	EventsRole        string
	CrossAccountRole  string
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

// Prefix returns the name prefix for an XR name.
func Prefix(xrName string) string {
	return strings.ReplaceAll(strings.ToLower(xrName), ".", "-")
}

// hashLength is how many hex digits of the full name's SHA-256 a shortened
// name keeps: 8, as AWS CDK's generated names do.
const hashLength = 8

// fit returns prefix-purpose-suffix if it is within limit characters.
// Otherwise it shortens the prefix and puts a hash of the full name after
// it, so the name keeps its purpose and environment suffix, stays unique per
// XR (the full name has the XR's name) and is the same on every reconcile.
// It returns "" when even the hash, purpose and suffix alone do not fit.
func fit(prefix, purpose, suffix string, limit int) (name, full string) {
	full = prefix + "-" + purpose + "-" + suffix
	if len(full) <= limit {
		return full, full
	}
	sum := sha256.Sum256([]byte(full))
	hash := hex.EncodeToString(sum[:])[:hashLength]
	tail := hash + "-" + purpose + "-" + suffix
	keep := limit - len(tail) - 1
	if keep < 0 {
		if len(tail) <= limit {
			return tail, full
		}
		return "", full
	}
	head := strings.TrimRight(prefix[:min(keep, len(prefix))], "-")
	if head == "" {
		return tail, full
	}
	return head + "-" + tail, full
}

// For returns the names of a pipeline's resources, each within its AWS
// limit (shortened by fit where needed), or an error naming the first that
// cannot be made to fit. Policies share their role's name; IAM allows 128
// characters for those, so roles are the binding limit.
func For(xrName, suffix string) (*Names, error) {
	p := Prefix(xrName)
	if p == "" {
		return nil, fmt.Errorf("metadata.name: the composite resource has no name")
	}
	var err error
	n := func(purpose string, l limit) string {
		name, full := fit(p, purpose, suffix, l.max)
		if err != nil {
			return name
		}
		if name == "" {
			err = fmt.Errorf("metadata.name: the %s name for purpose %q cannot fit AWS's limit of %d even shortened (%s); shorten spec.environmentSuffix", l.kind, purpose, l.max, full)
			return ""
		}
		err = l.check(name)
		return name
	}
	names := &Names{
		Repository:      n("images", ecrRepo),
		ArtifactBucket:  n("artifacts", s3Bucket),
		CacheBucket:     n("build-cache", s3Bucket),
		BuildProject:    n("build", codebuild),
		TestProject:     n("test", codebuild),
		Pipeline:        n("pipeline", pipeline),
		Connection:      n("src", connection),
		DeployerLambda:  n("deployer", lambdaFn),
		DeploymentTable: n("deployments", dynamoTable),
		Topic:           n("notifications", snsTopic),
		ErrorsAlarm:     n("deployer-errors", alarm),
		RollbackAlarm:   n("rollback-failed", alarm),
		FailedRule:      n("pipeline-failed", eventRule),
		SourcePushRule:  n("source-push", eventRule),

		CodeBuildRole:     n("codebuild", iamRole),
		CodeBuildTestRole: n("codebuild-test", iamRole),
		CodePipelineRole:  n("codepipeline", iamRole),
		DeployerRole:      n("deployer", iamRole),
		EventsRole:        n("events", iamRole),
		CrossAccountRole:  n("cross-account", iamRole),
	}
	if err != nil {
		return nil, err
	}
	// CodeBuild and Lambda log to these groups by default; the function
	// composes them under the same names. The project and function names
	// fit their limits, so the groups fit theirs (512).
	names.BuildLogGroup = "/aws/codebuild/" + names.BuildProject
	names.TestLogGroup = "/aws/codebuild/" + names.TestProject
	names.DeployerLogGroup = "/aws/lambda/" + names.DeployerLambda
	return names, nil
}

// check returns an error naming the limit name breaks, or nil.
func (l limit) check(name string) error {
	if len(name) > l.max {
		return fmt.Errorf("metadata.name: the %s name %q is %d characters, over AWS's limit of %d", l.kind, name, len(name), l.max)
	}
	if !l.pattern.MatchString(name) {
		return fmt.Errorf("metadata.name: the %s name %q has characters AWS does not allow (%s)", l.kind, name, l.pattern)
	}
	return nil
}
