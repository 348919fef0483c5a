package xrd_test

import (
	"strings"
	"testing"
)

// TestAWSRulesRejectBadClaims: each rule that keeps a claim within what AWS
// accepts rejects the claim that breaks it, with a message naming the field.
func TestAWSRulesRejectBadClaims(t *testing.T) {
	claim := func(spec string) string {
		// spec.region set: the region rules compare with it (without it
		// the function checks them on the effective spec).
		return "apiVersion: cicd.platform.dev/v1alpha1\nkind: CicdPipeline\nmetadata:\n  name: shop\nspec:\n  environmentSuffix: dev\n  region: us-east-1\n  source:\n    repository: acme/shop\n" + spec
	}
	const trusted = "  crossAccount:\n    trustedAccountIds: [\"444455556666\"]\n    trustedPrincipalArns: [\"arn:aws:iam::444455556666:role/deployer\"]\n"
	const repo = "    imageRepositoryArns: [\"arn:aws:ecr:us-east-1:444455556666:repository/shop-images-dev\"]\n"
	const fns = "    functionNames: [api]\n"
	cases := map[string]struct {
		claim string
		want  string // empty: accepted
	}{
		"CrossAccountComplete": {
			claim: claim(trusted + repo + fns),
		},
		"CrossAccountWithoutRepositories": {
			claim: claim(trusted + fns),
			want:  "spec.crossAccount.trustedAccountIds needs imageRepositoryArns (the callers' ECR repositories) and functionNames (the functions here they deploy)",
		},
		"CrossAccountWithoutFunctions": {
			claim: claim(trusted + repo),
			want:  "spec.crossAccount.trustedAccountIds needs imageRepositoryArns (the callers' ECR repositories) and functionNames (the functions here they deploy)",
		},
		"CrossAccountRepositoryOutsideTrustedAccounts": {
			claim: claim(trusted + fns + "    imageRepositoryArns: [\"arn:aws:ecr:us-east-1:555566667777:repository/shop-images-dev\"]\n"),
			want:  "spec.crossAccount.imageRepositoryArns must be in spec.crossAccount.trustedAccountIds",
		},
		"CrossAccountRepositoryInOtherRegion": {
			claim: claim(trusted + fns + "    imageRepositoryArns: [\"arn:aws:ecr:eu-west-1:444455556666:repository/shop-images-dev\"]\n"),
			want:  "spec.crossAccount.imageRepositoryArns must be in spec.region",
		},
		"CrossAccountRepositoryNotAnARN": {
			claim: claim(trusted + fns + "    imageRepositoryArns: [\"444455556666.dkr.ecr.us-east-1.amazonaws.com/shop\"]\n"),
			want:  `spec.crossAccount.imageRepositoryArns[0]: Invalid value: "444455556666.dkr.ecr.us-east-1.amazonaws.com/shop"`,
		},
		"CrossAccountFunctionInOtherRegion": {
			claim: claim(trusted + repo + "    functionNames: [\"arn:aws:lambda:eu-west-1:123456789012:function:api\"]\n"),
			want:  "spec.crossAccount.functionNames must be functions in spec.region",
		},
		"TopicKeyByKeyARN": {
			claim: claim("  notifications:\n    kmsKeyArn: arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab\n"),
		},
		"TopicKeyByAlias": {
			claim: claim("  notifications:\n    kmsKeyArn: arn:aws:kms:us-east-1:123456789012:alias/cicd\n"),
			want:  `spec.notifications.kmsKeyArn: Invalid value: "arn:aws:kms:us-east-1:123456789012:alias/cicd"`,
		},
		"TopicKeyAWSManaged": {
			claim: claim("  notifications:\n    kmsKeyArn: arn:aws:kms:us-east-1:123456789012:alias/aws/sns\n"),
			want:  `spec.notifications.kmsKeyArn: Invalid value: "arn:aws:kms:us-east-1:123456789012:alias/aws/sns"`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := validate(t, tc.claim, "")
			if tc.want == "" {
				if got != "" {
					t.Fatalf("the claim is rejected: %s", got)
				}
				return
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("want an error containing\n  %s\ngot\n  %s", tc.want, got)
			}
		})
	}
}
