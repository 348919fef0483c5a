package compose

import (
	"testing"

	"github.com/crossplane/function-sdk-go/resource"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/observe"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providerfake"
)

// deriving is a composer for the XR shop-x7k2p (environment dev) in region,
// with the account known, and these resources observed.
func deriving(t *testing.T, region, account string, observed observe.Resources) *composer {
	t.Helper()
	names, err := AWSNames("shop-x7k2p", "dev")
	if err != nil {
		t.Fatal(err)
	}
	return &composer{in: Input{Spec: v1alpha1.XCicdPipelineSpec{PipelineParameters: v1alpha1.PipelineParameters{Region: region}}, Names: names, AccountID: account, Observed: observed}}
}

// TestDerivedARNs pins each format AWS documents (arnFormats cites the
// page), in the aws and aws-cn partitions: IAM and S3 ARNs have no region,
// S3 bucket ARNs no account.
func TestDerivedARNs(t *testing.T) {
	const account = "123456789012"
	cases := []struct {
		name       resource.Name
		aws, awsCN string
	}{
		{ECRRepository, "arn:aws:ecr:eu-west-1:123456789012:repository/shop-x7k2p-images-dev", "arn:aws-cn:ecr:cn-north-1:123456789012:repository/shop-x7k2p-images-dev"},
		{ArtifactBucket, "arn:aws:s3:::shop-x7k2p-artifacts-dev", "arn:aws-cn:s3:::shop-x7k2p-artifacts-dev"},
		{CacheBucket, "arn:aws:s3:::shop-x7k2p-build-cache-dev", "arn:aws-cn:s3:::shop-x7k2p-build-cache-dev"},
		{BuildProject, "arn:aws:codebuild:eu-west-1:123456789012:project/shop-x7k2p-build-dev", "arn:aws-cn:codebuild:cn-north-1:123456789012:project/shop-x7k2p-build-dev"},
		{TestProject, "arn:aws:codebuild:eu-west-1:123456789012:project/shop-x7k2p-test-dev", "arn:aws-cn:codebuild:cn-north-1:123456789012:project/shop-x7k2p-test-dev"},
		{Pipeline, "arn:aws:codepipeline:eu-west-1:123456789012:shop-x7k2p-pipeline-dev", "arn:aws-cn:codepipeline:cn-north-1:123456789012:shop-x7k2p-pipeline-dev"},
		{DeployerFunction, "arn:aws:lambda:eu-west-1:123456789012:function:shop-x7k2p-deployer-dev", "arn:aws-cn:lambda:cn-north-1:123456789012:function:shop-x7k2p-deployer-dev"},
		{DeploymentTable, "arn:aws:dynamodb:eu-west-1:123456789012:table/shop-x7k2p-deployments-dev", "arn:aws-cn:dynamodb:cn-north-1:123456789012:table/shop-x7k2p-deployments-dev"},
		{NotificationTopic, "arn:aws:sns:eu-west-1:123456789012:shop-x7k2p-notifications-dev", "arn:aws-cn:sns:cn-north-1:123456789012:shop-x7k2p-notifications-dev"},
		{BuildLogGroup, "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/codebuild/shop-x7k2p-build-dev", "arn:aws-cn:logs:cn-north-1:123456789012:log-group:/aws/codebuild/shop-x7k2p-build-dev"},
		{ErrorsAlarm, "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:shop-x7k2p-deployer-errors-dev", "arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:shop-x7k2p-deployer-errors-dev"},
		{FailedRule, "arn:aws:events:eu-west-1:123456789012:rule/shop-x7k2p-pipeline-failed-dev", "arn:aws-cn:events:cn-north-1:123456789012:rule/shop-x7k2p-pipeline-failed-dev"},
		{CodeBuildRole, "arn:aws:iam::123456789012:role/shop-x7k2p-codebuild-dev", "arn:aws-cn:iam::123456789012:role/shop-x7k2p-codebuild-dev"},
		{PolicyOf(CodeBuildRole), "arn:aws:iam::123456789012:policy/shop-x7k2p-codebuild-dev", "arn:aws-cn:iam::123456789012:policy/shop-x7k2p-codebuild-dev"},
		// AWS generates the connection's ARN (a UUID): never derived.
		{Connection, "", ""},
	}
	for _, tc := range cases {
		t.Run(string(tc.name), func(t *testing.T) {
			for region, want := range map[string]string{"eu-west-1": tc.aws, "cn-north-1": tc.awsCN} {
				f, _ := formatOf(tc.name)
				if got := deriving(t, region, account, nil).derivedARN(tc.name); got != want {
					t.Errorf("%s in %s: got %q, want %q (format: %s)", tc.name, region, got, want, f.doc)
				}
			}
		})
	}

	// Without the account only S3 bucket ARNs, which have none, are known.
	c := deriving(t, "eu-west-1", "", nil)
	if got := c.derivedARN(ECRRepository); got != "" {
		t.Errorf("without the account the repository's ARN is not known, got %q", got)
	}
	if got := c.derivedARN(ArtifactBucket); got != "arn:aws:s3:::shop-x7k2p-artifacts-dev" {
		t.Errorf("a bucket's ARN needs no account, got %q", got)
	}
}

func TestRepositoryURI(t *testing.T) {
	cases := map[string]string{
		"eu-west-1":     "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-x7k2p-images-dev",
		"cn-north-1":    "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/shop-x7k2p-images-dev",
		"us-gov-west-1": "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com/shop-x7k2p-images-dev",
	}
	for region, want := range cases {
		if got := deriving(t, region, "123456789012", nil).repositoryURI(); got != want {
			t.Errorf("%s: got %q, want %q", region, got, want)
		}
	}
	if got := deriving(t, "eu-west-1", "", nil).repositoryURI(); got != "" {
		t.Errorf("without the account the URI is not known, got %q", got)
	}
}

// TestDerivedEqualsProvider: every derived ARN (and the repository URI) is
// what the provider reports once the resource exists, for every component
// with a format, in each partition. The fake provider is the stand-in for
// AWS here (internal/providerfake); fn's TestDerivedSpecsAreFinal checks
// the same through whole examples.
func TestDerivedEqualsProvider(t *testing.T) {
	for _, region := range []string{"eu-west-1", "cn-north-1", "us-gov-west-1"} {
		c := deriving(t, region, providerfake.Account, nil)
		for _, comp := range Components {
			if _, ok := formatOf(comp.Name); !ok {
				continue
			}
			k := comp.Kind()
			observed := providerfake.ObservedFields(providerfake.Identity{
				Group: k.Group, Kind: k.Kind, ExternalName: c.in.Names[comp.Name],
				Region: region, Account: providerfake.Account, UID: "uid", ForProvider: map[string]any{},
			})
			if got, want := c.derivedARN(comp.Name), observed["arn"]; got != want {
				t.Errorf("%s in %s: derived %q, the provider reports %q", comp.Name, region, got, want)
			}
			if comp.Name == ECRRepository {
				if got, want := c.repositoryURI(), observed["repositoryUrl"]; got != want {
					t.Errorf("repository URI in %s: derived %q, the provider reports %q", region, got, want)
				}
			}
		}
	}
}

// TestObservedWins: an observed ARN or URI is used as it is, whatever the
// format says, so what exists is described as AWS reports it.
func TestObservedWins(t *testing.T) {
	repo, err := structpb.NewStruct(map[string]any{"status": map[string]any{"atProvider": map[string]any{
		"arn":           "arn:aws:ecr:eu-west-1:999999999999:repository/other",
		"repositoryUrl": "999999999999.dkr.ecr.eu-west-1.amazonaws.com/other",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	c := deriving(t, "eu-west-1", "123456789012", observe.Resources{ECRRepository: repo})
	if diff := cmp.Diff([]string{"arn:aws:ecr:eu-west-1:999999999999:repository/other", "999999999999.dkr.ecr.eu-west-1.amazonaws.com/other"},
		[]string{c.arnOf(ECRRepository), c.repositoryURI()}); diff != "" {
		t.Errorf("-observed, +used:\n%s", diff)
	}
	if got := c.arnOf(DeploymentTable); got != "arn:aws:dynamodb:eu-west-1:123456789012:table/shop-x7k2p-deployments-dev" {
		t.Errorf("an unobserved resource's ARN is derived, got %q", got)
	}
}

// TestEveryFormatIsUsed: each row of arnFormats is the kind of a component.
func TestEveryFormatIsUsed(t *testing.T) {
	used := map[string]bool{}
	for _, c := range Components {
		k := c.Kind()
		used[k.Group+"/"+k.Kind] = true
	}
	for kind, f := range arnFormats {
		if !used[kind] {
			t.Errorf("arnFormats has %s, which no component is", kind)
		}
		if f.doc == "" {
			t.Errorf("arnFormats[%s] names no AWS page", kind)
		}
	}
}

// TestNoDerivationOutsideKnownPartitions: AWS names the partition of a
// region in the aws, aws-cn and aws-us-gov partitions (region names
// <area>-<direction>-<n>, cn-..., us-gov-...); other regions, such as
// us-iso-east-1 (partition aws-iso) or us-isob-east-1 (aws-iso-b), are in
// partitions whose names and endpoints the function does not derive.
// There nothing is derived: values wait for the provider to report them.
func TestNoDerivationOutsideKnownPartitions(t *testing.T) {
	for _, region := range []string{"us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1", "eusc-de-east-1"} {
		c := deriving(t, region, "123456789012", nil)
		for _, name := range []resource.Name{ECRRepository, ArtifactBucket, DeploymentTable, CodeBuildRole} {
			if got := c.derivedARN(name); got != "" {
				t.Errorf("%s in %s: derived %q, want nothing", name, region, got)
			}
		}
		if got := c.repositoryURI(); got != "" {
			t.Errorf("repository URI in %s: derived %q, want nothing", region, got)
		}
		// Without the account the wait is still for the ARN itself: the
		// account would not make it derivable here.
		a := &arns{c: deriving(t, region, "", nil)}
		a.of(ArtifactBucket, "the artifact bucket's ARN")
		if got := a.waiting(); got != "the artifact bucket's ARN" {
			t.Errorf("in %s without the account: waiting for %q, want the artifact bucket's ARN", region, got)
		}
	}
	for region, want := range map[string]string{"eu-west-1": "aws", "ap-southeast-5": "aws", "cn-northwest-1": "aws-cn", "us-gov-east-1": "aws-us-gov"} {
		if got, _ := partitionOf(region); got != want {
			t.Errorf("partition of %s: got %q, want %q", region, got, want)
		}
	}
}
