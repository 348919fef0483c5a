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
	rie := emulator(t)
	binary := buildDeployer(t)

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
	}, testenv.FreePort)

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
//
// The emulator cannot be given port 0 for its invocation address: it binds
// it with net/http's ListenAndServe and never reports the port chosen. So
// the port is picked beforehand (pickPort, testenv.FreePort) and may be
// taken meanwhile by another process (go test runs packages in parallel,
// and several worktrees run these tests on one machine): then this
// emulator fails to bind and exits, or the other process answers first.
// The same holds for the Runtime API's port, which the emulator hands to
// the function as given (port 0 would reach the function as port 0). Before
// the emulator is used, both listeners are confirmed to be its own
// (testenv.ListensOn); otherwise it is stopped and started again on new
// ports.
func startEmulator(t *testing.T, rie, binary string, env map[string]string, pickPort func() (int, error)) string {
	t.Helper()
	const attempts = 5
	for range attempts {
		port, err := pickPort()
		if err != nil {
			t.Fatal(err)
		}
		runtimePort, err := pickPort()
		if err != nil {
			t.Fatal(err)
		}
		address := "127.0.0.1:" + strconv.Itoa(port)
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
		exited := make(chan struct{})
		var waitErr error
		go func() { waitErr = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if err := waitForListener(address, exited, &waitErr); err != nil {
			stop()
			t.Logf("the emulator did not come up on %s (retrying on another port): %v", address, err)
			continue
		}
		ours, err := ownsPorts(cmd.Process.Pid, exited, port, runtimePort)
		if err != nil {
			stop()
			t.Fatalf("cannot tell whether the emulator listens on ports %d and %d: %v", port, runtimePort, err)
		}
		if !ours {
			stop()
			t.Logf("another process holds port %d or %d: retrying on other ports", port, runtimePort)
			continue
		}
		t.Cleanup(stop)
		return "http://" + address + "/2015-03-31/functions/function/invocations"
	}
	t.Fatalf("the emulator did not get a port of its own in %d attempts", attempts)
	return ""
}

// emulator returns the emulator's path; it skips the test when it was not
// built, or fails it in CI.
func emulator(t *testing.T) string {
	t.Helper()
	rie := filepath.Join(repoRoot(t), "bin", "aws-lambda-rie")
	if _, err := os.Stat(rie); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: make test builds it (make lambda-rie)", rie)
		}
		t.Skipf("%s is missing: run make lambda-rie (make test builds it)", rie)
	}
	return rie
}

// buildDeployer builds the deployer as the image does.
func buildDeployer(t *testing.T) string {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the deployer: %v\n%s", err, out)
	}
	return binary
}

// TestEmulatorGetsAPortOfItsOwn: the port picked for the emulator was taken
// by another process meanwhile (here a listener of the test's own that
// accepts connections, as another test binary's emulator would). The
// deployer must be invoked on a port the emulator holds, not on the other
// process.
func TestEmulatorGetsAPortOfItsOwn(t *testing.T) {
	testenv.RequireMoto(t)
	rie := emulator(t)
	binary := buildDeployer(t)
	var config net.ListenConfig
	taken, err := config.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"from":"another process"}`))
	})}
	go func() { _ = other.Serve(taken) }()
	t.Cleanup(func() { _ = other.Close() })
	takenPort := taken.Addr().(*net.TCPAddr).Port
	picks := 0
	pick := func() (int, error) {
		picks++
		if picks == 1 {
			return takenPort, nil
		}
		return testenv.FreePort()
	}
	invokeURL := startEmulator(t, rie, binary, map[string]string{
		contract.EnvDeploymentTable: "e2e-deployments",
		contract.EnvPipelineName:    "e2e-pipeline",
	}, pick)
	if strings.Contains(invokeURL, ":"+strconv.Itoa(takenPort)+"/") {
		t.Fatalf("the emulator's URL %s is the other process's port", invokeURL)
	}
	body := post(t, invokeURL, []byte(`{"hello":"world"}`))
	if !strings.Contains(string(body), "unrecognised event") {
		t.Errorf("response %q, want the deployer's error about the unrecognised event", body)
	}
}

// ownsPorts waits briefly until process pid listens on every port (the
// emulator binds its Runtime API as it starts, beside its invocation
// address), and reports whether it does.
func ownsPorts(pid int, exited <-chan struct{}, ports ...int) (bool, error) {
	for range 50 {
		select {
		case <-exited:
			return false, nil // it failed to bind, for one
		default:
		}
		all := true
		for _, port := range ports {
			ours, err := testenv.ListensOn(pid, port)
			if err != nil {
				return false, err
			}
			all = all && ours
		}
		if all {
			return true, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false, nil
}

// waitForListener waits until address accepts connections: any HTTP request
// to the emulator would invoke the function.
// exited is closed once the emulator exited, with its error in waitErr.
func waitForListener(address string, exited <-chan struct{}, waitErr *error) error {
	for range 300 {
		select {
		case <-exited:
			return errors.Join(errors.New("the emulator exited"), *waitErr)
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
