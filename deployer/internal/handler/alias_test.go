package handler

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
)

// TestWeightedAliasIsRefusedBeforeAnythingChanges: alias live of api sends
// a quarter of its traffic to version 2 ("AliasRoutingConfiguration",
// Lambda API reference). The deployer moves only an alias's version, so it
// refuses the job before changing any target, worker (listed first)
// included, and says which alias and why.
func TestWeightedAliasIsRefusedBeforeAnythingChanges(t *testing.T) {
	w := newWorld(t, 0)
	ctx := context.Background()
	weights := map[string]float64{"2": 0.25}
	// A second version of api to route to, then api back on v1.
	for _, image := range []string{w.v2, w.v1} {
		if _, err := w.account.Lambda.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("api"), ImageUri: aws.String(image), Publish: image == w.v2}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.account.Lambda.UpdateAlias(ctx, &lambda.UpdateAliasInput{
		FunctionName: aws.String("api"), Name: aws.String("live"), FunctionVersion: aws.String("1"),
		RoutingConfig: &lambdatypes.AliasRoutingConfiguration{AdditionalVersionWeights: weights},
	}); err != nil {
		t.Fatal(err)
	}
	w.account.WriteTargets(t, table, contract.Target{FunctionName: "worker"}, contract.Target{FunctionName: "api", Alias: "live"})
	job := w.newJob(t, w.v2)
	result, err := invoke(t, w.handler(t, 0), job.Event(t))
	if err != nil {
		t.Fatal(err)
	}
	if result.Status != StatusRejected {
		t.Errorf("status %s, message %q; want %s", result.Status, result.Message, StatusRejected)
	}
	calls := w.pipeline.Calls()
	want := "Nothing was deployed: alias live of function api has weighted routing (RoutingConfig.AdditionalVersionWeights: 25% to version 2, the rest to version 1)"
	if len(calls) != 1 || calls[0].Operation != "PutJobFailureResult" || !strings.HasPrefix(calls[0].FailureMessage, want) ||
		!strings.Contains(calls[0].FailureMessage, "traffic would stay on another version") {
		t.Fatalf("job results %+v; want one failure starting %q and saying why", calls, want)
	}
	for _, function := range []string{"worker", "api"} {
		if got := w.account.CurrentImage(t, function); got != w.v1 {
			t.Errorf("%s runs %s, want %s (nothing changed)", function, got, w.v1)
		}
	}
	alias, err := w.account.Lambda.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("api"), Name: aws.String("live")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(alias.FunctionVersion) != "1" || alias.RoutingConfig == nil || !cmp.Equal(weights, alias.RoutingConfig.AdditionalVersionWeights) {
		t.Errorf("alias live of api: version %s, routing %+v; want version 1 with its routing untouched", aws.ToString(alias.FunctionVersion), alias.RoutingConfig)
	}
}
