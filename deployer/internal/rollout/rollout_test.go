package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/history"
)

const (
	oldImage = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:0000000000000000000000000000000000000000000000000000000000000000"
	newImage = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:1111111111111111111111111111111111111111111111111111111111111111"
)

// scriptedLambda answers from a script and records the calls.
type scriptedLambda struct {
	calls []string
	// updateStatuses are the successive LastUpdateStatus answers.
	updateStatuses []types.LastUpdateStatus
	aliasVersion   string // empty: the alias does not exist
	updateError    error
	version        int
}

func (s *scriptedLambda) GetFunction(_ context.Context, in *lambda.GetFunctionInput, _ ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error) {
	s.calls = append(s.calls, "GetFunction")
	return &lambda.GetFunctionOutput{
		Configuration: &types.FunctionConfiguration{PackageType: types.PackageTypeImage},
		Code:          &types.FunctionCodeLocation{ImageUri: aws.String("111122223333.dkr.ecr.eu-west-1.amazonaws.com/app:v1"), ResolvedImageUri: aws.String(oldImage)},
	}, nil
}

func (s *scriptedLambda) GetFunctionConfiguration(context.Context, *lambda.GetFunctionConfigurationInput, ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error) {
	status := types.LastUpdateStatusSuccessful
	if len(s.updateStatuses) > 0 {
		status, s.updateStatuses = s.updateStatuses[0], s.updateStatuses[1:]
	}
	s.calls = append(s.calls, "GetFunctionConfiguration "+string(status))
	return &lambda.GetFunctionConfigurationOutput{LastUpdateStatus: status, RevisionId: aws.String("rev"), CodeSha256: aws.String("sha"),
		LastUpdateStatusReason: aws.String("image layer too large"), LastUpdateStatusReasonCode: types.LastUpdateStatusReasonCodeImageAccessDenied}, nil
}

func (s *scriptedLambda) UpdateFunctionCode(_ context.Context, in *lambda.UpdateFunctionCodeInput, _ ...func(*lambda.Options)) (*lambda.UpdateFunctionCodeOutput, error) {
	s.calls = append(s.calls, "UpdateFunctionCode "+aws.ToString(in.ImageUri))
	return &lambda.UpdateFunctionCodeOutput{}, s.updateError
}

func (s *scriptedLambda) PublishVersion(_ context.Context, in *lambda.PublishVersionInput, _ ...func(*lambda.Options)) (*lambda.PublishVersionOutput, error) {
	s.version++
	s.calls = append(s.calls, fmt.Sprintf("PublishVersion revision=%s -> %d", aws.ToString(in.RevisionId), s.version))
	return &lambda.PublishVersionOutput{Version: aws.String(fmt.Sprint(s.version))}, nil
}

func (s *scriptedLambda) GetAlias(context.Context, *lambda.GetAliasInput, ...func(*lambda.Options)) (*lambda.GetAliasOutput, error) {
	s.calls = append(s.calls, "GetAlias")
	if s.aliasVersion == "" {
		return nil, &types.ResourceNotFoundException{Message: aws.String("no alias")}
	}
	return &lambda.GetAliasOutput{FunctionVersion: aws.String(s.aliasVersion)}, nil
}

func (s *scriptedLambda) CreateAlias(_ context.Context, in *lambda.CreateAliasInput, _ ...func(*lambda.Options)) (*lambda.CreateAliasOutput, error) {
	s.calls = append(s.calls, "CreateAlias "+aws.ToString(in.FunctionVersion))
	return &lambda.CreateAliasOutput{}, nil
}

func (s *scriptedLambda) UpdateAlias(_ context.Context, in *lambda.UpdateAliasInput, _ ...func(*lambda.Options)) (*lambda.UpdateAliasOutput, error) {
	s.calls = append(s.calls, "UpdateAlias "+aws.ToString(in.FunctionVersion))
	return &lambda.UpdateAliasOutput{}, nil
}

// stepUntilDone runs Step the way the handler does and returns the outcomes.
func stepUntilDone(t *testing.T, client *scriptedLambda, target *history.TargetRecord) ([]Progress, error) {
	t.Helper()
	var got []Progress
	for range 10 {
		progress, err := Step(context.Background(), client, target)
		if err != nil {
			return got, err
		}
		got = append(got, progress)
		if progress == Done {
			return got, nil
		}
	}
	t.Fatal("the target never finished")
	return nil, nil
}

func TestStepDeploysThroughAWaitAndCreatesTheAlias(t *testing.T) {
	client := &scriptedLambda{updateStatuses: []types.LastUpdateStatus{types.LastUpdateStatusInProgress, types.LastUpdateStatusSuccessful}}
	target := &history.TargetRecord{FunctionName: "api", Alias: "live", Phase: history.PhasePending, NewImage: newImage}
	progress, err := stepUntilDone(t, client, target)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Progress{Advanced, Advanced, Waiting, Advanced, Done}, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	wantCalls := []string{
		"GetFunction", "GetAlias",
		"UpdateFunctionCode " + newImage,
		"GetFunctionConfiguration InProgress",
		"GetFunctionConfiguration Successful", "PublishVersion revision=rev -> 1",
		"CreateAlias 1",
	}
	if diff := cmp.Diff(wantCalls, client.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	want := &history.TargetRecord{FunctionName: "api", Alias: "live", Phase: history.PhaseDone, PreviousImage: oldImage, NewImage: newImage, NewVersion: "1"}
	if diff := cmp.Diff(want, target); diff != "" {
		t.Errorf("target (-want +got):\n%s", diff)
	}
}

func TestStepFailures(t *testing.T) {
	cases := map[string]struct {
		client    *scriptedLambda
		wantPhase history.Phase
		wantError string
	}{
		"Lambda refuses the image": {
			client:    &scriptedLambda{updateError: &types.InvalidParameterValueException{Message: aws.String("bad image")}},
			wantPhase: history.PhaseRejected,
			wantError: "lambda refused to update api",
		},
		"no answer from Lambda": {
			client:    &scriptedLambda{updateError: errors.New("connection reset")},
			wantPhase: history.PhasePrepared,
			wantError: "updating api to image",
		},
		"the update fails": {
			client:    &scriptedLambda{updateStatuses: []types.LastUpdateStatus{types.LastUpdateStatusFailed}},
			wantPhase: history.PhaseUpdating,
			wantError: "lambda could not update api: image layer too large (ImageAccessDenied)",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			target := &history.TargetRecord{FunctionName: "api", Phase: history.PhasePending, NewImage: newImage}
			_, err := stepUntilDone(t, tc.client, target)
			if err == nil || !strings.Contains(err.Error(), tc.wantError) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantError)
			}
			if target.Phase != tc.wantPhase {
				t.Errorf("phase = %s, want %s", target.Phase, tc.wantPhase)
			}
			if got := target.Phase.MayHaveChanged(); got != (tc.wantPhase != history.PhaseRejected) {
				t.Errorf("MayHaveChanged() = %t in phase %s", got, target.Phase)
			}
		})
	}
}

func TestRestore(t *testing.T) {
	cases := map[string]struct {
		target    history.TargetRecord
		wantCalls []string
	}{
		"alias had a version": {
			target: history.TargetRecord{FunctionName: "api", Alias: "live", Phase: history.PhaseDone, PreviousImage: oldImage, PreviousVersion: "4", NewVersion: "5"},
			wantCalls: []string{"UpdateAlias 4", "GetFunctionConfiguration InProgress", "GetFunctionConfiguration Successful",
				"UpdateFunctionCode " + oldImage, "GetFunctionConfiguration Successful"},
		},
		"alias created by the deployment": {
			target: history.TargetRecord{FunctionName: "api", Alias: "live", Phase: history.PhaseDone, PreviousImage: oldImage, NewVersion: "5"},
			wantCalls: []string{"GetFunctionConfiguration InProgress", "GetFunctionConfiguration Successful",
				"UpdateFunctionCode " + oldImage, "GetFunctionConfiguration Successful", "PublishVersion revision= -> 1", "UpdateAlias 1"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			client := &scriptedLambda{updateStatuses: []types.LastUpdateStatus{types.LastUpdateStatusInProgress}}
			target := tc.target
			if err := Restore(context.Background(), client, &target, Waiter{PollInterval: time.Millisecond}); err != nil {
				t.Fatal(err)
			}
			if target.Phase != history.PhaseRolledBack {
				t.Errorf("phase = %s, want ROLLED_BACK", target.Phase)
			}
			if diff := cmp.Diff(tc.wantCalls, client.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRestoreWithoutPreviousImageFails(t *testing.T) {
	target := history.TargetRecord{FunctionName: "api", Phase: history.PhasePrepared}
	err := Restore(context.Background(), &scriptedLambda{}, &target, Waiter{PollInterval: time.Millisecond})
	if err == nil || target.Phase != history.PhaseRollbackFailed || !strings.Contains(target.Error, "previous image of api was not recorded") {
		t.Errorf("Restore() error = %v, phase %s, target error %q", err, target.Phase, target.Error)
	}
}

func TestWaiterGivesUpBeforeTheDeadline(t *testing.T) {
	w := Waiter{PollInterval: time.Minute, Until: time.Now().Add(time.Second)}
	if err := w.Wait(context.Background(), "the update of api"); err == nil || !strings.Contains(err.Error(), "about to time out") {
		t.Errorf("Wait() error = %v, want it to give up", err)
	}
}
