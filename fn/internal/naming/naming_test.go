package naming

import (
	"errors"
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
		"ConnectionTooLong": {
			reason: "The tightest limit (CodeStar connections, 32) names the resource and the excess.",
			xr:     "checkout-service-x7k2p", suffix: "staging",
			wantErr: `metadata.name: the CodeStar connection name "checkout-service-x7k2p-src-staging" would be 34 characters, 2 over AWS's limit of 32; shorten the claim's name (metadata.name) or spec.environmentSuffix by at least 2 characters`,
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

// TestLongestAcceptedNames: a claim name of 18 characters fits every limit
// with a 3-character suffix; one more character does not.
func TestLongestAcceptedNames(t *testing.T) {
	claim := strings.Repeat("a", 18)
	if _, err := For(claim+"-x7k2p", "dev"); err != nil {
		t.Errorf("an 18-character claim name must fit: %v", err)
	}
	if _, err := For(claim+"a-x7k2p", "dev"); err == nil {
		t.Error("a 19-character claim name must not fit the connection name")
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
			var le *LengthError
			if !errors.As(err, &le) || le.Over != 1 || le.Max != tc.max {
				t.Errorf("a name of %d characters must be 1 over %d, got %v", tc.max+1, tc.max, err)
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
