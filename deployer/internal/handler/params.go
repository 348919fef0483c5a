package handler

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/history"
)

// Patterns from the Lambda and IAM API references. A deploy target is the
// function itself (its $LATEST code), so a qualified name is refused.
var (
	functionNamePattern = regexp.MustCompile(`^((arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:function:)|(\d{12}:function:))?[a-zA-Z0-9_-]{1,64}$`)
	roleARNPattern      = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
	// ExternalId of AssumeRole (STS API reference): 2-1224 characters of
	// [\w+=,.@:\/-] (the length is checked apart: Go's regexp repeats at
	// most 1000 times).
	externalIDPattern = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	aliasPattern      = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)
	numericPattern    = regexp.MustCompile(`^[0-9]+$`)
)

// Length bounds of AssumeRole's ExternalId (STS API reference).
const (
	minExternalID = 2
	maxExternalID = 1224
)

// ParseUserParameters decodes the Deploy action's UserParameters, naming
// what is wrong so the platform team can fix the composition function.
func ParseUserParameters(raw string) (contract.UserParameters, error) {
	if raw == "" {
		return contract.UserParameters{}, errors.New(`the Deploy action has no UserParameters; expected JSON like {"pipelineExecutionId":"#{codepipeline.PipelineExecutionId}","commitId":"#{SourceVariables.CommitId}"}`)
	}
	var params contract.UserParameters
	if err := decodeStrict([]byte(raw), &params); err != nil {
		return contract.UserParameters{}, fmt.Errorf("the Deploy action's UserParameters are not valid deployer parameters: %w", err)
	}
	if params.PipelineExecutionID == "" {
		return contract.UserParameters{}, errors.New("the Deploy action's UserParameters have no pipelineExecutionId: the deployer needs it to confirm the job with CodePipeline")
	}
	return params, nil
}

// ParseTargets decodes and validates the deploy targets item's JSON.
func ParseTargets(raw string) ([]contract.Target, error) {
	var item contract.TargetsItem
	if err := decodeStrict([]byte(raw), &item); err != nil {
		return nil, fmt.Errorf("the deploy targets item is not valid JSON of the form {\"targets\":[...]}: %w", err)
	}
	if err := ValidateTargets(item.Targets); err != nil {
		return nil, fmt.Errorf("the deploy targets item: %w", err)
	}
	return item.Targets, nil
}

// ValidateTargets checks the deploy targets.
func ValidateTargets(targets []contract.Target) error {
	if len(targets) == 0 {
		return errors.New("no deploy targets: targets must list at least one Lambda function")
	}
	var problems []error
	for i, target := range targets {
		if !functionNamePattern.MatchString(target.FunctionName) {
			problems = append(problems, fmt.Errorf("targets[%d].functionName %q is not a Lambda function name or unqualified function ARN", i, target.FunctionName))
		}
		if target.RoleARN != "" && !roleARNPattern.MatchString(target.RoleARN) {
			problems = append(problems, fmt.Errorf("targets[%d].roleArn %q is not an IAM role ARN", i, target.RoleARN))
		}
		if target.ExternalID != "" {
			switch {
			case target.RoleARN == "":
				problems = append(problems, fmt.Errorf("targets[%d].externalId is set without a roleArn: an external ID is passed only when assuming a role", i))
			case len(target.ExternalID) < minExternalID || len(target.ExternalID) > maxExternalID || !externalIDPattern.MatchString(target.ExternalID):
				problems = append(problems, fmt.Errorf("targets[%d].externalId is not an STS external ID (2-1224 characters: letters, digits and _+=,.@:/-)", i))
			}
		}
		if target.Alias != "" && (!aliasPattern.MatchString(target.Alias) || numericPattern.MatchString(target.Alias)) {
			problems = append(problems, fmt.Errorf("targets[%d].alias %q is not a Lambda alias name (letters, digits, - and _, not only digits)", i, target.Alias))
		}
		for j := range i {
			if sameFunction(targets[j], target) {
				problems = append(problems, fmt.Errorf("targets[%d] deploys to %s a second time (targets[%d] is %s)", i, target.FunctionName, j, targets[j].FunctionName))
				break
			}
		}
	}
	return errors.Join(problems...)
}

// sameFunction reports whether two targets reach the same function: the
// same role and function name, unless both name it by ARN (or partial ARN)
// and the ARNs differ.
func sameFunction(a, b contract.Target) bool {
	if a.RoleARN != b.RoleARN || history.FunctionShortName(a.FunctionName) != history.FunctionShortName(b.FunctionName) {
		return false
	}
	qualified := func(name string) bool { return strings.Contains(name, ":") }
	return !qualified(a.FunctionName) || !qualified(b.FunctionName) || strings.HasSuffix(a.FunctionName, b.FunctionName) || strings.HasSuffix(b.FunctionName, a.FunctionName)
}
