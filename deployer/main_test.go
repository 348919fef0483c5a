package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }

// TestDeployerUnderTheLambdaRuntimeEmulator runs the built binary the way
// Lambda runs it, under the AWS Lambda Runtime Interface Emulator, and
// invokes it over HTTP.
func TestDeployerUnderTheLambdaRuntimeEmulator(t *testing.T) {
	testenv.RequireMoto(t)
	rie := filepath.Join(repoRoot(t), "bin", "aws-lambda-rie")
	if _, err := os.Stat(rie); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: make test builds it (make lambda-rie)", rie)
		}
		t.Skipf("%s is missing: run make lambda-rie (make test builds it)", rie)
	}
	binary := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the deployer: %v\n%s", err, out)
	}

	pipeline := testenv.StartCodePipeline(t)
	account := testenv.DefaultAccount(t)
	account.CreateHistoryTable(t, "e2e-deployments")
	v1 := account.PushImage(t, "app", "v1")
	v2 := account.PushImage(t, "app", "v2")
	account.CreateImageFunction(t, "api", v1)
	bucket, key := account.UploadArtifact(t, v2)

	invokeURL := startEmulator(t, rie, binary, map[string]string{
		contract.EnvDeploymentTable:   "e2e-deployments",
		contract.EnvEnvironmentSuffix: "e2e",
		"AWS_LAMBDA_FUNCTION_TIMEOUT": "120",
	})

	t.Run("pipeline job", func(t *testing.T) {
		event := testenv.JobEvent(t, "e2e-job-1", bucket, key, `{"targets":[{"functionName":"api","alias":"live"}]}`, "")
		body := post(t, invokeURL, event)
		var result struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(body, &result); err != nil {
			t.Fatalf("the response %q is not the deployer's result: %v", body, err)
		}
		if result.Status != "SUCCEEDED" {
			t.Fatalf("status %s, message %q", result.Status, result.Message)
		}
		out, err := account.Lambda.GetAlias(context.Background(), &lambda.GetAliasInput{FunctionName: aws.String("api"), Name: aws.String("live")})
		if err != nil {
			t.Fatalf("the deployer did not create alias live: %v", err)
		}
		if got := aws.ToString(out.FunctionVersion); got != "1" {
			t.Errorf("alias live points at version %s, want 1", got)
		}
		if got := account.CurrentImage(t, "api"); got != v2 {
			t.Errorf("api runs %s, want %s", got, v2)
		}
		calls := pipeline.Calls()
		if len(calls) != 1 || calls[0].Operation != "PutJobSuccessResult" || calls[0].JobID != "e2e-job-1" {
			t.Errorf("job results = %+v, want one PutJobSuccessResult for e2e-job-1", calls)
		}
	})

	t.Run("malformed event", func(t *testing.T) {
		// The emulator answers 200 for function errors too: the body tells.
		body := post(t, invokeURL, []byte(`{"hello":"world"}`))
		var failure struct {
			ErrorMessage string `json:"errorMessage"`
			ErrorType    string `json:"errorType"`
		}
		if err := json.Unmarshal(body, &failure); err != nil || !strings.Contains(failure.ErrorMessage, "unrecognised event") {
			t.Errorf("response %q, want a function error about the unrecognised event", body)
		}
	})
}

// startEmulator runs binary under the emulator on 127.0.0.1 and returns the
// invocation URL.
func startEmulator(t *testing.T, rie, binary string, env map[string]string) string {
	t.Helper()
	invokePort, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	runtimePort, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	address := "127.0.0.1:" + strconv.Itoa(invokePort)
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", address,
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(runtimePort),
		binary)
	cmd.Dir = t.TempDir()
	cmd.Env = os.Environ()
	for key, value := range env {
		cmd.Env = append(cmd.Env, key+"="+value)
	}
	cmd.Stdout, cmd.Stderr = t.Output(), t.Output()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the emulator: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	if err := waitForListener(address, exited); err != nil {
		t.Fatalf("the emulator did not come up: %v", err)
	}
	return "http://" + address + "/2015-03-31/functions/function/invocations"
}

// waitForListener waits until address accepts connections: any HTTP request
// to the emulator would invoke the function.
func waitForListener(address string, exited <-chan error) error {
	for range 300 {
		select {
		case err := <-exited:
			return errors.Join(errors.New("the emulator exited"), err)
		default:
		}
		conn, err := net.DialTimeout("tcp", address, time.Second)
		if err == nil {
			return conn.Close()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("nothing listens on " + address)
}

func post(t *testing.T, url string, payload []byte) []byte {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("invoking the deployer: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the emulator answered HTTP %d: %s", resp.StatusCode, body)
	}
	return body
}

// repoRoot walks up from the test's directory to the module root.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
