package iampolicy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestJSON(t *testing.T) {
	cases := map[string]struct {
		reason  string
		doc     Document
		want    string
		wantErr string
	}{
		"Normalised": {
			reason: "Actions and resources are sorted and de-duplicated so the output is deterministic.",
			doc:    New(Allow("S3", []string{"s3:PutObject", "s3:GetObject", "s3:PutObject"}, "arn:b", "arn:a")),
			want:   `{"Version":"2012-10-17","Statement":[{"Sid":"S3","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:a","arn:b"]}]}`,
		},
		"Trust": {
			reason: "Trust policies name principals and need no resource.",
			doc:    TrustPrincipals([]string{"arn:aws:iam::222222222222:root", "arn:aws:iam::111111111111:root"}, []string{"sts:AssumeRole"}, nil),
			want:   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:root","arn:aws:iam::222222222222:root"]},"Action":["sts:AssumeRole"]}]}`,
		},
		"WildcardDeny": {
			reason: "A Deny statement may name every action of a service.",
			doc:    New(Statement{Effect: "Deny", Principal: &Principal{AWS: []string{"*"}}, Action: []string{"s3:*"}, Resource: []string{"arn:a"}}),
			want:   `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":["*"]},"Action":["s3:*"],"Resource":["arn:a"]}]}`,
		},
		"WildcardAction": {
			reason:  "A wildcard action is refused.",
			doc:     New(Allow("All", []string{"s3:*"}, "arn:a")),
			wantErr: `statement 0 (All) has the wildcard action "s3:*"`,
		},
		"NoResource": {
			reason:  "A permission statement without resources is refused.",
			doc:     New(Allow("None", []string{"s3:GetObject"})),
			wantErr: "statement 0 (None) has no resources",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := tc.doc.JSON()
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("%s\nwant error %q, got %v", tc.reason, tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
