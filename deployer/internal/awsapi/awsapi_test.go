package awsapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"
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
// Up to the bound every client is kept (its assumed-role credentials are
// reused); the next one empties the cache.
func TestLambdaClientCacheIsBounded(t *testing.T) {
	c := &Clients{lambdaByRole: map[string]Lambda{}}
	session := func(i int) Session { return Session{Name: fmt.Sprint("deployment-", i)} }
	clients := map[int]Lambda{}
	for i := range maxCachedLambdaClients {
		clients[i] = c.LambdaFor(Role{}, session(i))
	}
	for i := range maxCachedLambdaClients {
		if again := c.LambdaFor(Role{}, session(i)); again != clients[i] {
			t.Fatalf("deployment %d: a new client although %d clients fit in the cache", i, maxCachedLambdaClients)
		}
	}
	for i := maxCachedLambdaClients; i < 10*maxCachedLambdaClients; i++ {
		first := c.LambdaFor(Role{}, session(i))
		if n := len(c.lambdaByRole); n > maxCachedLambdaClients {
			t.Fatalf("deployment %d: %d cached clients, want at most %d", i, n, maxCachedLambdaClients)
		}
		if again := c.LambdaFor(Role{}, session(i)); again != first {
			t.Fatalf("deployment %d: a second client for the same session", i)
		}
	}
	if again := c.LambdaFor(Role{}, session(0)); again == clients[0] {
		t.Error("deployment 0's client is still cached after the cache was emptied")
	}
}

// TestLambdaForPassesTheExternalID: a target role whose trust policy requires
// sts:ExternalId is assumed with the target's external ID (AssumeRole API
// reference, ExternalId), and a role reached with two external IDs gets two
// clients. Each session carries the deployment's session name and source
// identity (which CloudTrail shows in the target account).
func TestLambdaForPassesTheExternalID(t *testing.T) {
	var mu sync.Mutex
	var externalIDs, sessions []string
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/" { // STS query API
			if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "AssumeRole" {
				http.Error(w, "not AssumeRole", http.StatusBadRequest)
				return
			}
			mu.Lock()
			externalIDs = append(externalIDs, r.Form.Get("ExternalId"))
			sessions = append(sessions, r.Form.Get("RoleSessionName")+" "+r.Form.Get("SourceIdentity"))
			mu.Unlock()
			w.Header().Set("Content-Type", "text/xml")
			fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>`+
				`<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken>`+
				`<Expiration>%s</Expiration></Credentials>`+
				`<AssumedRoleUser><Arn>arn:aws:sts::444455556666:assumed-role/deploy-target/s</Arn><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId></AssumedRoleUser>`+
				`</AssumeRoleResult></AssumeRoleResponse>`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"FunctionName":"api"}`)
	}))
	t.Cleanup(server.Close)
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIAEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(server.URL),
		HTTPClient:   server.Client(),
	}
	c := &Clients{cfg: cfg, roleAssumer: sts.NewFromConfig(cfg), lambdaByRole: map[string]Lambda{}}
	session := Session{Name: "deployer-orders-job-1", SourceIdentity: "cicd-orders"}
	role := "arn:aws:iam::444455556666:role/deploy-target"
	for _, externalID := range []string{"tenant-42", "tenant-43", ""} {
		client := c.LambdaFor(Role{ARN: role, ExternalID: externalID}, session)
		if _, err := client.GetFunctionConfiguration(context.Background(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("api")}); err != nil {
			t.Fatalf("external ID %q: %v", externalID, err)
		}
	}
	if diff := cmp.Diff([]string{"tenant-42", "tenant-43", ""}, externalIDs); diff != "" {
		t.Errorf("ExternalId of the AssumeRole calls (-want +got):\n%s", diff)
	}
	want := slices.Repeat([]string{"deployer-orders-job-1 cicd-orders"}, 3)
	if diff := cmp.Diff(want, sessions); diff != "" {
		t.Errorf("RoleSessionName and SourceIdentity of the AssumeRole calls (-want +got):\n%s", diff)
	}
}
