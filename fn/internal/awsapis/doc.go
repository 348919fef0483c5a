// Package awsapis holds the provider-aws API types the function composes,
// copied from the provider's module at the version go.mod requires: for
// each kind in Kinds, in both scopes (cluster/<group>/v1beta1 and
// namespaced/<group>/v1beta1), its zz_<kind>_types.go, the package's
// zz_groupversion_info.go and the deep copies of those types; and per scope
// a scheme.go (packages cluster and namespaced) whose Kinds list every
// generated kind, which package compose uses, and whose AddToScheme
// registers them, which tests use. The copies are the provider's files as
// they are but for two things. The provider registers each kind in its
// group's scheme.Builder when the package is initialized, which the copies
// leave to AddToScheme so that they run no code when the function starts
// (gen/register.go). And they leave out spec.initProvider and
// status.atProvider and their types, which the function never sets
// (gen/unset.go). The provider's
// own packages also hold every other kind of the group and, for each kind,
// the managed-resource methods, reference resolvers and Terraform
// conversions, which import upjet and the Terraform SDK; the function uses
// none of them, only the structs and their JSON, and linking them made the
// binary about 15 MB larger, slower to start and larger in memory.
//
// The copies are generated (go generate ./fn/internal/awsapis, which runs
// ./gen) and never edited; TestGeneratedFresh regenerates them and fails if
// they differ, so a provider upgrade in go.mod regenerates rather than drifts.
package awsapis

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

//go:generate go run ./gen

// Kind is a kind the function composes: its group, version and kind, and a
// value of its Go type.
type Kind struct {
	GVK    schema.GroupVersionKind
	Object runtime.Object
}

// Kinds are the provider-aws kinds the function composes, by API group (the
// part before .aws.upbound.io), all at v1beta1. TestKindsAreComponents in
// package compose keeps them equal to the component registry.
var Kinds = map[string][]string{
	"cloudwatch":          {"MetricAlarm"},
	"cloudwatchevents":    {"Rule", "Target"},
	"cloudwatchlogs":      {"Group"},
	"codebuild":           {"Project"},
	"codepipeline":        {"Codepipeline"},
	"codestarconnections": {"Connection"},
	"dynamodb":            {"Table", "TableItem"},
	"ecr":                 {"Repository", "LifecyclePolicy", "RepositoryPolicy"},
	"iam":                 {"Role", "Policy", "RolePolicyAttachment"},
	"lambda":              {"Function"},
	"s3": {
		"Bucket", "BucketVersioning", "BucketServerSideEncryptionConfiguration",
		"BucketLifecycleConfiguration", "BucketPublicAccessBlock", "BucketPolicy",
	},
	"sns": {"Topic", "TopicPolicy", "TopicSubscription"},
}

// Version is the API version of every kind in Kinds.
const Version = "v1beta1"

// Scopes are the provider's API trees the kinds are copied from.
var Scopes = []string{"cluster", "namespaced"}
