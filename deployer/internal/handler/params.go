package handler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
)

// Patterns from the Lambda and IAM API references. A deploy target is the
// function itself (its $LATEST code), so a qualified name is refused.
var (
	functionNamePattern = regexp.MustCompile(`^((arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:function:)|(\d{12}:function:))?[a-zA-Z0-9_-]{1,64}$`)
	roleARNPattern      = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
	aliasPattern        = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)
	numericPattern      = regexp.MustCompile(`^[0-9]+$`)
)

// ParseUserParameters decodes and validates the Deploy action's
// UserParameters, naming what is wrong so the platform team can fix the claim
// or the composition function.
func ParseUserParameters(raw string) (contract.UserParameters, error) {
	if raw == "" {
		return contract.UserParameters{}, errors.New(`the Deploy action has no UserParameters; expected JSON like {"targets":[{"functionName":"my-function","alias":"live"}]}`)
	}
	decoder := json.NewDecoder(bytes.NewReader([]byte(raw)))
	decoder.DisallowUnknownFields()
	var params contract.UserParameters
	if err := decoder.Decode(&params); err != nil {
		return contract.UserParameters{}, fmt.Errorf("the Deploy action's UserParameters are not valid deployer parameters: %w", err)
	}
	if decoder.More() {
		return contract.UserParameters{}, errors.New("the Deploy action's UserParameters hold more than one JSON value")
	}
	if err := ValidateTargets(params.Targets); err != nil {
		return contract.UserParameters{}, fmt.Errorf("the Deploy action's UserParameters: %w", err)
	}
	return params, nil
}

// ValidateTargets checks the deploy targets.
func ValidateTargets(targets []contract.Target) error {
	if len(targets) == 0 {
		return errors.New("no deploy targets: targets must list at least one Lambda function")
	}
	seen := map[contract.Target]bool{}
	var problems []error
	for i, target := range targets {
		if !functionNamePattern.MatchString(target.FunctionName) {
			problems = append(problems, fmt.Errorf("targets[%d].functionName %q is not a Lambda function name or unqualified function ARN", i, target.FunctionName))
		}
		if target.RoleARN != "" && !roleARNPattern.MatchString(target.RoleARN) {
			problems = append(problems, fmt.Errorf("targets[%d].roleArn %q is not an IAM role ARN", i, target.RoleARN))
		}
		if target.Alias != "" && (!aliasPattern.MatchString(target.Alias) || numericPattern.MatchString(target.Alias)) {
			problems = append(problems, fmt.Errorf("targets[%d].alias %q is not a Lambda alias name (letters, digits, - and _, not only digits)", i, target.Alias))
		}
		key := contract.Target{FunctionName: target.FunctionName, RoleARN: target.RoleARN}
		if seen[key] {
			problems = append(problems, fmt.Errorf("targets[%d] deploys to %s a second time", i, target.FunctionName))
		}
		seen[key] = true
	}
	return errors.Join(problems...)
}
