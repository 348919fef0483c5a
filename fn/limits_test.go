package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providerfake"
)

// awsLimits are the AWS limits a rendered pipeline must respect, with the
// page that documents each.
var awsLimits = []struct {
	name  string
	limit int
	doc   string
}{
	{"CodePipeline action configuration value (characters)", 1000, "https://docs.aws.amazon.com/codepipeline/latest/userguide/limits.html"},
	{"Lambda environment variables, all keys and values (bytes)", 4096, "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"},
	{"IAM customer managed policy, without whitespace (characters)", 6144, "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"},
	{"IAM role trust policy, without whitespace (characters)", 2048, "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"},
	{"tags per resource", 50, "https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html"},
	{"tag key (characters)", 128, "https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html"},
	{"tag value (characters)", 256, "https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html"},
	{"DynamoDB item (bytes)", 400 * 1024, "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html"},
}

func awsLimit(t *testing.T, name string) int {
	t.Helper()
	for _, l := range awsLimits {
		if l.name == name {
			return l.limit
		}
	}
	t.Fatalf("no limit %q", name)
	return 0
}

// nameLimits are AWS's limits on the names of the kinds composed, by kind.
var nameLimits = map[string]struct {
	limit int
	doc   string
}{
	"Bucket":       {63, "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"},
	"Repository":   {256, "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html"},
	"Project":      {150, "https://docs.aws.amazon.com/codebuild/latest/APIReference/API_CreateProject.html"},
	"Codepipeline": {100, "https://docs.aws.amazon.com/codepipeline/latest/userguide/limits.html"},
	"Connection":   {32, "https://docs.aws.amazon.com/codestar-connections/latest/APIReference/API_CreateConnection.html"},
	"Function":     {64, "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html"},
	"Table":        {255, "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html"},
	"Topic":        {256, "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html"},
	"MetricAlarm":  {255, "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"},
	"Rule":         {64, "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html"},
	"Role":         {64, "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"},
	"Policy":       {128, "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"},
	"Group":        {512, "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html"},
}

// maximalSpec is a claim with every list at its MaxItems and every string
// at its MaxLength (TestMaximalSpecIsMaximal checks that against the XRD).
func maximalSpec() map[string]any {
	pad := func(prefix string, n int, fill string) string {
		return prefix + strings.Repeat(fill, n-len(prefix))
	}
	const region = "eu-west-1"
	targets := make([]any, 0, 20)
	for i := range 20 {
		account := fmt.Sprintf("4444555566%02d", i)
		fnARN := fmt.Sprintf("arn:aws:lambda:%s:%s:function:", region, account)
		roleARN := fmt.Sprintf("arn:aws:iam::%s:role/", account)
		targets = append(targets, map[string]any{
			// The pattern caps an ARN at a 64-character name.
			"functionName": pad(fnARN+fmt.Sprintf("f%02d-", i), len(fnARN)+64, "x"),
			"roleArn":      pad(roleARN+fmt.Sprintf("r%02d-", i), maxLen("deployer.targets.roleArn"), "y"),
			"alias":        pad(fmt.Sprintf("a%02d", i), 128, "z"),
			"externalId":   pad(fmt.Sprintf("x%02d-", i), maxLen("deployer.targets.externalId"), "e"),
		})
	}
	commands := make([]any, 0, 50)
	for i := range 50 {
		commands = append(commands, pad(fmt.Sprintf("echo %02d ", i), 1000, "t"))
	}
	emails := make([]any, 0, 20)
	for i := range 20 {
		emails = append(emails, pad(fmt.Sprintf("e%02d@", i), 254-len(".example.com"), "m")+".example.com")
	}
	accounts := make([]any, 0, 20)
	principals := make([]any, 0, maxItems("crossAccount.trustedPrincipalArns"))
	for i := range 20 {
		a := fmt.Sprintf("7777888899%02d", i)
		accounts = append(accounts, a)
		if i < maxItems("crossAccount.trustedPrincipalArns") {
			principals = append(principals, pad(fmt.Sprintf("arn:aws:iam::%s:role/p%02d-", a, i), maxLen("crossAccount.trustedPrincipalArns"), "p"))
		}
	}
	repositories := make([]any, 0, maxItems("crossAccount.imageRepositoryArns"))
	for i := range maxItems("crossAccount.imageRepositoryArns") {
		repositories = append(repositories, pad(fmt.Sprintf("arn:aws:ecr:%s:%s:repository/i%02d-", region, accounts[i], i), maxLen("crossAccount.imageRepositoryArns"), "i"))
	}
	// Names at the longest (64): the pattern caps an ARN below maxLength
	// (as for deployer.targets), and a name renders to the longer ARN.
	functions := make([]any, 0, maxItems("crossAccount.functionNames"))
	for i := range maxItems("crossAccount.functionNames") {
		functions = append(functions, pad(fmt.Sprintf("f%02d-", i), 64, "f"))
	}
	tags := map[string]any{}
	for i := range 40 {
		tags[pad(fmt.Sprintf("k%02d-", i), 128, "k")] = pad(fmt.Sprintf("v%02d-", i), 256, "v")
	}
	return map[string]any{
		"environmentSuffix": "production12",
		"region":            region,
		"source": map[string]any{
			"provider":   "GitLab",
			"repository": pad("", 99, "o") + "/" + pad("", 100, "n"),
			"branch":     pad("release/", 255, "b"),
		},
		"build": map[string]any{
			"computeType":    "BUILD_GENERAL1_2XLARGE",
			"image":          pad("aws/codebuild/", 255, "i"),
			"buildspec":      pad("version: 0.2\n# ", 25000, "s"),
			"dockerfilePath": pad("services/", 255, "d"),
			"buildkitImage":  pad("public.ecr.aws/vend/", 255-len(":v1"), "k") + ":v1",
			"timeoutMinutes": 480,
		},
		"test": map[string]any{"commands": commands, "computeType": "BUILD_GENERAL1_2XLARGE", "image": pad("aws/codebuild/", 255, "i"), "timeoutMinutes": 480},
		"approval": map[string]any{
			"message": pad("Check ", maxLen("approval.message"), "m"),
			"url":     pad("https://example.com/", maxLen("approval.url"), "u"),
		},
		"deployer": map[string]any{
			"image":               pad("123456789012.dkr.ecr.eu-west-1.amazonaws.com/", 512-len(":v1"), "r") + ":v1",
			"memoryMB":            10240,
			"timeoutSeconds":      900,
			"reservedConcurrency": 1000,
			"targets":             targets,
		},
		"registry":      map[string]any{"imagesToKeep": 1000},
		"artifacts":     map[string]any{"retentionDays": 3650, "cacheRetentionDays": 365},
		"logs":          map[string]any{"retentionDays": 3653},
		"notifications": map[string]any{"emails": emails, "kmsKeyArn": pad("arn:aws:kms:eu-west-1:123456789012:key/", maxLen("notifications.kmsKeyArn"), "k")},
		"alarms":        map[string]any{"lambdaErrors": map[string]any{"threshold": 100000, "periodSeconds": 3600, "evaluationPeriods": 24}},
		"crossAccount": map[string]any{
			"trustedAccountIds":    accounts,
			"trustedPrincipalArns": principals,
			"organizationId":       pad("o-", 34, "a"),
			"externalId":           pad("ext-", maxLen("crossAccount.externalId"), "e"),
			"imageRepositoryArns":  repositories,
			"functionNames":        functions,
		},
		"tags":               tags,
		"providerConfigName": pad("aws-", 253, "c"),
	}
}

// schemaAt returns the XRD's schema of a dotted spec path ("a.b" for the
// items of list a, field b).
func schemaAt(path string) *apiextensionsv1.JSONSchemaProps {
	s, err := xrd.Schema()
	if err != nil {
		panic(err)
	}
	cur := s.Properties["spec"]
	for f := range strings.SplitSeq(path, ".") {
		if cur.Items != nil && cur.Items.Schema != nil {
			cur = *cur.Items.Schema
		}
		cur = cur.Properties[f]
	}
	return &cur
}

func maxLen(path string) int {
	s := schemaAt(path)
	if s.Items != nil && s.Items.Schema != nil && s.Items.Schema.MaxLength != nil {
		return int(*s.Items.Schema.MaxLength)
	}
	if s.MaxLength == nil {
		panic(path + " has no maxLength")
	}
	return int(*s.MaxLength)
}

func maxItems(path string) int {
	s := schemaAt(path)
	if s.MaxItems == nil {
		panic(path + " has no maxItems")
	}
	return int(*s.MaxItems)
}

// TestMaximalSpecIsMaximal: in maximalSpec every list the XRD bounds is at
// its maxItems (maps at maxProperties) and every string it bounds is at its
// maxLength, except fields the claim cannot set together (test.buildspec
// with test.commands), that do not apply to its provider, or strings whose
// pattern caps them below maxLength (their lists are still at maxItems).
func TestMaximalSpecIsMaximal(t *testing.T) {
	s, err := xrd.Schema()
	if err != nil {
		t.Fatal(err)
	}
	skip := map[string]string{
		"spec.test.buildspec":                "mutually exclusive with test.commands, which are at their maximum",
		"spec.source.connectionArn":          "the connection is composed, so its name is checked",
		"spec.source.hostArn":                "GitHub Enterprise Server only",
		"spec.managementPolicies":            "an enum set",
		"spec.deployer.targets.functionName": "its pattern caps an ARN below maxLength (140, a qualified ARN's limit): at a 64-character name",
		"spec.crossAccount.functionNames":    "its pattern caps an ARN below maxLength: 64-character names, which render to the longest ARNs",
	}
	var walk func(path string, schema apiextensionsv1.JSONSchemaProps, value any)
	walk = func(path string, schema apiextensionsv1.JSONSchemaProps, value any) {
		_, skipped := skip[path]
		if value == nil {
			if skipped {
				return
			}
			if schema.MaxLength != nil || schema.MaxItems != nil || schema.MaxProperties != nil {
				t.Errorf("%s is bounded but not set in the maximal claim", path)
			}
			return
		}
		switch v := value.(type) {
		case string:
			if !skipped && schema.MaxLength != nil && len(v) != int(*schema.MaxLength) {
				t.Errorf("%s is %d characters, its maxLength is %d", path, len(v), *schema.MaxLength)
			}
		case []any:
			if schema.MaxItems != nil && len(v) != int(*schema.MaxItems) {
				t.Errorf("%s has %d items, its maxItems is %d", path, len(v), *schema.MaxItems)
			}
			for _, item := range v {
				walk(path, *schema.Items.Schema, item)
			}
		case map[string]any:
			if schema.MaxProperties != nil && len(v) != int(*schema.MaxProperties) {
				t.Errorf("%s has %d entries, its maxProperties is %d", path, len(v), *schema.MaxProperties)
			}
			if schema.AdditionalProperties != nil && schema.AdditionalProperties.Schema != nil {
				for _, e := range v {
					walk(path+".*", *schema.AdditionalProperties.Schema, e)
				}
				return
			}
			for name, p := range schema.Properties {
				walk(path+"."+name, p, v[name])
			}
		}
	}
	walk("spec", s.Properties["spec"], maximalSpec())
}

// TestAWSLimits renders the maximal claim, with its targets in other
// accounts and with them all in the pipeline's account (each by the longest
// ARN), and checks every value against the AWS limits in awsLimits and
// nameLimits.
func TestAWSLimits(t *testing.T) {
	sameAccount := maximalSpec()
	for _, tg := range sameAccount["deployer"].(map[string]any)["targets"].([]any) {
		m := tg.(map[string]any)
		delete(m, "roleArn")
		delete(m, "externalId")
		_, fn, _ := strings.Cut(m["functionName"].(string), ":function:")
		m["functionName"] = "arn:aws:lambda:eu-west-1:" + providerfake.Account + ":function:" + fn
	}
	for name, spec := range map[string]map[string]any{"CrossAccountTargets": maximalSpec(), "SameAccountTargets": sameAccount} {
		t.Run(name, func(t *testing.T) { checkLimits(t, spec) })
	}
}

func checkLimits(t *testing.T, maximal map[string]any) {
	t.Helper()
	spec, err := yaml.Marshal(maximal)
	if err != nil {
		t.Fatal(err)
	}
	xr := minimalXR("\n  " + strings.ReplaceAll(strings.TrimSpace(string(spec)), "\n", "\n  ") + "\n")
	xr = strings.Replace(xr, "name: shop-x7k2p", "name: payments-service-api-x7k2p", 1)
	// The longest claim reference: a 63-character namespace, a 253-character
	// name.
	xr = strings.Replace(xr, "    name: shop\n    namespace: team-shop\n", "    name: "+strings.Repeat("c", 253)+"\n    namespace: "+strings.Repeat("n", 63)+"\n", 1)
	_, rsp := converge(t, xrFromYAML(t, xr), nil)
	d := desired(rsp)
	if len(d) < 40 {
		t.Fatalf("the maximal claim composed only %d resources: %v", len(d), sortedNames(d))
	}
	for _, name := range sortedNames(d) {
		u := d[name]
		fp, _, _ := unstructured.NestedMap(u.Object, "spec", "forProvider")
		checkName(t, name, u)
		checkTags(t, name, fp)
		switch u.GetKind() {
		case "Codepipeline":
			stages, _, _ := unstructured.NestedSlice(fp, "stage")
			for _, s := range stages {
				for _, a := range s.(map[string]any)["action"].([]any) {
					cfg, _ := a.(map[string]any)["configuration"].(map[string]any)
					for k, v := range cfg {
						if l := awsLimit(t, "CodePipeline action configuration value (characters)"); len(v.(string)) > l {
							t.Errorf("%s: action %v configuration %s is %d characters, over %d", name, a.(map[string]any)["name"], k, len(v.(string)), l)
						}
					}
				}
			}
		case "Function":
			vars, _, _ := unstructured.NestedStringMap(u.Object, "spec", "forProvider", "environment", "0", "variables")
			envs, _, _ := unstructured.NestedSlice(fp, "environment")
			if len(envs) > 0 {
				vars, _, _ = unstructured.NestedStringMap(envs[0].(map[string]any), "variables")
			}
			size := 0
			for k, v := range vars {
				size += len(k) + len(v)
			}
			if l := awsLimit(t, "Lambda environment variables, all keys and values (bytes)"); size > l || len(vars) == 0 {
				t.Errorf("%s: environment is %d bytes (%d variables), limit %d", name, size, len(vars), l)
			}
		case "Policy":
			checkJSONLength(t, name, fp["policy"], awsLimit(t, "IAM customer managed policy, without whitespace (characters)"))
		case "Role":
			checkJSONLength(t, name, fp["assumeRolePolicy"], awsLimit(t, "IAM role trust policy, without whitespace (characters)"))
		case "TableItem":
			if l := awsLimit(t, "DynamoDB item (bytes)"); len(fp["item"].(string)) > l {
				t.Errorf("%s: item is %d bytes, over %d", name, len(fp["item"].(string)), l)
			}
		}
	}
}

func checkJSONLength(t *testing.T, name string, doc any, limit int) {
	t.Helper()
	defer func() {
		s, _ := doc.(string)
		t.Logf("%s: %d of %d characters", name, len(s), limit)
	}()
	s, _ := doc.(string)
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Errorf("%s: policy is not JSON: %v", name, err)
		return
	}
	compact, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if len(compact) > limit {
		t.Errorf("%s: policy is %d characters without whitespace, over AWS's %d", name, len(compact), limit)
	}
}

func checkName(t *testing.T, name string, u *unstructured.Unstructured) {
	t.Helper()
	l, ok := nameLimits[u.GetKind()]
	if !ok {
		return
	}
	n := u.GetAnnotations()["crossplane.io/external-name"]
	if fpName, _, _ := unstructured.NestedString(u.Object, "spec", "forProvider", "name"); fpName != "" {
		n = fpName
	}
	if n == "" {
		t.Errorf("%s (%s) has no AWS name", name, u.GetKind())
		return
	}
	if len(n) > l.limit {
		t.Errorf("%s: %s name %q is %d characters, over %d (%s)", name, u.GetKind(), n, len(n), l.limit, l.doc)
	}
}

func checkTags(t *testing.T, name string, fp map[string]any) {
	t.Helper()
	tags, ok := fp["tags"].(map[string]any)
	if !ok {
		return
	}
	if l := awsLimit(t, "tags per resource"); len(tags) > l {
		t.Errorf("%s: %d tags, over %d", name, len(tags), l)
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if l := awsLimit(t, "tag key (characters)"); len(k) > l {
			t.Errorf("%s: tag key %q over %d", name, k, l)
		}
		if v, _ := tags[k].(string); len(v) > awsLimit(t, "tag value (characters)") {
			t.Errorf("%s: tag %s value is %d characters", name, k, len(v))
		}
	}
}
