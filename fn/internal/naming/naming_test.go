package naming

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rules are a few of the pipeline's rules (compose.Components has them all).
var rules = []Named{
	{Name: "bucket", Rule: Rule{Purpose: "artifacts", Limit: S3Bucket}},
	{Name: "connection", Rule: Rule{Purpose: "src", Limit: CodeStarConnection}},
	{Name: "role", Rule: Rule{Purpose: "cross-account", Limit: IAMRole}},
	{Name: "role-log", Rule: Rule{Of: "role", Path: "/aws/role/"}},
}

func TestFor(t *testing.T) {
	cases := map[string]struct {
		reason  string
		xr      string
		suffix  string
		want    Names
		wantErr string
	}{
		"Claim": {
			reason: "Names are {xr}-{purpose}-{suffix}; the XR name carries Crossplane's random suffix.",
			xr:     "shop-x7k2p", suffix: "dev",
			want: Names{"bucket": "shop-x7k2p-artifacts-dev", "connection": "shop-x7k2p-src-dev", "role": "shop-x7k2p-cross-account-dev", "role-log": "/aws/role/shop-x7k2p-cross-account-dev"},
		},
		"Dots": {
			reason: "Dots, valid in Kubernetes names, become dashes.",
			xr:     "shop.web-x7k2p", suffix: "dev",
			want: Names{"bucket": "shop-web-x7k2p-artifacts-dev", "connection": "shop-web-x7k2p-src-dev", "role": "shop-web-x7k2p-cross-account-dev", "role-log": "/aws/role/shop-web-x7k2p-cross-account-dev"},
		},
		"ConnectionShortened": {
			reason: "A name over its limit keeps its purpose and suffix and is shortened with a hash of the full name, as AWS CDK does; names within their limits are unchanged.",
			xr:     "checkout-service-x7k2p", suffix: "staging",
			want: Names{"bucket": "checkout-service-x7k2p-artifacts-staging", "connection": "checkout-se-8a2519b1-src-staging", "role": "checkout-service-x7k2p-cross-account-staging", "role-log": "/aws/role/checkout-service-x7k2p-cross-account-staging"},
		},
		"CannotFit": {
			reason: "Only a name whose purpose, suffix and hash alone break the limit is rejected.",
			xr:     "shop-x7k2p", suffix: "a-suffix-longer-than-the-xrd-allows",
			wantErr: `metadata.name: the CodeStar connection name for purpose "src" cannot fit AWS's limit of 32 even shortened (shop-x7k2p-src-a-suffix-longer-than-the-xrd-allows); shorten spec.environmentSuffix`,
		},
		"Empty": {
			reason:  "An XR without a name is an error, not a panic.",
			xr:      "",
			wantErr: "metadata.name: the composite resource has no name",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := For(tc.xr, tc.suffix, rules)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("%s\nwant error %q, got %v", tc.reason, tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s\nunexpected error: %v", tc.reason, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestLimits checks each kind's limit on its own: For never reaches most of
// them, because the connection's 32 characters bind first.
func TestLimits(t *testing.T) {
	cases := map[string]struct {
		l   Limit
		max int
		// lowerOnly: AWS allows only lowercase letters, digits and '-'.
		lowerOnly bool
	}{
		"S3Bucket":       {l: S3Bucket, max: 63, lowerOnly: true},
		"ECRRepository":  {l: ECRRepository, max: 256, lowerOnly: true},
		"CodeBuild":      {l: CodeBuildProject, max: 150},
		"CodePipeline":   {l: CodePipeline, max: 100},
		"Connection":     {l: CodeStarConnection, max: 32},
		"LambdaFunction": {l: LambdaFunction, max: 64},
		"DynamoDBTable":  {l: DynamoDBTable, max: 255},
		"SNSTopic":       {l: SNSTopic, max: 256},
		"Alarm":          {l: CloudWatchAlarm, max: 255},
		"EventRule":      {l: EventBridgeRule, max: 64},
		"IAMRole":        {l: IAMRole, max: 64},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if err := tc.l.check(strings.Repeat("a", tc.max)); err != nil {
				t.Errorf("a name of %d characters must fit: %v", tc.max, err)
			}
			err := tc.l.check(strings.Repeat("a", tc.max+1))
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("over AWS's limit of %d", tc.max)) {
				t.Errorf("a name of %d characters must be over %d, got %v", tc.max+1, tc.max, err)
			}
			for _, bad := range []string{"a b", "a/b", "a:b"} {
				if tc.l.check(bad) == nil {
					t.Errorf("%q must be rejected", bad)
				}
			}
			upperErr := tc.l.check("Shop_1")
			if tc.lowerOnly != (upperErr != nil) {
				t.Errorf("\"Shop_1\": rejected %t, want %t", upperErr != nil, tc.lowerOnly)
			}
		})
	}
}
