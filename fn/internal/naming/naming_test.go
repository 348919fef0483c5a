package naming

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFor(t *testing.T) {
	cases := map[string]struct {
		reason  string
		xr      string
		suffix  string
		want    map[string]string
		wantErr string
	}{
		"Claim": {
			reason: "Names are {xr}-{purpose}-{suffix}; the XR name carries Crossplane's random suffix.",
			xr:     "shop-x7k2p", suffix: "dev",
			want: map[string]string{"bucket": "shop-x7k2p-artifacts-dev", "connection": "shop-x7k2p-src-dev", "role": "shop-x7k2p-cross-account-dev"},
		},
		"Dots": {
			reason: "Dots, valid in Kubernetes names, become dashes.",
			xr:     "shop.web-x7k2p", suffix: "dev",
			want: map[string]string{"bucket": "shop-web-x7k2p-artifacts-dev", "connection": "shop-web-x7k2p-src-dev", "role": "shop-web-x7k2p-cross-account-dev"},
		},
		"ConnectionShortened": {
			reason: "A name over its limit keeps its purpose and suffix and is shortened with a hash of the full name, as AWS CDK does; names within their limits are unchanged.",
			xr:     "checkout-service-x7k2p", suffix: "staging",
			want: map[string]string{"bucket": "checkout-service-x7k2p-artifacts-staging", "connection": "checkout-se-8a2519b1-src-staging", "role": "checkout-service-x7k2p-cross-account-staging"},
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
			n, err := For(tc.xr, tc.suffix)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("%s\nwant error %q, got %v", tc.reason, tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s\nunexpected error: %v", tc.reason, err)
			}
			got := map[string]string{"bucket": n.ArtifactBucket, "connection": n.Connection, "role": n.CrossAccountRole}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestLongNamesFit: claim names far beyond the old 18-character limit
// give names within every limit, stable and distinct per XR.
func TestLongNamesFit(t *testing.T) {
	a, err := For("payments-service-api-"+strings.Repeat("x", 40)+"-x7k2p", "production12")
	if err != nil {
		t.Fatalf("a long claim name must fit: %v", err)
	}
	again, _ := For("payments-service-api-"+strings.Repeat("x", 40)+"-x7k2p", "production12")
	if diff := cmp.Diff(a, again); diff != "" {
		t.Errorf("names must be stable: %s", diff)
	}
	other, _ := For("payments-service-api-"+strings.Repeat("x", 40)+"-q8r3m", "production12")
	if a.Connection == other.Connection || a.ArtifactBucket == other.ArtifactBucket || a.DeployerLambda == other.DeployerLambda {
		t.Errorf("two XRs share a shortened name: %s / %s", a.Connection, other.Connection)
	}
	for name, l := range map[string]int{a.Connection: 32, a.ArtifactBucket: 63, a.CacheBucket: 63, a.DeployerLambda: 64, a.CrossAccountRole: 64, a.FailedRule: 64} {
		if len(name) > l {
			t.Errorf("%s is %d characters, over %d", name, len(name), l)
		}
		if !strings.HasSuffix(name, "-production12") {
			t.Errorf("%s lost its environment suffix", name)
		}
	}
}

// TestLimits checks each kind's limit on its own: For never reaches most of
// them, because the connection's 32 characters bind first.
func TestLimits(t *testing.T) {
	cases := map[string]struct {
		l   limit
		max int
		// lowerOnly: AWS allows only lowercase letters, digits and '-'.
		lowerOnly bool
	}{
		"S3Bucket":       {l: s3Bucket, max: 63, lowerOnly: true},
		"ECRRepository":  {l: ecrRepo, max: 256, lowerOnly: true},
		"CodeBuild":      {l: codebuild, max: 150},
		"CodePipeline":   {l: pipeline, max: 100},
		"Connection":     {l: connection, max: 32},
		"LambdaFunction": {l: lambdaFn, max: 64},
		"DynamoDBTable":  {l: dynamoTable, max: 255},
		"SNSTopic":       {l: snsTopic, max: 256},
		"Alarm":          {l: alarm, max: 255},
		"EventRule":      {l: eventRule, max: 64},
		"IAMRole":        {l: iamRole, max: 64},
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
