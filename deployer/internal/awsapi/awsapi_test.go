package awsapi

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
)

// notCalledButGranted are in the contract although the deployer never calls
// them as operations: AWS checks them with the deployer's role while serving
// a call the deployer makes (Lambda reads the image from ECR during
// UpdateFunctionCode; the Lambda runtime writes the function's stdout to
// CloudWatch Logs; STS checks sts:SetSourceIdentity on AssumeRole with a
// SourceIdentity).
var notCalledButGranted = slices.Concat([]string{"ecr:GetDownloadUrlForLayer", "sts:SetSourceIdentity"}, contract.LogActions)

// TestContractGrantsExactlyTheCalledOperations keeps the IAM policy the
// composition function builds from the contract in step with the code: every
// operation of the role's client interfaces must be granted, and nothing else
// beyond what AWS checks on the deployer's behalf.
func TestContractGrantsExactlyTheCalledOperations(t *testing.T) {
	var called []string
	for prefix, ifaces := range RoleAPIs {
		for _, iface := range ifaces {
			typ := reflect.TypeOf(iface).Elem()
			for method := range typ.Methods() {
				called = append(called, prefix+":"+method.Name)
			}
		}
	}
	granted := slices.Concat(contract.TableActions, contract.TargetActions, contract.ImagePullActions, contract.ImageTagActions, contract.PipelineActions,
		contract.AssumeRoleActions, contract.JobResultActions)
	granted = slices.DeleteFunc(granted, func(action string) bool { return slices.Contains(notCalledButGranted, action) })
	slices.Sort(called)
	slices.Sort(granted)
	granted = slices.Compact(granted) // BatchGetImage is in two lists
	if diff := cmp.Diff(granted, called); diff != "" {
		t.Errorf("contract action lists (-granted) differ from the operations the deployer calls (+called):\n%s", diff)
	}
	for _, action := range notCalledButGranted {
		if slices.Contains(called, action) {
			t.Errorf("%s is listed as checked on the deployer's behalf but the deployer calls it itself", action)
		}
	}
}

// TestArtifactReadsAreNotInTheRolePolicy guards the rule that the input
// artifact is read with the job's credentials only.
func TestArtifactReadsAreNotInTheRolePolicy(t *testing.T) {
	if _, ok := RoleAPIs["s3"]; ok {
		t.Fatal("s3 must not be called with the deployer's role: use the job's artifact credentials")
	}
	granted := slices.Concat(contract.TableActions, contract.TargetActions, contract.ImagePullActions, contract.ImageTagActions, contract.PipelineActions,
		contract.AssumeRoleActions, contract.JobResultActions, contract.LogActions)
	for _, action := range granted {
		if len(action) > 3 && action[:3] == "s3:" {
			t.Errorf("contract grants %s; the deployer reads artifacts with the job's credentials", action)
		}
	}
}

// TestLambdaClientCacheIsBounded: the session name is per deployment, so a
// warm deployer would otherwise keep a client for every deployment it ran.
func TestLambdaClientCacheIsBounded(t *testing.T) {
	c := &Clients{lambdaByRole: map[string]Lambda{}}
	for i := range 10 * maxCachedLambdaClients {
		first := c.LambdaFor("", Session{Name: fmt.Sprint("deployment-", i)})
		if again := c.LambdaFor("", Session{Name: fmt.Sprint("deployment-", i)}); again != first {
			t.Fatalf("deployment %d: a second client for the same session", i)
		}
	}
	if n := len(c.lambdaByRole); n > maxCachedLambdaClients {
		t.Errorf("%d cached clients, want at most %d", n, maxCachedLambdaClients)
	}
}
