package xrd_test

import (
	"strings"
	"testing"
)

// TestAWSRulesAcceptGoodClaims: the rules that keep a claim within what AWS
// accepts (their bad claims are in internal/badclaims) accept the claims
// that keep them.
func TestAWSRulesAcceptGoodClaims(t *testing.T) {
	claim := func(spec string) string {
		// spec.region set: the region rules compare with it (without it
		// the function checks them on the effective spec).
		return "apiVersion: cicd.platform.dev/v1alpha1\nkind: CicdPipeline\nmetadata:\n  name: shop\nspec:\n  environmentSuffix: dev\n  region: us-east-1\n  source:\n    repository: acme/shop\n" + spec
	}
	cases := map[string]string{
		"CrossAccountComplete": claim("  crossAccount:\n    trustedAccountIds: [\"444455556666\"]\n    trustedPrincipalArns: [\"arn:aws:iam::444455556666:role/deployer\"]\n" +
			"    imageRepositoryArns: [\"arn:aws:ecr:us-east-1:444455556666:repository/shop-images-dev\"]\n    functionNames: [api]\n"),
		// Lambda refuses an alias name of digits only, and takes any
		// other of letters, digits, - and _ ("Name", GetAlias, Lambda API
		// Reference: pattern (?!^[0-9]+$)([a-zA-Z0-9-_]+), 1-128).
		"AliasStartingWithADigit": claim("  deployer:\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/deployer:v1\n    targets:\n" +
			"      - functionName: api\n        alias: 2026-live\n      - functionName: web\n        alias: 1x\n" +
			"      - functionName: worker\n        alias: " + strings.Repeat("7", 127) + "x\n"),
		"TopicKeyByKeyARN": claim("  notifications:\n    kmsKeyArn: arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab\n"),
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := validate(t, c, ""); got != "" {
				t.Fatalf("the claim is rejected: %s", got)
			}
		})
	}
}
