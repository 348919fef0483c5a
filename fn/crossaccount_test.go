package main

import (
	"strings"
	"testing"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providerfake"
)

// TestCrossAccountFunctionsInPipelineAccount: the cross-account role is in
// the pipeline's account, so its functions must be too; the XRD cannot
// check it, the function does once the account is observed.
func TestCrossAccountFunctionsInPipelineAccount(t *testing.T) {
	const account = providerfake.Account
	cases := map[string]struct {
		functions []string
		want      string // empty: accepted
	}{
		"Name":                  {functions: []string{"api"}},
		"ARNInPipelineAccount":  {functions: []string{"arn:aws:lambda:us-east-1:123456789012:function:api"}},
		"ARNInAnotherAccount":   {functions: []string{"api", "arn:aws:lambda:us-east-1:444455556666:function:api"}, want: "spec.crossAccount.functionNames[1]: arn:aws:lambda:us-east-1:444455556666:function:api is in account 444455556666, not the pipeline's account 123456789012"},
		"AccountNotYetObserved": {functions: []string{"arn:aws:lambda:us-east-1:444455556666:function:api"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			spec := v1alpha1.XCicdPipelineSpec{PipelineParameters: v1alpha1.PipelineParameters{CrossAccount: v1alpha1.CrossAccount{FunctionNames: tc.functions}}}
			acct := account
			if name == "AccountNotYetObserved" {
				acct = ""
			}
			err := CheckTargetAccounts(spec, acct)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("want no error, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}
