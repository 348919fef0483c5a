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
	"regexp"
	"strings"

	"github.com/crossplane/function-sdk-go/errors"
	"github.com/crossplane/function-sdk-go/resource"
)

// Names are the AWS names of a pipeline's resources, by composed resource
// name.
type Names map[resource.Name]string

// Limit is AWS's constraint on one kind of name.
type Limit struct {
	Kind string
	Max  int
	// Pattern the name must match, beside the length.
	Pattern *regexp.Regexp
}

var (
	lowerDNS   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*[a-z0-9]$`)
	identifier = regexp.MustCompile(`^[A-Za-z0-9_.+=,@-]+$`)
)

// AWS's name limits of the kinds a pipeline names.
var (
	S3Bucket           = Limit{Kind: "S3 bucket", Max: 63, Pattern: lowerDNS}
	ECRRepository      = Limit{Kind: "ECR repository", Max: 256, Pattern: lowerDNS}
	CodeBuildProject   = Limit{Kind: "CodeBuild project", Max: 150, Pattern: identifier}
	CodePipeline       = Limit{Kind: "CodePipeline", Max: 100, Pattern: identifier}
	CodeStarConnection = Limit{Kind: "CodeStar connection", Max: 32, Pattern: identifier}
	LambdaFunction     = Limit{Kind: "Lambda function", Max: 64, Pattern: identifier}
	DynamoDBTable      = Limit{Kind: "DynamoDB table", Max: 255, Pattern: identifier}
	SNSTopic           = Limit{Kind: "SNS topic", Max: 256, Pattern: identifier}
	CloudWatchAlarm    = Limit{Kind: "CloudWatch alarm", Max: 255, Pattern: identifier}
	EventBridgeRule    = Limit{Kind: "EventBridge rule", Max: 64, Pattern: identifier}
	IAMRole            = Limit{Kind: "IAM role", Max: 64, Pattern: identifier}
)

// A Rule says how one resource is named in AWS: either
// {prefix}-{Purpose}-{suffix} within Limit, or Path followed by the name of
// the resource Of (a log group after the project or function logging to it,
// a policy after its role). The zero Rule: AWS or the provider names it.
type Rule struct {
	Purpose string
	Limit   Limit
	Of      resource.Name
	Path    string
}

// Named reports whether the rule gives the resource an AWS name.
func (r Rule) Named() bool { return r.Purpose != "" || r.Of != "" }

// prefix returns the name prefix for an XR name.
func prefix(xrName string) string {
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

// Named is the rule of one resource.
type Named struct {
	Name resource.Name
	Rule Rule
}

// For returns the AWS names rules give, each within its AWS limit
// (shortened by fit where needed), or an error naming the first that cannot
// be made to fit. A name after another resource's (Of)
// fits when that one does: log groups allow 512 characters, IAM policies
// 128, and the names they follow (projects, functions, roles) fit 150 or
// fewer.
func For(xrName, suffix string, rules []Named) (Names, error) {
	p := prefix(xrName)
	if p == "" {
		return nil, errors.New("metadata.name: the composite resource has no name")
	}
	names := make(Names, len(rules))
	for _, n := range rules {
		k, r := n.Name, n.Rule
		if r.Purpose == "" {
			continue
		}
		name, full := fit(p, r.Purpose, suffix, r.Limit.Max)
		if name == "" {
			return nil, errors.Errorf("metadata.name: the %s name for purpose %q cannot fit AWS's limit of %d even shortened (%s); shorten spec.environmentSuffix", r.Limit.Kind, r.Purpose, r.Limit.Max, full)
		}
		if err := r.Limit.check(name); err != nil {
			return nil, err
		}
		names[k] = name
	}
	for _, n := range rules {
		k, r := n.Name, n.Rule
		if r.Of == "" {
			continue
		}
		of, ok := names[r.Of]
		if !ok {
			return nil, errors.Errorf("%s is named after %s, which has no fitted name", k, r.Of)
		}
		names[k] = r.Path + of
	}
	return names, nil
}

// check returns an error naming the limit name breaks, or nil.
func (l Limit) check(name string) error {
	if len(name) > l.Max {
		return errors.Errorf("metadata.name: the %s name %q is %d characters, over AWS's limit of %d", l.Kind, name, len(name), l.Max)
	}
	if !l.Pattern.MatchString(name) {
		return errors.Errorf("metadata.name: the %s name %q has characters AWS does not allow (%s)", l.Kind, name, l.Pattern)
	}
	return nil
}
