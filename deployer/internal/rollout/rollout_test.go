package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

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
	aliasWeights   map[string]float64
	updateError    error
	// updateTookEffect makes the function run the new image even when
	// UpdateFunctionCode answered with an error (an SDK retry's conflict).
	updateTookEffect bool
	createAliasError error
	// updateConflicts and publishConflicts refuse that many calls with
	// ResourceConflictException, as Lambda does while another caller's
	// update is in progress, without changing the function.
	updateConflicts, publishConflicts int
	packageType                       types.PackageType
	publishedImage                    string // what a published version runs; default: the current image
	current                           string
	version                           int
}

func (s *scriptedLambda) image() string {
	if s.current == "" {
		return oldImage
	}
	return s.current
}

func (s *scriptedLambda) GetFunction(_ context.Context, in *lambda.GetFunctionInput, _ ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error) {
	packageType := s.packageType
	if packageType == "" {
		packageType = types.PackageTypeImage
	}
	image := s.image()
	if in.Qualifier != nil {
		s.calls = append(s.calls, "GetFunction "+aws.ToString(in.Qualifier))
		if s.publishedImage != "" {
			image = s.publishedImage
		}
	} else {
		s.calls = append(s.calls, "GetFunction")
	}
	return &lambda.GetFunctionOutput{
		Configuration: &types.FunctionConfiguration{PackageType: packageType, CodeSha256: aws.String("sha-of-" + image[len(image)-4:])},
		Code:          &types.FunctionCodeLocation{ImageUri: aws.String(image), ResolvedImageUri: aws.String(image)},
	}, nil
}

func (s *scriptedLambda) GetFunctionConfiguration(context.Context, *lambda.GetFunctionConfigurationInput, ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error) {
	status := types.LastUpdateStatusSuccessful
	if len(s.updateStatuses) > 0 {
		status, s.updateStatuses = s.updateStatuses[0], s.updateStatuses[1:]
	}
	s.calls = append(s.calls, "GetFunctionConfiguration "+string(status))
	return &lambda.GetFunctionConfigurationOutput{LastUpdateStatus: status, RevisionId: aws.String("rev"), CodeSha256: aws.String("sha-read-later"),
		LastUpdateStatusReason: aws.String("image layer too large"), LastUpdateStatusReasonCode: types.LastUpdateStatusReasonCodeImageAccessDenied}, nil
}

func (s *scriptedLambda) UpdateFunctionCode(_ context.Context, in *lambda.UpdateFunctionCodeInput, _ ...func(*lambda.Options)) (*lambda.UpdateFunctionCodeOutput, error) {
	s.calls = append(s.calls, "UpdateFunctionCode "+aws.ToString(in.ImageUri))
	if s.updateConflicts > 0 {
		s.updateConflicts--
		return nil, &types.ResourceConflictException{Message: aws.String("The operation cannot be performed at this time. An update is in progress")}
	}
	if s.updateError == nil || s.updateTookEffect {
		s.current = aws.ToString(in.ImageUri)
	}
	return &lambda.UpdateFunctionCodeOutput{CodeSha256: aws.String("sha-from-update")}, s.updateError
}

func (s *scriptedLambda) PublishVersion(_ context.Context, in *lambda.PublishVersionInput, _ ...func(*lambda.Options)) (*lambda.PublishVersionOutput, error) {
	if s.publishConflicts > 0 {
		s.publishConflicts--
		s.calls = append(s.calls, "PublishVersion conflict")
		return nil, &types.ResourceConflictException{Message: aws.String("The operation cannot be performed at this time. An update is in progress")}
	}
	s.version++
	s.calls = append(s.calls, fmt.Sprintf("PublishVersion code=%s -> %d", aws.ToString(in.CodeSha256), s.version))
	return &lambda.PublishVersionOutput{Version: aws.String(fmt.Sprint(s.version))}, nil
}

func (s *scriptedLambda) GetAlias(context.Context, *lambda.GetAliasInput, ...func(*lambda.Options)) (*lambda.GetAliasOutput, error) {
	s.calls = append(s.calls, "GetAlias")
	if s.aliasVersion == "" {
		return nil, &types.ResourceNotFoundException{Message: aws.String("no alias")}
	}
	out := &lambda.GetAliasOutput{FunctionVersion: aws.String(s.aliasVersion)}
	if s.aliasWeights != nil {
		out.RoutingConfig = &types.AliasRoutingConfiguration{AdditionalVersionWeights: s.aliasWeights}
	}
	return out, nil
}

func (s *scriptedLambda) CreateAlias(_ context.Context, in *lambda.CreateAliasInput, _ ...func(*lambda.Options)) (*lambda.CreateAliasOutput, error) {
	s.calls = append(s.calls, "CreateAlias "+aws.ToString(in.FunctionVersion))
	return &lambda.CreateAliasOutput{}, s.createAliasError
}

func (s *scriptedLambda) UpdateAlias(_ context.Context, in *lambda.UpdateAliasInput, _ ...func(*lambda.Options)) (*lambda.UpdateAliasOutput, error) {
	s.calls = append(s.calls, "UpdateAlias "+aws.ToString(in.FunctionVersion))
	return &lambda.UpdateAliasOutput{}, nil
}

// stepUntilDone runs Step the way the handler does and returns the outcomes.
func stepUntilDone(t *testing.T, client *scriptedLambda, target *history.TargetRecord) ([]Progress, error) {
	t.Helper()
	var got []Progress
	for range 20 {
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

func TestStepDeploysThroughWaitsAndCreatesTheAlias(t *testing.T) {
	client := &scriptedLambda{updateStatuses: []types.LastUpdateStatus{
		types.LastUpdateStatusInProgress, // someone else's update: wait before starting ours
		types.LastUpdateStatusSuccessful,
		types.LastUpdateStatusInProgress, // ours
		types.LastUpdateStatusSuccessful,
	}}
	target := &history.TargetRecord{FunctionName: "api", Alias: "live", Phase: history.PhasePending, NewImage: newImage}
	progress, err := stepUntilDone(t, client, target)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Progress{Advanced, Waiting, Advanced, Waiting, Advanced, Done}, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	wantCalls := []string{
		"GetFunction", "GetAlias",
		"GetFunctionConfiguration InProgress",
		"GetFunctionConfiguration Successful", "UpdateFunctionCode " + newImage,
		"GetFunctionConfiguration InProgress",
		// The guard is the code UpdateFunctionCode answered with, not the
		// code read after the wait (which someone else may have changed).
		"GetFunctionConfiguration Successful", "PublishVersion code=sha-from-update -> 1", "GetFunction 1",
		"CreateAlias 1",
	}
	if diff := cmp.Diff(wantCalls, client.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	want := &history.TargetRecord{FunctionName: "api", Alias: "live", Phase: history.PhaseDone, PreviousImage: oldImage, NewImage: newImage,
		NewCodeSha256: "sha-from-update", NewVersion: "1"}
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
		"no answer from Lambda and the function unchanged": {
			client:    &scriptedLambda{updateError: errors.New("connection reset")},
			wantPhase: history.PhasePrepared,
			wantError: "updating api to image",
		},
		"the update fails": {
			client:    &scriptedLambda{updateStatuses: []types.LastUpdateStatus{types.LastUpdateStatusSuccessful, types.LastUpdateStatusFailed}},
			wantPhase: history.PhaseUpdating,
			wantError: "lambda could not update api: image layer too large (ImageAccessDenied)",
		},
		"a zip-packaged function": {
			client:    &scriptedLambda{packageType: types.PackageTypeZip},
			wantPhase: history.PhasePending,
			wantError: `api is packaged as "Zip"; the deployer only deploys container images`,
		},
		"the published version runs another image": {
			client:    &scriptedLambda{publishedImage: oldImage},
			wantPhase: history.PhaseUpdating,
			wantError: "version 1 of api does not run image " + newImage,
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
		})
	}
}

// TestConflictOnARetriedUpdateIsNotUnchanged: the SDK retried an
// UpdateFunctionCode that Lambda had accepted, and the retry got a conflict:
// the function did change, so the target must be UPDATING (and restored if
// the deployment fails), not REJECTED.
func TestConflictOnARetriedUpdateIsNotUnchanged(t *testing.T) {
	client := &scriptedLambda{updateError: &types.ResourceConflictException{Message: aws.String("update in progress")}, updateTookEffect: true}
	target := &history.TargetRecord{FunctionName: "api", Phase: history.PhasePrepared, PreviousImage: oldImage, NewImage: newImage}
	if _, err := Step(context.Background(), client, target); err != nil {
		t.Fatalf("Step() error = %v", err)
	}
	if target.Phase != history.PhaseUpdating || !target.Phase.MayHaveChanged() {
		t.Errorf("phase = %s, want UPDATING", target.Phase)
	}
}

// TestStepWaitsOutOtherCallers: Lambda refuses UpdateFunctionCode and
// PublishVersion with ResourceConflictException while any update of the
// function is in progress ("The operation cannot be performed at this time.
// An update is in progress", UpdateFunctionCode and PublishVersion API
// references, Errors), including another caller's that started after the
// deployer read LastUpdateStatus. That is a reason to wait, not a failure.
// A function whose last update Failed runs its previous code ("Lambda
// function states": "Lambda aborted the update and the function's previous
// code and configuration remain available"), so a new update may start.
func TestStepWaitsOutOtherCallers(t *testing.T) {
	cases := map[string]struct {
		client       *scriptedLambda
		wantProgress []Progress
	}{
		"another caller's update starts before ours": {
			client:       &scriptedLambda{updateConflicts: 1},
			wantProgress: []Progress{Advanced, Waiting, Advanced, Done},
		},
		"another caller's update starts before the publish": {
			client:       &scriptedLambda{publishConflicts: 1},
			wantProgress: []Progress{Advanced, Advanced, Waiting, Done},
		},
		"the function's last update (someone else's) failed": {
			client:       &scriptedLambda{updateStatuses: []types.LastUpdateStatus{types.LastUpdateStatusFailed}},
			wantProgress: []Progress{Advanced, Advanced, Done},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			target := &history.TargetRecord{FunctionName: "api", Phase: history.PhasePending, NewImage: newImage}
			progress, err := stepUntilDone(t, tc.client, target)
			if err != nil {
				t.Fatalf("Step() error = %v; calls %v", err, tc.client.calls)
			}
			if diff := cmp.Diff(tc.wantProgress, progress); diff != "" {
				t.Errorf("progress (-want +got):\n%s", diff)
			}
			if target.Phase != history.PhaseDone || target.NewVersion != "1" || tc.client.current != newImage {
				t.Errorf("target %s at version %q, function runs %s; want DONE at version 1 running the new image", target.Phase, target.NewVersion, tc.client.current)
			}
		})
	}
}

func TestCreateAliasConflictMovesTheAlias(t *testing.T) {
	client := &scriptedLambda{createAliasError: &types.ResourceConflictException{Message: aws.String("alias exists")}}
	target := &history.TargetRecord{FunctionName: "api", Alias: "live", Phase: history.PhasePublished, NewVersion: "7", NewImage: newImage}
	if _, err := Step(context.Background(), client, target); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"CreateAlias 7", "UpdateAlias 7"}, client.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if target.Phase != history.PhaseDone {
		t.Errorf("phase = %s, want DONE", target.Phase)
	}
}

// restoreUntilDone runs a target's rollback steps the way the handler does.
func restoreUntilDone(t *testing.T, client *scriptedLambda, target *history.TargetRecord) []Progress {
	t.Helper()
	if err := RestoreAlias(context.Background(), client, target); err != nil {
		t.Fatal(err)
	}
	var got []Progress
	for range 10 {
		progress, err := RestoreCode(context.Background(), client, target)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, progress)
		if progress == Done {
			return got
		}
	}
	t.Fatal("the rollback never finished")
	return nil
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
				"UpdateFunctionCode " + oldImage, "GetFunctionConfiguration Successful", "PublishVersion code= -> 1", "UpdateAlias 1"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			client := &scriptedLambda{updateStatuses: []types.LastUpdateStatus{types.LastUpdateStatusInProgress}}
			target := tc.target
			if diff := cmp.Diff([]Progress{Waiting, Advanced, Done}, restoreUntilDone(t, client, &target)); diff != "" {
				t.Errorf("progress (-want +got):\n%s", diff)
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

// TestRestoreWithoutPreviousImageFails: the rollback's failure is added to
// the target's error (the deployment's own, when it failed), which the
// outcome message shows.
func TestRestoreWithoutPreviousImageFails(t *testing.T) {
	for deployError, want := range map[string]string{
		"":                       "rollback failed: the previous image of api was not recorded",
		"deploying to api: boom": "deploying to api: boom; rollback failed: the previous image of api was not recorded",
	} {
		target := history.TargetRecord{FunctionName: "api", Phase: history.PhasePrepared, Rollback: history.RollbackAliasRestored, Error: deployError}
		_, err := RestoreCode(context.Background(), &scriptedLambda{}, &target)
		if err == nil || target.Phase != history.PhaseRollbackFailed || target.Error != want {
			t.Errorf("RestoreCode() error = %v, phase %s, target error %q; want ROLLBACK_FAILED with error %q", err, target.Phase, target.Error, want)
		}
	}
}

// TestRestoreCutShortByTheDeadlineIsRetried: a restore step whose context
// ended (the invocation's time is up) is not a failed rollback; the next
// invocation repeats it.
func TestRestoreCutShortByTheDeadlineIsRetried(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	client := &scriptedLambda{updateError: context.Canceled}
	target := history.TargetRecord{FunctionName: "api", Phase: history.PhaseDone, PreviousImage: oldImage, Rollback: history.RollbackAliasRestored}
	if _, err := RestoreCode(ctx, client, &target); err == nil {
		t.Fatal("RestoreCode() with an ended context: no error")
	}
	if target.Phase != history.PhaseDone || target.Rollback != history.RollbackAliasRestored || target.Error != "" {
		t.Errorf("target after the cut-short step: phase %s, rollback %s, error %q; want it unchanged", target.Phase, target.Rollback, target.Error)
	}
}

// TestWeightedAliasIsRefused: an alias that sends a share of its traffic to
// another version ("AliasRoutingConfiguration", Lambda API reference) is
// refused before anything changes, with a message naming it and the split.
func TestWeightedAliasIsRefused(t *testing.T) {
	client := &scriptedLambda{aliasVersion: "3", aliasWeights: map[string]float64{"4": 0.1}}
	target := &history.TargetRecord{FunctionName: "api", Alias: "live", Phase: history.PhasePending, NewImage: newImage}
	want := "alias live of function api has weighted routing (RoutingConfig.AdditionalVersionWeights: 10% to version 4, the rest to version 3)"
	if err := CheckAlias(context.Background(), client, target); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("CheckAlias() error = %v, want it to contain %q", err, want)
	}
	if _, err := Step(context.Background(), client, target); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Step() error = %v, want it to contain %q", err, want)
	}
	if target.Phase != history.PhasePending {
		t.Errorf("phase = %s, want PENDING (nothing changed)", target.Phase)
	}
	if diff := cmp.Diff([]string{"GetAlias", "GetFunction", "GetAlias"}, client.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	unweighted := &scriptedLambda{aliasVersion: "3", aliasWeights: map[string]float64{}}
	if err := CheckAlias(context.Background(), unweighted, target); err != nil {
		t.Errorf("CheckAlias() of an alias with an empty routing configuration: %v", err)
	}
}
