package compose

import (
	"github.com/crossplane/function-sdk-go/resource/composed"
	"k8s.io/apimachinery/pkg/runtime"

	cloudwatch "github.com/upbound/provider-aws/v2/apis/cluster/cloudwatch/v1beta1"
	cloudwatchevents "github.com/upbound/provider-aws/v2/apis/cluster/cloudwatchevents/v1beta1"
	cloudwatchlogs "github.com/upbound/provider-aws/v2/apis/cluster/cloudwatchlogs/v1beta1"
	codebuild "github.com/upbound/provider-aws/v2/apis/cluster/codebuild/v1beta1"
	codepipeline "github.com/upbound/provider-aws/v2/apis/cluster/codepipeline/v1beta1"
	codestarconnections "github.com/upbound/provider-aws/v2/apis/cluster/codestarconnections/v1beta1"
	dynamodb "github.com/upbound/provider-aws/v2/apis/cluster/dynamodb/v1beta1"
	ecr "github.com/upbound/provider-aws/v2/apis/cluster/ecr/v1beta1"
	iam "github.com/upbound/provider-aws/v2/apis/cluster/iam/v1beta1"
	lambda "github.com/upbound/provider-aws/v2/apis/cluster/lambda/v1beta1"
	s3 "github.com/upbound/provider-aws/v2/apis/cluster/s3/v1beta1"
	sns "github.com/upbound/provider-aws/v2/apis/cluster/sns/v1beta1"
)

// schemeBuilder registers the typed managed resources the builders use.
var schemeBuilder = runtime.NewSchemeBuilder(
	cloudwatch.AddToScheme,
	cloudwatchevents.AddToScheme,
	cloudwatchlogs.AddToScheme,
	codebuild.AddToScheme,
	codepipeline.AddToScheme,
	codestarconnections.AddToScheme,
	dynamodb.AddToScheme,
	ecr.AddToScheme,
	iam.AddToScheme,
	lambda.AddToScheme,
	s3.AddToScheme,
	sns.AddToScheme,
)

// composed.From needs the typed structs' kinds in composed.Scheme, a global
// of the SDK, so they are registered once when the package loads.
func init() { //nolint:gochecknoinits // composed.Scheme is a package global of the SDK.
	if err := schemeBuilder.AddToScheme(composed.Scheme); err != nil {
		panic(err) // Only fails for conflicting registrations: a programming error.
	}
}
