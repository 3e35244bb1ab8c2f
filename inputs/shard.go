package inputs

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard selects the images one worker of a fanned-out job handles.
type Shard struct {
	Index, Count int
}

// ResolveShard reads --shard i/n, or --shard-index/--shard-count, or the
// scheduler's own variables: Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX
// with --shard-count) and Slurm arrays (SLURM_ARRAY_TASK_ID with
// SLURM_ARRAY_TASK_COUNT, offset by SLURM_ARRAY_TASK_MIN).
func ResolveShard(flagShard string, flagCount int, env func(string) string) (Shard, error) {
	if flagShard != "" {
		parts := strings.Split(flagShard, "/")
		if len(parts) != 2 {
			return Shard{}, fmt.Errorf("--shard %q: want i/n, e.g. 0/4", flagShard)
		}
		i, err1 := strconv.Atoi(parts[0])
		n, err2 := strconv.Atoi(parts[1])
		if err1 != nil || err2 != nil {
			return Shard{}, fmt.Errorf("--shard %q: want i/n with whole numbers", flagShard)
		}
		return checkShard(Shard{i, n}, "--shard")
	}
	if v := env("JOB_COMPLETION_INDEX"); v != "" {
		i, err := strconv.Atoi(v)
		if err != nil {
			return Shard{}, fmt.Errorf("JOB_COMPLETION_INDEX=%q is not a number", v)
		}
		if flagCount <= 0 {
			return Shard{}, fmt.Errorf("JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job): give the job's completions as --shard-count")
		}
		return checkShard(Shard{i, flagCount}, "JOB_COMPLETION_INDEX")
	}
	if v := env("SLURM_ARRAY_TASK_ID"); v != "" {
		id, err := strconv.Atoi(v)
		if err != nil {
			return Shard{}, fmt.Errorf("SLURM_ARRAY_TASK_ID=%q is not a number", v)
		}
		n := flagCount
		if c := env("SLURM_ARRAY_TASK_COUNT"); c != "" && n <= 0 {
			if n, err = strconv.Atoi(c); err != nil {
				return Shard{}, fmt.Errorf("SLURM_ARRAY_TASK_COUNT=%q is not a number", c)
			}
		}
		if n <= 0 {
			return Shard{}, fmt.Errorf("SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT; give --shard-count")
		}
		// With --shard-count the task ids are the shard numbers, so that
		// `sbatch --array=5,7` reruns shards 5 and 7; without it the
		// array is the shards, numbered from its first id.
		lo := 0
		if m := env("SLURM_ARRAY_TASK_MIN"); m != "" && flagCount <= 0 {
			lo, _ = strconv.Atoi(m)
		}
		return checkShard(Shard{id - lo, n}, "SLURM_ARRAY_TASK_ID")
	}
	if flagCount > 0 {
		return Shard{}, fmt.Errorf("--shard-count without a shard index: use --shard i/n, or run as a Kubernetes Indexed Job or Slurm array")
	}
	return Shard{0, 1}, nil
}

func checkShard(s Shard, from string) (Shard, error) {
	if s.Count < 1 || s.Index < 0 || s.Index >= s.Count {
		return Shard{}, fmt.Errorf("%s gives shard %d of %d; want 0 <= index < count", from, s.Index, s.Count)
	}
	return s, nil
}

// Owns reports whether this shard handles the image with key. Hashing the
// key (not the position in the list) keeps assignments stable when inputs
// are added, so re-runs and resumed jobs agree.
func (s Shard) Owns(key string) bool {
	if s.Count == 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return int(h.Sum64()%uint64(s.Count)) == s.Index
}

// String is "index/count", as --shard takes it.
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }
