package awsapi

import (
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
)

// actionsCalledOnOurBehalf are in the contract although the deployer never
// calls them: AWS calls them with the deployer's role while serving a call the
// deployer makes (Lambda reads the image from ECR during UpdateFunctionCode;
// the Lambda runtime writes the function's stdout to CloudWatch Logs).
var actionsCalledOnOurBehalf = slices.Concat(contract.ImageActions, contract.LogActions)

// TestContractGrantsExactlyTheCalledOperations keeps the IAM policy the
// composition function builds from the contract in step with the code: every
// operation of the role's client interfaces must be granted, and nothing else.
func TestContractGrantsExactlyTheCalledOperations(t *testing.T) {
	var called []string
	for prefix, iface := range RoleAPIs {
		typ := reflect.TypeOf(iface).Elem()
		for method := range typ.Methods() {
			called = append(called, prefix+":"+method.Name)
		}
	}
	granted := slices.Concat(contract.TableActions, contract.TargetActions, contract.AssumeRoleActions, contract.JobResultActions)
	slices.Sort(called)
	slices.Sort(granted)
	if diff := cmp.Diff(granted, called); diff != "" {
		t.Errorf("contract action lists (-granted) differ from the operations the deployer calls (+called):\n%s", diff)
	}
	for _, action := range actionsCalledOnOurBehalf {
		if slices.Contains(called, action) {
			t.Errorf("%s is listed as called on the deployer's behalf but the deployer calls it itself", action)
		}
	}
}

// TestArtifactReadsAreNotInTheRolePolicy guards the rule that the input
// artifact is read with the job's credentials only.
func TestArtifactReadsAreNotInTheRolePolicy(t *testing.T) {
	if _, ok := RoleAPIs["s3"]; ok {
		t.Fatal("s3 must not be called with the deployer's role: use the job's artifact credentials")
	}
	granted := slices.Concat(contract.TableActions, contract.TargetActions, contract.ImageActions,
		contract.AssumeRoleActions, contract.JobResultActions, contract.LogActions)
	for _, action := range granted {
		if len(action) > 3 && action[:3] == "s3:" {
			t.Errorf("contract grants %s; the deployer reads artifacts with the job's credentials", action)
		}
	}
}
