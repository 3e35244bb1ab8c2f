package deploy

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"
)

// argValue returns the value of --name=value in args.
func argValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// TestKubernetesJob decodes the Job strictly into batch/v1's Go types (a
// field Kubernetes does not have, or of the wrong type, fails) and checks
// what tfcam's sharding needs: an Indexed Job whose completions equal
// --shard-count, a per-index retry policy, a GPU request, a non-root user.
func TestKubernetesJob(t *testing.T) {
	raw, err := os.ReadFile("k8s/tfcam-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var job batchv1.Job
	if err := yaml.UnmarshalStrict(raw, &job); err != nil {
		t.Fatalf("k8s/tfcam-job.yaml is not a valid batch/v1 Job: %v", err)
	}
	if job.APIVersion != "batch/v1" || job.Kind != "Job" {
		t.Errorf("apiVersion/kind %s/%s, want batch/v1 Job", job.APIVersion, job.Kind)
	}
	spec := job.Spec
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode %v, want Indexed (tfcam reads JOB_COMPLETION_INDEX)", spec.CompletionMode)
	}
	if spec.BackoffLimitPerIndex == nil || *spec.BackoffLimitPerIndex < 1 {
		t.Error("no backoffLimitPerIndex: a failed shard should be retried on its own")
	}
	if len(spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Template.Spec.Containers))
	}
	c := spec.Template.Spec.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "explain" {
		t.Errorf("args %q: want the explain command first (the image's entrypoint is tfcam)", c.Args)
	}
	shards, err := strconv.Atoi(argValue(c.Args, "shard-count"))
	if err != nil || spec.Completions == nil || int32(shards) != *spec.Completions {
		t.Errorf("--shard-count %q and completions %v must be equal", argValue(c.Args, "shard-count"), spec.Completions)
	}
	if gpu, ok := c.Resources.Limits["nvidia.com/gpu"]; !ok || gpu.Value() < 1 {
		t.Error("no nvidia.com/gpu limit")
	}
	if sc := spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("the pod should run as non-root")
	}
	if spec.Template.Spec.RestartPolicy != "Never" {
		t.Errorf("restartPolicy %q: an Indexed Job with per-index backoff needs Never", spec.Template.Spec.RestartPolicy)
	}
}

// TestSlurmScript checks the array script's syntax and that its array
// size matches the shard count it passes to tfcam.
func TestSlurmScript(t *testing.T) {
	out, err := exec.Command("bash", "-n", "slurm/tfcam-array.sh").CombinedOutput()
	if err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	raw, err := os.ReadFile("slurm/tfcam-array.sh")
	if err != nil {
		t.Fatal(err)
	}
	arr := regexp.MustCompile(`(?m)^#SBATCH --array=(\d+)-(\d+)`).FindStringSubmatch(string(raw))
	shards := regexp.MustCompile(`(?m)^SHARDS=(\d+)$`).FindStringSubmatch(string(raw))
	if arr == nil || shards == nil {
		t.Fatal("no #SBATCH --array=a-b or SHARDS= line")
	}
	lo, _ := strconv.Atoi(arr[1])
	hi, _ := strconv.Atoi(arr[2])
	n, _ := strconv.Atoi(shards[1])
	if lo != 0 || hi-lo+1 != n {
		t.Errorf("array %d-%d for %d shards: the task ids must be the shard numbers 0..%d", lo, hi, n, n-1)
	}
	if !strings.Contains(string(raw), `--shard-count "$SHARDS"`) {
		t.Error("the script does not pass --shard-count")
	}
}

// TestDockerfiles checks the images are pinned, non-root and run tfcam.
func TestDockerfiles(t *testing.T) {
	for _, name := range []string{"docker/Dockerfile", "docker/Dockerfile.gpu"} {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		s := string(raw)
		for _, from := range regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(s, -1) {
			if img := from[1]; !strings.Contains(img, ":") || strings.HasSuffix(img, ":latest") {
				t.Errorf("%s: FROM %s is not pinned to a version", name, img)
			}
		}
		if !regexp.MustCompile(`(?m)^USER 10001$`).MatchString(s) {
			t.Errorf("%s: no non-root USER", name)
		}
		if !strings.Contains(s, `ENTRYPOINT ["tfcam"]`) {
			t.Errorf("%s: tfcam is not the entrypoint", name)
		}
		for _, cp := range regexp.MustCompile(`(?m)^COPY (?:--\S+ )?(.+) \S+$`).FindAllStringSubmatch(s, -1) {
			for _, src := range strings.Fields(cp[1]) {
				if strings.HasPrefix(src, "/") || src == "." || strings.HasPrefix(src, "--") {
					continue
				}
				if _, err := os.Stat("../" + src); err != nil {
					t.Errorf("%s copies %s, which the repository does not have", name, src)
				}
			}
		}
	}
}
