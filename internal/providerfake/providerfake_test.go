package providerfake

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestObservedFields(t *testing.T) {
	id := func(group, kind, name string, forProvider map[string]any) Identity {
		return Identity{Group: group, Kind: kind, ExternalName: name, Region: "eu-west-1", Account: "123456789012", UID: "uid-1", ForProvider: forProvider}
	}
	cases := map[string]struct {
		id   Identity
		want map[string]any // a subset of the observed fields
	}{
		"ECRRepository": {
			id: id("ecr.aws.upbound.io", "Repository", "shop-images-dev", nil),
			want: map[string]any{
				"arn":           "arn:aws:ecr:eu-west-1:123456789012:repository/shop-images-dev",
				"repositoryUrl": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-images-dev",
				"registryId":    "123456789012",
			},
		},
		"ECRRepositoryInChina": {
			id: Identity{Group: "ecr.aws.upbound.io", Kind: "Repository", ExternalName: "shop-images-dev", Region: "cn-north-1", Account: "123456789012", UID: "uid-1"},
			want: map[string]any{
				"arn":           "arn:aws-cn:ecr:cn-north-1:123456789012:repository/shop-images-dev",
				"repositoryUrl": "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/shop-images-dev",
			},
		},
		"IAMRoleInGovCloud": {
			id:   Identity{Group: "iam.aws.upbound.io", Kind: "Role", ExternalName: "r", Region: "us-gov-west-1", Account: "123456789012", UID: "uid-1"},
			want: map[string]any{"arn": "arn:aws-us-gov:iam::123456789012:role/r"},
		},
		"S3BucketInChina": {
			id:   Identity{Group: "s3.aws.upbound.io", Kind: "Bucket", ExternalName: "b", Region: "cn-northwest-1", Account: "123456789012", UID: "uid-1"},
			want: map[string]any{"arn": "arn:aws-cn:s3:::b"},
		},
		"S3BucketHasNoRegionOrAccountInArn": {
			id:   id("s3.aws.upbound.io", "Bucket", "shop-artifacts-dev", nil),
			want: map[string]any{"arn": "arn:aws:s3:::shop-artifacts-dev", "bucketRegionalDomainName": "shop-artifacts-dev.s3.eu-west-1.amazonaws.com"},
		},
		"IAMRoleIsGlobal": {
			id:   id("iam.aws.upbound.io", "Role", "shop-codebuild-dev", nil),
			want: map[string]any{"arn": "arn:aws:iam::123456789012:role/shop-codebuild-dev", "id": "shop-codebuild-dev"},
		},
		"IAMPolicyWithPath": {
			id:   id("iam.aws.upbound.io", "Policy", "p", map[string]any{"path": "/cicd/"}),
			want: map[string]any{"arn": "arn:aws:iam::123456789012:policy/cicd/p"},
		},
		"LambdaPublished": {
			id: id("lambda.aws.upbound.io", "Function", "shop-deployer-dev", map[string]any{"publish": true}),
			want: map[string]any{
				"arn":          "arn:aws:lambda:eu-west-1:123456789012:function:shop-deployer-dev",
				"qualifiedArn": "arn:aws:lambda:eu-west-1:123456789012:function:shop-deployer-dev:1",
				"version":      "1",
			},
		},
		"ConnectionAvailableByDefault": {
			id:   id("codestarconnections.aws.upbound.io", "Connection", "c", nil),
			want: map[string]any{"connectionStatus": "AVAILABLE"},
		},
		"EmailSubscriptionPendingConfirmation": {
			id:   id("sns.aws.upbound.io", "TopicSubscription", "s", map[string]any{"protocol": "email", "topicArn": "arn:aws:sns:eu-west-1:123456789012:t"}),
			want: map[string]any{"pendingConfirmation": true},
		},
		"RuleOnCustomBus": {
			id:   id("cloudwatchevents.aws.upbound.io", "Rule", "r", map[string]any{"eventBusName": "bus"}),
			want: map[string]any{"arn": "arn:aws:events:eu-west-1:123456789012:rule/bus/r", "id": "bus/r"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ObservedFields(tc.id)
			subset := map[string]any{}
			for k := range tc.want {
				subset[k] = got[k]
			}
			if diff := cmp.Diff(tc.want, subset); diff != "" {
				t.Errorf("observed fields (-want +got):\n%s", diff)
			}
		})
	}

	pending := id("codestarconnections.aws.upbound.io", "Connection", "c", nil)
	pending.ConnectionPending = true
	if got := ObservedFields(pending)["connectionStatus"]; got != "PENDING" {
		t.Errorf("held connection: connectionStatus = %v, want PENDING", got)
	}
}

// TestObserve: the observed form of a desired resource carries the composition
// resource name, Ready and Synced, and atProvider with the parameters (not
// Crossplane's selectors) and AWS's identifiers; the desired object is left
// alone.
func TestObserve(t *testing.T) {
	desired := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "iam.aws.upbound.io/v1beta1",
		"kind":       "Role",
		"metadata":   map[string]any{"annotations": map[string]any{"crossplane.io/external-name": "shop-x7k2p-codebuild-dev"}},
		"spec": map[string]any{"forProvider": map[string]any{
			"assumeRolePolicy":          "{}",
			"managedPolicyArnsSelector": map[string]any{"matchControllerRef": true},
		}},
	}}
	before := desired.DeepCopy()
	got := Observe("shop-x7k2p", "codebuild-role", desired)

	if diff := cmp.Diff(before, desired); diff != "" {
		t.Errorf("Observe changed its input: -want +got:\n%s", diff)
	}
	if got.GetAnnotations()[AnnotationCompositionResourceName] != "codebuild-role" {
		t.Errorf("composition resource name annotation: got %v", got.GetAnnotations())
	}
	at, _, _ := unstructured.NestedMap(got.Object, "status", "atProvider")
	want := map[string]any{"arn": "arn:aws:iam::123456789012:role/shop-x7k2p-codebuild-dev", "assumeRolePolicy": "{}", "managedPolicyArnsSelector": nil}
	subset := map[string]any{}
	for k := range want {
		subset[k] = at[k]
	}
	if diff := cmp.Diff(want, subset); diff != "" {
		t.Errorf("atProvider: -want +got:\n%s", diff)
	}
	conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
	if len(conds) != 2 {
		t.Errorf("want Ready and Synced, got %v", conds)
	}
}

// TestNamespacedKindsReportLikeClusterOnes: provider-aws's namespaced kinds
// (*.aws.m.upbound.io) report the same identifiers as their cluster twins.
func TestNamespacedKindsReportLikeClusterOnes(t *testing.T) {
	for _, k := range []struct{ group, kind string }{{"ecr", "Repository"}, {"iam", "RolePolicyAttachment"}, {"codestarconnections", "Connection"}, {"s3", "Bucket"}} {
		cluster := ObservedFields(Identity{Group: k.group + ".aws.upbound.io", Kind: k.kind, ExternalName: "n", Region: "us-east-1", Account: Account, UID: "u", ForProvider: map[string]any{"role": "r"}})
		namespaced := ObservedFields(Identity{Group: k.group + ".aws.m.upbound.io", Kind: k.kind, ExternalName: "n", Region: "us-east-1", Account: Account, UID: "u", ForProvider: map[string]any{"role": "r"}})
		if diff := cmp.Diff(cluster, namespaced); diff != "" {
			t.Errorf("%s %s: -cluster, +namespaced:\n%s", k.group, k.kind, diff)
		}
	}
	if got := ClusterGroup("s3.aws.m.upbound.io"); got != "s3.aws.upbound.io" {
		t.Errorf("ClusterGroup = %s", got)
	}
}

func TestUnknownPrincipals(t *testing.T) {
	const role = "arn:aws:iam::" + Account + ":role/shop-codebuild-dev"
	withPolicy := func(field, policy string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"forProvider": map[string]any{field: policy}}}}
	}
	exists := func(arn string) bool { return arn == "arn:aws:iam::"+Account+":role/exists" }
	cases := map[string]struct {
		u    *unstructured.Unstructured
		want []string
	}{
		"RoleInABucketPolicy": {
			u:    withPolicy("policy", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"`+role+`"},"Action":"s3:GetObject"}]}`),
			want: []string{role},
		},
		"RoleInATrustPolicyList": {
			u:    withPolicy("assumeRolePolicy", `{"Statement":{"Effect":"Allow","Principal":{"AWS":["`+role+`","arn:aws:iam::`+Account+`:role/exists"]},"Action":"sts:AssumeRole"}}`),
			want: []string{role},
		},
		"LambdaPermission":    {u: withPolicy("principal", role), want: []string{role}},
		"ExistingRole":        {u: withPolicy("policy", `{"Statement":[{"Principal":{"AWS":"arn:aws:iam::`+Account+`:role/exists"}}]}`)},
		"AccountRoot":         {u: withPolicy("policy", `{"Statement":[{"Principal":{"AWS":"arn:aws:iam::`+Account+`:root"}}]}`)},
		"AnotherAccountsRole": {u: withPolicy("policy", `{"Statement":[{"Principal":{"AWS":"arn:aws:iam::444455556666:role/r"}}]}`)},
		"ServicePrincipal":    {u: withPolicy("policy", `{"Statement":[{"Principal":{"Service":"codebuild.amazonaws.com"}}]}`)},
		"Everyone":            {u: withPolicy("policy", `{"Statement":[{"Principal":"*"},{"Principal":{"AWS":"*"}}]}`)},
		"RoleAsAResourceOnly": {u: withPolicy("policy", `{"Statement":[{"Action":"iam:PassRole","Resource":"`+role+`"}]}`)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, UnknownPrincipals(tc.u, Account, exists)); diff != "" {
				t.Errorf("-want, +got:\n%s", diff)
			}
		})
	}
}
