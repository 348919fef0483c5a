package main

import (
	"bytes"
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
	for _, function := range []string{"api", "worker", "jobs"} {
		account.CreateImageFunction(t, function, v1)
	}
	// Every code update takes four status reads, as a real image update
	// takes a while.
	testenv.StartSlowLambda(t, 4)
	testenv.StartArtifactStore(t, func(key string) bool { return strings.HasPrefix(key, "ASIAARTIFACT") })

	// 30 s timeout, 18 s margin, 2 s polls: an invocation has 12 s, two
	// targets' worth of polls at most, so three targets need continuations.
	invokeURL := startEmulator(t, rie, binary, map[string]string{
		contract.EnvDeploymentTable:   "e2e-deployments",
		contract.EnvEnvironmentSuffix: "e2e",
		contract.EnvPipelineName:      "e2e-pipeline",
		contract.EnvDeadlineMargin:    "18s",
		"DEPLOYER_POLL_INTERVAL":      "2s",
		"AWS_LAMBDA_FUNCTION_TIMEOUT": "30",
	})

	// drive invokes the job and every continuation job CodePipeline
	// schedules after it, and returns the last result and the jobs it ran.
	drive := func(t *testing.T, job *testenv.Job) (map[string]any, []string) {
		t.Helper()
		var jobs []string
		for range 20 {
			jobs = append(jobs, job.ID)
			body := post(t, invokeURL, job.Event(t))
			var result map[string]any
			if err := json.Unmarshal(body, &result); err != nil {
				t.Fatalf("the response %q is not the deployer's result: %v", body, err)
			}
			next, ok := pipeline.NextJob()
			if !ok {
				return result, jobs
			}
			job = next
		}
		t.Fatal("the deployment never finished")
		return nil, nil
	}

	t.Run("three slow targets through continuations", func(t *testing.T) {
		account.WriteTargets(t, "e2e-deployments",
			contract.Target{FunctionName: "api", Alias: "live"}, contract.Target{FunctionName: "worker", Alias: "live"}, contract.Target{FunctionName: "jobs"})
		bucket, key := account.UploadArtifact(t, v2)
		result, jobs := drive(t, pipeline.NewJob("e2e-pipeline", bucket, key))
		if result["status"] != "SUCCEEDED" {
			t.Fatalf("status %v, message %v", result["status"], result["message"])
		}
		if len(jobs) < 3 {
			t.Errorf("the deployment ran in %d jobs, want at least three (two continuations)", len(jobs))
		}
		for _, function := range []string{"api", "worker", "jobs"} {
			if got := account.CurrentImage(t, function); got != v2 {
				t.Errorf("%s runs %s, want %s", function, got, v2)
			}
		}
		for _, function := range []string{"api", "worker"} {
			if got := account.AliasVersion(t, function, "live"); got != "1" {
				t.Errorf("alias live of %s points at version %s, want 1", function, got)
			}
		}
		for i, call := range pipeline.Calls() {
			if call.Operation != "PutJobSuccessResult" || call.JobID != jobs[i] {
				t.Errorf("job result %d = %+v, want a success on job %s", i, call, jobs[i])
			}
		}
	})

	t.Run("failing third target rolls back through continuations", func(t *testing.T) {
		before := len(pipeline.Calls())
		v3 := account.PushImage(t, "app", "v3")
		account.WriteTargets(t, "e2e-deployments",
			contract.Target{FunctionName: "api", Alias: "live"}, contract.Target{FunctionName: "worker", Alias: "live"}, contract.Target{FunctionName: "missing"})
		bucket, key := account.UploadArtifact(t, v3)
		result, jobs := drive(t, pipeline.NewJob("e2e-pipeline", bucket, key))
		if result["status"] != "ROLLED_BACK" {
			t.Fatalf("status %v, message %v", result["status"], result["message"])
		}
		if len(jobs) < 2 {
			t.Errorf("the deployment and its rollback ran in %d jobs, want continuations", len(jobs))
		}
		for _, function := range []string{"api", "worker"} {
			if got := account.CurrentImage(t, function); got != v2 {
				t.Errorf("%s runs %s after the rollback, want %s", function, got, v2)
			}
			if got := account.AliasVersion(t, function, "live"); got != "1" {
				t.Errorf("alias live of %s points at version %s after the rollback, want 1", function, got)
			}
		}
		calls := pipeline.Calls()[before:]
		if last := calls[len(calls)-1]; last.Operation != "PutJobFailureResult" || last.JobID != jobs[len(jobs)-1] {
			t.Errorf("last job result = %+v, want a failure on the last job", last)
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
